"""Scoring prompt candidates on dev items: each (candidate, item) pair is generated once through the
shared generation loop (``generate_cached``) and graded by the configured judge's dev scorer.

Example: ``ev = DevEvaluator(...); ev.evaluate([0, 3], dev); ev.stats(3, dev).mean``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bench import registry
from bench.backends.base import Backend, GenFailure
from bench.backends.batching import CacheLike, generate_cached
from bench.config import ExperimentConfig
from bench.judges.base import Judge, JudgeItem
from bench.optimize.space import ShotPicker
from bench.prompts import PromptTemplate
from bench.types import Completion, Example, GenRequest, Record, Sampling
from tasks.loaders import Task

DevScorer = Judge  # grades dev predictions: the configured judge kind's dev scorer


def make_scorer(cfg: ExperimentConfig) -> DevScorer:
    """The dev scorer of ``judge.kind`` (``bench.registry`` kind ``dev_scorer``)."""
    scorer: DevScorer = registry.load("dev_scorer", cfg.judge.kind)(cfg)
    return scorer


@dataclass
class ItemResult:
    score: float | None
    failed: bool = False


@dataclass
class Tally:
    """Dev generations of one search: ``requested`` counts against the budget; ``deduped`` were
    identical to a request already made in this search (free)."""

    requested: int = 0
    generated: int = 0
    cached: int = 0
    deduped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class DevEvaluator:
    """Scores (candidate, dev item) pairs once each, through the generation cache and the backend."""

    task: Task
    cands: list[PromptTemplate]
    picker: ShotPicker
    sampling: Sampling
    scorer: DevScorer
    backend: Callable[[], Backend]
    cache: CacheLike
    fingerprint: str
    batch_size: int = 8
    progress: Callable[[int], None] | None = None
    results: dict[tuple[int, str], ItemResult] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    shot_ids: set[str] = field(default_factory=set)
    _by_key: dict[str, Completion | GenFailure] = field(default_factory=dict)

    def request(self, ci: int, ex: Example) -> GenRequest:
        t = self.cands[ci]
        shots = self.picker.pick(t, ex)
        self.shot_ids.update(s.id for s in shots)
        sampling = self.sampling.model_copy(update={"stop": self.sampling.stop or t.stop})
        return GenRequest(
            example_id=ex.id, task=self.task.name, arm="prompt", messages=t.messages(ex, shots),
            sampling=sampling,
        )

    def evaluate(self, cand_ids: list[int], items: list[Example]) -> None:
        todo: list[tuple[int, Example, str]] = []
        new: list[GenRequest] = []
        new_keys: set[str] = set()
        for ci in cand_ids:
            for ex in items:
                if (ci, ex.id) in self.results:
                    continue
                req = self.request(ci, ex)
                key = req.key(self.fingerprint)
                todo.append((ci, ex, key))
                if key in self._by_key or key in new_keys:
                    self.tally.deduped += 1
                    continue
                self.tally.requested += 1
                new_keys.add(key)
                new.append(req)
        if new:
            outs = generate_cached(
                self.backend(), new, cache=self.cache, batch_size=self.batch_size,
                fingerprint=self.fingerprint, progress=self.progress,
            )
            for o in outs:
                self._by_key[o.key] = o.result
                if o.source == "cache":
                    self.tally.cached += 1
                elif isinstance(o.result, GenFailure):
                    self.tally.failed += 1
                else:
                    self.tally.generated += 1
        for ci, ex, key in todo:
            out = self._by_key[key]
            if isinstance(out, GenFailure):
                self.results[(ci, ex.id)] = ItemResult(score=None, failed=True)
                continue
            item = JudgeItem(
                task=self.task.name, arm="prompt", example=ex, candidate=out.text, prediction_key=key,
                run_id="prompt-search", metrics=self.task.metrics,
            )
            self.results[(ci, ex.id)] = ItemResult(score=self.scorer.grade([item])[0].score)

    def stats(self, ci: int, items: list[Example]) -> CandidateScore:
        rs = [self.results[(ci, e.id)] for e in items]
        scores = [r.score for r in rs if r.score is not None]
        return CandidateScore(
            n=len(rs), n_failed=sum(r.failed for r in rs),
            n_unscored=sum(1 for r in rs if not r.failed and r.score is None),
            mean=round(sum(scores) / len(scores), 6) if scores else None,
            # ranking only: an item that failed or was unscored adds nothing
            rank=round(sum(scores) / len(rs), 6) if rs else 0.0,
        )


class CandidateScore(Record):
    n: int
    n_failed: int
    n_unscored: int
    mean: float | None
    rank: float


class SearchStep(Record):
    """One line of the search log: a candidate scored on the first ``n`` dev items in a round."""

    round: int
    candidate: int
    name: str
    n: int
    mean: float | None
    n_failed: int
    n_unscored: int
    rank: float


