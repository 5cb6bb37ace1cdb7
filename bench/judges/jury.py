"""Juries: two or more LLM judges of one config averaged into a mean-opinion-score grade, with
each member's score kept in ``metrics``.

Example: ``jury_grade({"llm:a@1": g1, "llm:b@2": g2}, jury_id(["llm:a@1", "llm:b@2"]))``
"""

from __future__ import annotations

import hashlib
from typing import Any

from bench.types import Grade


def jury_id(members: list[str]) -> str:
    return "jury:" + "+".join(m.split(":", 1)[-1].split("@")[0] for m in members) + "@" + hashlib.sha256(
        "|".join(sorted(members)).encode()
    ).hexdigest()[:8]


def jury_grade(members: dict[str, Grade], jid: str) -> Grade:
    """Mean opinion score over the member judges that scored the item; per-judge scores in metrics."""
    first = next(iter(members.values()))
    base: dict[str, Any] = dict(
        run_id=first.run_id, task=first.task, arm=first.arm, example_id=first.example_id, judge=jid,
        judge_version="mos:" + ",".join(sorted(members)), prediction_key=first.prediction_key,
    )
    scored = {k: g.score for k, g in members.items() if g.score is not None}
    metrics = {f"judge:{k}": float(v) for k, v in scored.items()}
    if not scored:
        return Grade(**base, score=None, metrics=metrics, error="no member judge scored this item")
    vals = list(scored.values())
    return Grade(
        **base, score=round(sum(vals) / len(vals), 4), metrics=metrics,
        rationale=f"mean of {len(vals)}/{len(members)} judges",
    )
