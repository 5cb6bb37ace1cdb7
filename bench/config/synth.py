"""The ``[synth]`` table: what ``ragft synth`` generates from the project's corpus, how it filters and splits.

The generator is the ``[synth.model]`` table (a ``[model]`` table: any backend, like a judge's
model); without one the run's ``[model]`` generates. ``replay`` answers from recorded replies
instead (the CPU demo on the sample documents).

Example (TOML)::

    [synth]
    kinds = ["qa", "quiz"]
    split_by = "question"
    require_context = true
    [synth.model]
    id = "Qwen/Qwen2.5-7B-Instruct"
    backend = "vllm"
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from bench.config.base import Section
from bench.config.model import ModelSection

SynthKind = Literal["qa", "document", "quiz"]
ALL_KINDS: tuple[SynthKind, ...] = ("qa", "document", "quiz")


class SynthSection(Section):
    """Generation, filter and split settings (defaults match the starter config of ``ragft init``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[SynthKind] = Field(default_factory=lambda: list(ALL_KINDS), min_length=1)
    qa_per_passage: int = Field(default=2, ge=1, le=20)
    quiz_per_passage: int = Field(default=1, ge=1, le=20)
    document_questions: int = Field(default=2, ge=1, le=20)
    min_passage_chars: int = Field(default=60, ge=1)  # shorter passages (contact lines) get no questions
    max_document_chars: int = Field(default=12_000, ge=200)  # longer documents are cut for the generator
    max_units: int | None = Field(default=None, ge=1)  # cap on generator calls per kind (seeded sample)

    split_by: Literal["document", "question"] = "document"
    test_share: float = Field(default=0.5, gt=0.0, lt=1.0)
    dev_share: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = 0

    support_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    duplicate_ngram: int = Field(default=3, ge=1, le=10)
    duplicate_threshold: float = Field(default=0.7, gt=0.0, le=1.0)
    require_context: bool = False
    closed_book_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    llm_support_check: bool = False

    fresh_after: date | datetime | None = None  # documents first added after this go to split "fresh"
    fresh_docs: list[str] = Field(default_factory=list)  # doc ids or source files marked new

    max_new_tokens: int = Field(default=1024, ge=16, le=32768)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    batch_size: int = Field(default=16, ge=1, le=4096)  # requests per call of the generate function
    guided: bool = True  # JSON-schema constrained output where the generator's backend supports it
    corpus: str = "corpus.jsonl"  # relative to the config file
    out_dir: str = "synth"  # relative to the config file
    model: ModelSection | None = None  # the generator; None = the run's [model]
    replay: str | None = None  # recorded generator replies (JSONL, or bundled:…) answer instead of a model

    @model_validator(mode="after")
    def _shares(self) -> SynthSection:
        if self.test_share + self.dev_share >= 1.0:
            raise ValueError(
                f"test_share + dev_share must leave room for a train split, got {self.test_share} + {self.dev_share}"
            )
        return self
