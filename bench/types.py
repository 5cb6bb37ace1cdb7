"""Core records that cross every stage boundary (all serialisable to JSONL).

Example -> GenRequest -> Completion -> Prediction -> Grade -> ArmSummary -> RunRecord.

Example: ``Example.model_validate_json(line)``
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TaskKind = Literal["qa", "document", "quiz"]


class Record(BaseModel):
    """Frozen, strict base for every record."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Passage(Record):
    """A retrievable unit of a corpus, with a stable id."""

    id: str
    doc_id: str
    title: str = ""
    text: str
    source: str | None = None  # the file it was read from (``ragft init``)
    page: int | None = None  # its page in that file (PDF), 1-based
    # a chunk (``chunk_size``): the ids of the corpus passages its text overlaps; empty for a passage itself
    source_passages: list[str] = Field(default_factory=list)


class Example(Record):
    """One evaluation or training item of a task."""

    id: str
    task: str
    kind: TaskKind
    question: str
    context: str | None = None
    reference: str | None = None
    choices: list[str] | None = None
    criteria: list[str] = Field(default_factory=list)
    gold_passages: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Message(Record):
    role: Literal["system", "user", "assistant"]
    content: str


class Sampling(Record):
    """Decoding settings; temperature 0 means greedy."""

    max_new_tokens: int = Field(default=64, ge=1, le=32768)
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list)
    seed: int = 0


class GenRequest(Record):
    """Everything a backend needs to produce one completion; no global model state."""

    example_id: str
    task: str
    arm: str
    messages: list[Message]
    sampling: Sampling
    adapter: str | None = None
    hits: list[str] = Field(default_factory=list)  # retrieved passage ids (not part of the key)

    def key(self, model_fingerprint: str) -> str:
        """Content hash of (model, adapter, messages, sampling): the generation-cache key."""
        payload = {
            "model": model_fingerprint,
            "adapter": self.adapter,
            "messages": [m.model_dump() for m in self.messages],
            "sampling": self.sampling.model_dump(),
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


class AdapterSpec(Record):
    """One LoRA adapter as every backend receives it: the registry's identity (content hash and the
    ``int_id`` vLLM gets, never reused for other weights), its folder, rank and base-model fingerprint.
    ``name`` is what requests carry in ``GenRequest.adapter``."""

    name: str
    path: str
    sha256: str
    int_id: int = Field(ge=1)
    rank: int = Field(ge=1)
    base_model: str


class Completion(Record):
    text: str
    finish_reason: Literal["stop", "length", "eos", "error"]
    prompt_tokens: int
    output_tokens: int
    latency_s: float  # what the request waited: the engine's own timings when it reports them
    cached: bool = False
    # device time charged to this request: its share of its pass's compute time (engine start
    # excluded; see bench.backends.timing); None in completions stored before it was measured
    device_s: float | None = None

    @field_validator("text")
    @classmethod
    def _storable(cls, text: str) -> str:
        """A server's JSON reply can carry a lone surrogate (``"\\ud800"``), which no UTF-8 file can
        hold: it becomes U+FFFD, as a decoder's ``errors="replace"`` would make of a broken byte."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return re.sub("[\ud800-\udfff]", "\ufffd", text)
        return text


class Prediction(Record):
    """A request's outcome: the completion, or the error that prevented one."""

    run_id: str
    task: str
    arm: str
    example_id: str
    request_key: str
    prompt: str
    hits: list[str] = Field(default_factory=list)
    completion: Completion | None = None
    error: str | None = None


class Grade(Record):
    """A judge's verdict on one prediction. ``score`` None means unscored, never zero."""

    run_id: str
    task: str
    arm: str
    example_id: str
    judge: str
    judge_version: str
    prediction_key: str = ""
    score: float | None
    metrics: dict[str, float] = Field(default_factory=dict)
    rationale: str = ""
    raw: str = ""
    error: str | None = None


class ArmSummary(Record):
    task: str
    arm: str
    judge: str
    n: int
    n_failed: int
    n_unscored: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    metrics: dict[str, float] = Field(default_factory=dict)
    cost: dict[str, float] = Field(default_factory=dict)


class RunRecord(Record):
    run_id: str
    config: dict[str, Any]
    provenance: dict[str, Any]
    summaries: list[ArmSummary]
    paired_diffs: list[dict[str, Any]] = Field(default_factory=list)
    recommendation: str | None = None
