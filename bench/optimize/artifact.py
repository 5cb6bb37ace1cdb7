"""The frozen result of a prompt search (``PromptArtifact``, a JSON file in ``$RAGFT_CACHE/prompts/``)
and ``SearchSetup``: everything that determines a task's search, whose hash keys the artifact, so a
rerun loads it instead of searching.

Example: ``art = PromptArtifact.load(artifact_path("minato_qa", key))``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from bench.config import ExperimentConfig, TaskSection, new_tokens_for
from bench.config.prompt_search import PromptSearchSection
from bench.errors import RagftError
from bench.models import cache_dir
from bench.optimize.evaluate import CandidateScore, DevScorer, SearchStep, make_scorer
from bench.prompts import PromptTemplate
from bench.store.disk import atomic_write
from bench.types import Example, Record, Sampling
from tasks.loaders import Task
from tasks.readers import base_template, few_shot_count

SEARCH_VERSION = "prompt-search-1"
ARTIFACT_FORMAT = 1


class PromptArtifact(Record):
    """The frozen result of a prompt search (reloads bit-for-bit from its JSON)."""

    format: int = ARTIFACT_FORMAT
    key: str
    task: str
    kind: str
    model_id: str
    model_fingerprint: str
    scorer: str
    metrics: list[str]
    settings: dict[str, Any]
    seed: int
    template: PromptTemplate
    base_template: PromptTemplate
    default_shots: int
    few_shot_ids: list[str]
    shot_pool: list[str]
    seen_ids: list[str]
    dev_split: str
    dev_ids: list[str]
    dev_score: float | None
    base_dev_score: float | None
    dev_scores: dict[str, CandidateScore]
    candidates: list[PromptTemplate]
    log: list[SearchStep]
    planned: int
    generations: dict[str, int]
    wall_s: float
    versions: dict[str, str]
    created: str = Field(default="")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> PromptArtifact:
        return cls.model_validate_json(path.read_bytes())

    def save(self, path: Path) -> None:
        atomic_write(path, self.to_json())


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SearchSetup:
    """Everything that determines a task's search, resolved from the config (no model loaded)."""

    cfg: ExperimentConfig
    task: Task
    tc: TaskSection
    settings: PromptSearchSection
    dev: list[Example]
    train: list[Example]
    base: PromptTemplate
    sampling: Sampling
    scorer: DevScorer
    shots: int  # the task's few-shot count (as the base arm uses it)

    @classmethod
    def resolve(cls, cfg: ExperimentConfig, task: Task, tc: TaskSection) -> SearchSetup:
        settings = cfg.prompt.for_task(tc.name)
        if settings.dev_split not in task.splits:
            raise RagftError(
                f"prompt search for task '{task.name}': no '{settings.dev_split}' split in {task.source} "
                f"(splits: {', '.join(sorted(task.splits))}); add one or set prompt.dev_split"
            )
        dev = task.splits[settings.dev_split]
        dev = dev[: settings.dev_limit] if settings.dev_limit else dev
        if not dev:
            raise RagftError(f"prompt search for task '{task.name}': the '{settings.dev_split}' split is empty")
        if settings.dev_split == tc.split:
            raise RagftError(
                f"prompt search for task '{task.name}': prompt.dev_split '{settings.dev_split}' is the "
                "evaluated split; search on another split (dev ≠ test)"
            )
        train = task.splits.get("train", []) if settings.dev_split != "train" else []
        new_tokens = new_tokens_for(tc, cfg, task.output_length)
        return cls(
            cfg=cfg, task=task, tc=tc, settings=settings, dev=dev, train=train,
            base=base_template(tc, task),
            sampling=cfg.sampling.model_copy(update={"max_new_tokens": new_tokens}),
            scorer=make_scorer(cfg), shots=few_shot_count(tc, task),
        )

    def key(self, fingerprint: str) -> str:
        ident = {
            "version": SEARCH_VERSION, "task": self.task.name, "kind": self.task.kind,
            "metrics": self.task.metrics, "model": fingerprint, "scorer": self.scorer.id,
            "sampling": self.sampling.model_dump(mode="json"), "few_shots": self.shots,
            "seed": self.cfg.run.seed, "settings": self.settings.model_dump(mode="json"),
            "base": self.base.model_dump(mode="json"),
            "dev": _digest([e.model_dump(mode="json") for e in self.dev]),
            "train": _digest([e.model_dump(mode="json") for e in sorted(self.train, key=lambda e: e.id)]),
        }
        return _digest(ident)


def artifact_path(task: str, key: str) -> Path:
    return cache_dir() / "prompts" / f"{task}-{key[:16]}.json"


