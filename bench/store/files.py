"""Typed contracts for the JSON files of a run directory that several modules read.

One model per file, read and written only through these functions (atomic replace on write),
so no module reads another feature's file by string keys:

- ``selection.json``: per task, what was evaluated (``TaskSelection``);
- ``costs.json``: fixed and per-query costs recorded by arms (``CostsFile``);
- ``contamination.json``: n-gram overlap of tuned-on text with evaluated items (``ContaminationFile``);
- ``judge_reliability.json``: LLM-judge parse failures, repeat spread, agreement (``JudgeReliability``);
- ``judge_check.json``: ``ragft judge-check`` calibration of one judge (``JudgeCheck``);
- ``choice_shuffle.json``: answers to choice items re-asked with their options rotated (``ChoiceShuffle``);
- ``caveats.json``: what qualifies the results (contamination, judge credibility, data, parity,
  degenerate outputs), written by those checks and read by the recommendation (``CaveatsFile``).

Models ignore unknown keys when reading, so a run written by a newer ragft still loads.

Example: ``sel = read_selection(Path("reports/demo-1a2b3c4d"))``
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from bench.errors import RagftError
from bench.store.disk import atomic_write

SELECTION = "selection.json"
COSTS = "costs.json"
CONTAMINATION = "contamination.json"
JUDGE_RELIABILITY = "judge_reliability.json"
JUDGE_CHECK = "judge_check.json"
CAVEATS = "caveats.json"
CHOICE_SHUFFLE = "choice_shuffle.json"

M = TypeVar("M", bound=BaseModel)
_lock = threading.Lock()


class FileModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- selection.json
class TaskSelection(FileModel):
    """What a run evaluates of one task: its kind, metrics, split, items, arms and few-shot ids."""

    kind: str
    metrics: list[str]
    split: str
    examples: list[str]
    arms: list[str]
    few_shot_ids: list[str] = Field(default_factory=list)
    split_sizes: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    skipped_arms: dict[str, str] | None = None  # arm -> why it does not apply to this task


class Selection(RootModel[dict[str, TaskSelection]]):
    """task name -> ``TaskSelection``, in config order."""

    def __iter__(self) -> Any:  # iterate task names like a dict
        return iter(self.root)

    def __getitem__(self, task: str) -> TaskSelection:
        return self.root[task]

    def __contains__(self, task: object) -> bool:
        return task in self.root

    def items(self) -> Any:
        return self.root.items()

    def tasks(self) -> list[str]:
        return list(self.root)


# --------------------------------------------------------------------------- costs.json
class FixedCost(FileModel):
    """A one-off cost of an arm (``task`` None: shared by every task of the run)."""

    arm: str
    task: str | None
    kind: str  # index_build, lora_training, prompt_search, engine_start, …
    seconds: float
    device: str
    generations: int | None = None
    note: str = ""
    recorded: str = ""


class QueryCost(FileModel):
    """Time per query spent outside the completion (e.g. retrieval): ``seconds`` over ``queries``."""

    arm: str
    task: str | None
    kind: str
    seconds: float
    queries: int
    device: str
    recorded: str = ""


class CostsFile(FileModel):
    fixed: list[FixedCost] = Field(default_factory=list)
    per_query: list[QueryCost] = Field(default_factory=list)


# --------------------------------------------------------------------------- contamination.json
class ItemOverlap(FileModel):
    ratio: float  # share of the item's n-grams found in the group's sources
    source: str | None = None  # the source sharing the most n-grams with the item


class OverlapGroup(FileModel):
    n_sources: int
    items: dict[str, ItemOverlap]


class TaskOverlap(FileModel):
    groups: dict[str, OverlapGroup] = Field(default_factory=dict)


class ContaminationFile(FileModel):
    ngram: int = 13
    threshold: float = 0.5
    tasks: dict[str, TaskOverlap] = Field(default_factory=dict)

    def flagged(self, task: str) -> dict[str, tuple[float, str | None, str]]:
        """item id -> (ratio, source, group) for items at or above the threshold in any group."""
        out: dict[str, tuple[float, str | None, str]] = {}
        t = self.tasks.get(task)
        for group, g in (t.groups if t else {}).items():
            for iid, v in g.items.items():
                if v.ratio >= self.threshold and (iid not in out or v.ratio > out[iid][0]):
                    out[iid] = (v.ratio, v.source, group)
        return out


# --------------------------------------------------------------------------- judge_check.json
class VariantSeparation(FileModel):
    pairs: int = 0
    win_rate: float | None = None  # share of items where the reference answer scored above this variant
    mean_gap: float | None = None  # mean (reference − variant) score


class JudgeCheck(FileModel):
    """The part of a ``ragft judge-check`` result other modules read (the file holds more)."""

    judge: str
    model: str | None = None
    backend: str | None = None
    n_questions: int = 0
    parse_failure_rate: float | None = None
    separation: dict[str, VariantSeparation] = Field(default_factory=dict)
    verdict: str = ""


# --------------------------------------------------------------------------- judge_reliability.json
class JudgeStats(FileModel):
    model: str | None = None
    backend: str | None = None
    rubric: str | None = None
    prompt_hash: str | None = None
    repeats: int = 1
    n_graded: int = 0
    n_scored: int = 0
    n_unparseable: int = 0
    n_generation_failed: int = 0
    replies: int = 0
    replies_unparsed: int = 0
    parse_failure_rate: float | None = None
    repeat_items: int = 0
    repeat_sd_mean: float | None = None
    repeat_variance_mean: float | None = None
    # measured credibility (``bench.judges.reliability.credibility``): credible | not credible | unmeasured
    credibility: str | None = None
    credibility_reasons: list[str] = Field(default_factory=list)
    discrimination: dict[str, VariantSeparation] = Field(default_factory=dict)  # from judge_check.json
    guided: bool = False  # JSON-schema decoding asked for (``guided = true``)
    n_guided: int = 0  # grades whose replies were all schema-constrained
    n_free_text: int = 0  # grades with a free-text fallback reply (asked guided, not given)
    guided_fallback: list[str] = Field(default_factory=list)  # why (backend, server refusals)


class RefAgreement(FileModel):
    n: int
    spearman: float | None = None
    alpha_interval: float | None = None
    mean_abs_diff: float | None = None
    mean_llm: float | None = None
    mean_reference: float | None = None


class JudgePair(FileModel):
    a: str
    b: str
    n: int
    spearman: float | None = None
    alpha_interval: float | None = None


class JudgeReliability(FileModel):
    judges: dict[str, JudgeStats] = Field(default_factory=dict)
    pairwise: list[JudgePair] = Field(default_factory=list)
    all_llm_alpha: float | None = None
    vs_reference: dict[str, dict[str, RefAgreement]] = Field(default_factory=dict)


# --------------------------------------------------------------------------- choice_shuffle.json
class ShuffledItem(FileModel):
    """One choice item asked twice: option texts rotated one label down in the second asking."""

    n_options: int
    gold: int  # gold label index in the original order (in the rotated one: (gold + 1) % n_options)
    original: int | None  # label index chosen originally (None: no label in the answer or failed)
    shuffled: int | None  # label index chosen with the options rotated


class ShuffleArm(FileModel):
    items: dict[str, ShuffledItem] = Field(default_factory=dict)
    not_shuffled: int = 0  # items whose options could not be found in the prompt


class ChoiceShuffle(FileModel):
    tasks: dict[str, dict[str, ShuffleArm]] = Field(default_factory=dict)  # task -> arm -> answers


# --------------------------------------------------------------------------- caveats.json
CaveatSource = Literal["contamination", "judge", "data", "parity", "outputs"]  # who records it


class Caveat(FileModel):
    """One finding that qualifies a result. ``task``/``arm`` None: it concerns every task/arm."""

    source: CaveatSource
    kind: str  # e.g. contaminated_items, judge_not_credible, split_note, degenerate_answers, position_bias
    task: str | None = None
    arm: str | None = None
    en: str
    ja: str = ""
    data: dict[str, Any] = Field(default_factory=dict)  # the numbers behind the text


class CaveatsFile(FileModel):
    caveats: list[Caveat] = Field(default_factory=list)

    def for_task(self, task: str) -> list[Caveat]:
        """The caveats that apply to ``task`` (its own and the run-wide ones)."""
        return [c for c in self.caveats if c.task in (None, task)]


def record_caveats(
    run_dir: Path, source: CaveatSource, caveats: Iterable[Caveat], *, task: str | None = None,
    kinds: Iterable[str] | None = None,
) -> CaveatsFile:
    """Replace the caveats of ``source`` (only those of ``task`` when given, only ``kinds`` when given)
    with ``caveats`` in ``run_dir/caveats.json``: a check that runs again replaces what it said before."""
    new = list(caveats)
    for c in new:
        if c.source != source:
            raise ValueError(f"caveat of source {c.source!r} recorded as {source!r}")
    only = set(kinds) if kinds is not None else None

    def change(f: CaveatsFile) -> None:
        f.caveats = [
            c for c in f.caveats
            if not (c.source == source and (task is None or c.task == task) and (only is None or c.kind in only))
        ] + new

    return update_model(run_dir / CAVEATS, CaveatsFile, change)


def read_caveats(run_dir: Path) -> CaveatsFile:
    return read_model(run_dir / CAVEATS, CaveatsFile) or CaveatsFile()


# --------------------------------------------------------------------------- reading and writing
def write_model(path: Path, obj: BaseModel, *, exclude_none: bool = False) -> None:
    """Write ``obj`` as indented JSON, atomically (a reader never sees half a file)."""
    atomic_write(path, obj.model_dump_json(indent=2, exclude_none=exclude_none))


def read_model(path: Path, model: type[M]) -> M | None:
    """The file as ``model``, None when it does not exist; an unreadable file is a ``RagftError``."""
    if not path.is_file():
        return None
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise RagftError(f"{path}: field '{where}' {err['msg'].lower()} (the file is damaged or not ragft's)") from None


def read_selection(run_dir: Path) -> Selection:
    sel = read_model(run_dir / SELECTION, Selection)
    if sel is None:
        raise RagftError(f"{run_dir} is not a ragft run directory (no {SELECTION})")
    return sel


def write_selection(run_dir: Path, sel: Selection) -> None:
    write_model(run_dir / SELECTION, sel, exclude_none=True)


def update_model(path: Path, model: type[M], change: Any) -> M:
    """Read-modify-write ``path`` under a process lock: ``change(obj)`` edits the model in place."""
    with _lock:
        obj = read_model(path, model) or model()
        change(obj)
        write_model(path, obj)
        return obj


def dump_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)
