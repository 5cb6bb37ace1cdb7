"""The ``reference`` judge: deterministic metrics (``bench.judges.metrics``) scaled to 0–10.

The answer is cut by the task's ``answer_extract_pattern`` (llm-jp-eval), then, for a task with
labels (``Example.choices``: a jaster ``label_list``, JCommonsenseQA, JNLI, lawqa_jp), mapped onto
the label it names (``match_label``). A prediction that failed to generate gets an unscored grade naming the failure (counted as
n_failed, never 0); an item without a reference answer is unscored.

Example: ``ReferenceJudge().grade([JudgeItem.from_prediction(p, ex, ["char_f1"])])``
"""

from __future__ import annotations

import hashlib
from typing import Any

from bench.config import ExperimentConfig
from bench.judges.base import JudgeItem
from bench.judges.metrics import METRICS, extract_answer, match_label
from bench.types import Grade

# ref-2: char_f1 rounds to whole percent like fuzzywuzzy; ref-3: answers mapped onto label_list
REFERENCE_VERSION = "ref-3"
NO_REFERENCE = "no reference answer to compare with"


class ReferenceJudge:
    name = "reference"
    version = REFERENCE_VERSION

    @property
    def id(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.version.encode()).hexdigest()[:8]}"

    def grade(self, items: list[JudgeItem]) -> list[Grade]:
        return [self.grade_one(it) for it in items]

    def grade_one(self, it: JudgeItem) -> Grade:
        ex = it.example
        base: dict[str, Any] = dict(
            run_id=it.run_id, task=it.task, arm=it.arm, example_id=ex.id,
            judge=self.id, judge_version=self.version, prediction_key=it.prediction_key,
        )
        if it.candidate is None:
            return Grade(**base, score=None, error=f"no completion: {it.error}")
        if not ex.reference:
            return Grade(**base, score=None, error=NO_REFERENCE)
        item_metrics = ex.metadata.get("metrics") or it.metrics
        text = extract_answer(it.candidate, ex.metadata.get("answer_extract_pattern"))
        if ex.choices and ex.reference in ex.choices:  # a label task (jaster label_list, JCQA, JNLI, lawqa)
            text = match_label(text, ex.choices)
        values = {m: METRICS[m](text, ex.reference) for m in item_metrics}
        primary = item_metrics[0]
        return Grade(
            **base, score=round(10.0 * values[primary], 4), metrics=values,
            rationale=f"{primary} against the reference",
        )


def dev_scorer(cfg: ExperimentConfig) -> ReferenceJudge:
    """The prompt search's dev scorer for ``judge.kind = "reference"``."""
    return ReferenceJudge()
