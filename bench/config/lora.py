"""The ``[lora]`` / ``[[lora]]`` config tables: adapter training, the regression gate and contamination.

One ``[lora]`` table is one adapter (arm ``lora``). Several ``[[lora]]`` tables are several
adapters, each named (arm ``lora:NAME``), trained with its own settings or taken from ``adapter``;
``fractions`` turns one table into a learning curve (adapters ``NAME-p10`` … on nested shares of
the training items, same seed). ``gate`` and ``contamination`` are read from the first table.

Example (TOML)::

    [[lora]]
    name = "choice"
    tasks = ["minato_choice"]
    rank = 8
    max_steps = 20
    [lora.gate]
    margin = 0.5

    [[lora]]
    name = "curve"
    tasks = ["minato_qa"]
    fractions = [0.25, 0.5, 1.0]

Example command: ``ragft train configs/demo.toml``
"""

from __future__ import annotations

from pydantic import Field, field_validator

from bench.config.base import Section


class GateSection(Section):
    """``ragft gate``: which tasks are guarded and how much worse a candidate may be."""

    margin: float = Field(default=0.5, ge=0.0, le=10.0)  # points on the 0-10 scale
    tasks: list[str] | None = None  # guarded tasks; None = every task of the baseline run
    # auto: the baseline's lora arm if it has one; or any arm of the baseline run, e.g. "lora:v1"
    against: str = Field(default="auto", pattern=r"^[A-Za-z0-9_:+\-]+$")
    require_significance: bool = True  # fail only when the paired CI is also below 0
    n_boot: int = Field(default=2000, ge=100, le=100_000)


class ContaminationSection(Section):
    """Character n-gram overlap (after NFKC) between training text and evaluation items."""

    ngram: int = Field(default=13, ge=3, le=64)
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)  # flagged when this share of an item's n-grams was seen


def fraction_name(name: str, fraction: float) -> str:
    """The adapter (and arm variant) name of one point of a learning curve: ``curve`` 0.25 -> ``curve-p25``."""
    return f"{name}-p{fraction * 100:g}".replace(".", "_")


class LoraSection(Section):
    """One LoRA adapter (peft + HF Trainer) for the ``lora`` / ``lora:NAME`` arm."""

    adapter: str | None = None  # use this adapter (folder or registry name) instead of training one
    registry: str | None = None  # registry root; default $RAGFT_CACHE/adapters
    name: str = Field(default="lora", pattern=r"^[A-Za-z0-9_\-]+$")  # adapter name prefix and arm variant
    tasks: list[str] | None = None  # tasks whose train split is used; None = every task with a train split
    # learning curve: one adapter per share of the training items (nested: the same seeded order)
    fractions: list[float] | None = Field(default=None, min_length=1)
    fraction: float = Field(default=1.0, gt=0.0, le=1.0)  # share of the training items (set by fractions)
    curve: str | None = None  # the learning-curve table a fraction belongs to (set by fractions)
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
    # longer training items are skipped (counted and named), never cut; None = the longest item, up to
    # model.max_model_len
    max_length: int | None = Field(default=None, ge=16)
    seed: int = 0
    qlora: bool = False  # 4-bit base weights (bitsandbytes); GPU only
    gradient_checkpointing: bool = False
    # RAFT: render each training item of a task with a corpus with the passages the retriever
    # returns for it (its gold passages plus this many retrieved distractors), as rag+lora evaluates
    raft: bool = False
    raft_distractors: int = Field(default=2, ge=0, le=100)
    gate: GateSection = Field(default_factory=GateSection)
    contamination: ContaminationSection = Field(default_factory=ContaminationSection)

    @field_validator("fractions")
    @classmethod
    def _check_fractions(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if any(not 0.0 < f <= 1.0 for f in v):
            raise ValueError("fractions are shares of the training items, each above 0 and at most 1")
        if len(set(v)) != len(v):
            raise ValueError("fractions must not repeat")
        return sorted(v)

    def training_identity(self) -> dict[str, object]:
        """The fields that change the trained weights (part of the adapter cache key)."""
        skip = {"adapter", "registry", "name", "gate", "contamination", "fractions", "fraction", "curve"}
        if not self.raft:  # adapters trained before RAFT existed keep their cache key
            skip |= {"raft", "raft_distractors"}
        out = self.model_dump(mode="json", exclude=skip)
        if self.fraction != 1.0:
            out["fraction"] = self.fraction
        return out

    def variants(self) -> list[LoraSection]:
        """The adapters this table stands for: itself, or one per fraction (named ``NAME-pPCT``)."""
        if not self.fractions:
            return [self]
        return [
            self.model_copy(
                update={"name": fraction_name(self.name, f), "fraction": f, "fractions": None, "curve": self.name}
            )
            for f in self.fractions
        ]
