"""The ``[lora]`` config section: adapter training, the regression gate and contamination settings.

Example (TOML)::

    [lora]
    tasks = ["minato_choice", "minato_short"]
    rank = 8
    max_steps = 20
    [lora.gate]
    margin = 0.5

Example command: ``ragft train configs/demo.toml``
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.config.base import Section


class GateSection(Section):
    """``ragft gate``: which tasks are guarded and how much worse a candidate may be."""

    margin: float = Field(default=0.5, ge=0.0, le=10.0)  # points on the 0-10 scale
    tasks: list[str] | None = None  # guarded tasks; None = every task of the baseline run
    against: Literal["auto", "base", "lora"] = "auto"  # auto: the baseline's lora arm if it has one
    require_significance: bool = True  # fail only when the paired CI is also below 0
    n_boot: int = Field(default=2000, ge=100, le=100_000)


class ContaminationSection(Section):
    """Character n-gram overlap (after NFKC) between training text and evaluation items."""

    ngram: int = Field(default=13, ge=3, le=64)
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)  # flagged when this share of an item's n-grams was seen


class LoraSection(Section):
    """LoRA adapter training (peft + HF Trainer) for the ``lora`` arm."""

    adapter: str | None = None  # use this adapter (folder or registry name) instead of training one
    registry: str | None = None  # registry root; default $RAGFT_CACHE/adapters
    name: str = Field(default="lora", pattern=r"^[A-Za-z0-9_\-]+$")  # adapter name prefix
    tasks: list[str] | None = None  # tasks whose train split is used; None = every qa and quiz task
    rank: int = Field(default=8, ge=1, le=1024)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1)
    layers: list[int] | None = None  # only these decoder layers get LoRA (later layers = cheaper backward); None = all
    learning_rate: float = Field(default=2e-4, gt=0.0, le=1.0)
    epochs: float = Field(default=1.0, gt=0.0, le=1000.0)
    max_steps: int | None = Field(default=None, ge=1)  # overrides epochs when set
    batch_size: int = Field(default=4, ge=1, le=4096)
    grad_accum: int = Field(default=1, ge=1, le=4096)
    max_length: int = Field(default=512, ge=16)  # longer training items are skipped (counted), never cut
    seed: int = 0
    qlora: bool = False  # 4-bit base weights (bitsandbytes); GPU only
    gradient_checkpointing: bool = False
    # RAFT: render each training item of a task with a corpus with the passages the retriever
    # returns for it (its gold passages plus this many retrieved distractors), as rag+lora evaluates
    raft: bool = False
    raft_distractors: int = Field(default=2, ge=0, le=100)
    gate: GateSection = Field(default_factory=GateSection)
    contamination: ContaminationSection = Field(default_factory=ContaminationSection)

    def training_identity(self) -> dict[str, object]:
        """The fields that change the trained weights (part of the adapter cache key)."""
        skip = {"adapter", "registry", "name", "gate", "contamination"}
        if not self.raft:  # adapters trained before RAFT existed keep their cache key
            skip |= {"raft", "raft_distractors"}
        return self.model_dump(mode="json", exclude=skip)
