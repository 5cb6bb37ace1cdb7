"""The one judge protocol: ``grade(items) -> list[Grade]``, implemented by the reference metrics,
the LLM judges and juries, and used by the run's grading stage, the prompt search's dev scoring
and ``ragft judge-check`` alike.

Example: ``grades = judge.grade([JudgeItem.from_prediction(p, ex, ["char_f1"])])``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bench.types import Example, Grade, Prediction


@dataclass(frozen=True)
class JudgeItem:
    """One answer to grade: where it sits, its example, the candidate text (None: the generation
    failed, ``error`` says why) and the key of the prediction it grades."""

    task: str
    arm: str
    example: Example
    candidate: str | None
    prediction_key: str
    run_id: str = ""
    metrics: list[str] = field(default_factory=list)  # the task's reference metrics
    error: str | None = None

    @classmethod
    def from_prediction(cls, p: Prediction, ex: Example, metrics: list[str] | None = None) -> JudgeItem:
        return cls(
            task=p.task, arm=p.arm, example=ex, candidate=p.completion.text if p.completion else None,
            prediction_key=p.request_key, run_id=p.run_id, metrics=list(metrics or []), error=p.error,
        )


class Judge(Protocol):
    @property
    def id(self) -> str:
        """Stable id of everything that determines the grades (rubric hash, model, sampling …)."""
        ...

    @property
    def version(self) -> str: ...

    def grade(self, items: list[JudgeItem]) -> list[Grade]:
        """One grade per item, in order; an item that cannot be graded has ``score=None``."""
        ...

