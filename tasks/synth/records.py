"""Records of ``ragft synth``: the source documents, generation units, items and the generation report.

Example: ``SynthItem.model_validate_json(line)``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bench.types import Completion, Message, Passage
from tasks.synth.settings import SynthKind


class FailureLike(Protocol):
    """A generation that produced no completion (``bench.backends.base.GenFailure`` is one)."""

    @property
    def error(self) -> str: ...


GenOutcome = Completion | FailureLike


@dataclass(frozen=True)
class ReplayMiss:
    """A request the recording has no reply for (counted as a failed generation)."""

    error: str


@dataclass
class SourceDoc:
    """A corpus document with what the splits need: its source file and when it was added."""

    doc_id: str
    title: str
    passages: list[Passage]
    source: str = ""
    added: str = ""  # ISO 8601 (documents.jsonl); "" when unknown

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.passages)


@dataclass(frozen=True)
class Unit:
    """One generator call: a passage (qa, quiz) or a whole document (document)."""

    id: str
    kind: SynthKind
    doc_id: str
    title: str
    passage_ids: list[str] = field(default_factory=list)
    text: str = ""


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SynthItem(_Rec):
    """A generated item, in every kind's shape; ``split`` is set when the splits are made."""

    id: str
    kind: SynthKind
    doc_id: str
    question: str
    answer: str
    passage_ids: list[str] = Field(default_factory=list)  # gold passages (qa, quiz)
    criteria: list[str] = Field(default_factory=list)  # document
    choices: list[str] = Field(default_factory=list)  # quiz, in the order shown (the answer is one of them)
    metric: Literal["exact_match", "char_f1", "set_f1", "choice_accuracy"] = "char_f1"
    evidence: str = ""
    unit: str = ""
    generator: str = ""
    prompt_hash: str = ""
    split: str = ""

    def metadata(self) -> dict[str, Any]:
        """What the task files keep about where the item came from."""
        meta: dict[str, Any] = {"synthetic": True, "doc_id": self.doc_id, "generator": self.generator,
                                "prompt_hash": self.prompt_hash}
        if self.evidence:
            meta["evidence"] = self.evidence
        return meta


class Rejected(_Rec):
    unit: str
    kind: SynthKind
    reason: Literal[
        "unparseable", "invalid", "unknown_passage", "unsupported", "duplicate", "llm_unsupported",
        "answerable_without_context",
    ]
    detail: str
    item: dict[str, Any] = Field(default_factory=dict)


class KindCounts(BaseModel):
    """Per kind: generator calls and what each filter removed (every reply is in exactly one bucket)."""

    model_config = ConfigDict(extra="forbid")

    units: int = 0
    failed: int = 0  # generations that produced no reply (retried on the next run)
    unparseable: int = 0  # replies with no usable JSON
    candidates: int = 0  # items in the parseable replies
    invalid: int = 0
    unknown_passage: int = 0
    unsupported: int = 0
    duplicate: int = 0
    llm_unsupported: int = 0
    llm_check_unclear: int = 0  # the LLM check gave no yes/no: the item is kept
    answerable_without_context: int = 0
    kept: int = 0
    splits: dict[str, int] = Field(default_factory=dict)


class GenerationReport(BaseModel):
    """What ``ragft synth`` did: the generator, prompt hashes, filter counts, splits and files."""

    model_config = ConfigDict(extra="forbid")

    generator: str
    decoding: str = ""  # json-schema | unconstrained | recorded
    prompt_hashes: dict[str, str]
    split_by: str
    seed: int
    settings: dict[str, Any]
    kinds: dict[str, KindCounts]
    split_documents: dict[str, list[str]] = Field(default_factory=dict)  # split -> doc ids (split_by document)
    files: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def kept(self) -> int:
        return sum(c.kept for c in self.kinds.values())

    @property
    def pending(self) -> int:
        """Generations that failed and will be retried by the next run."""
        return sum(c.failed for c in self.kinds.values())


def messages_key(messages: list[Message]) -> str:
    """Content hash of a request's messages: the replay key and the journal's staleness check."""
    blob = json.dumps([m.model_dump() for m in messages], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:10]
