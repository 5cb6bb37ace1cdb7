"""Summaries from a run directory's files alone (so re-reporting never re-grades or regenerates).

Example: ``summaries = summarise(RunData.load(Path("reports/demo-1a2b3c4d")))``
"""

from __future__ import annotations

import numpy as np

from bench.report.rundata import RunData
from bench.report.stats import bootstrap_ci
from bench.types import ArmSummary


def summarise(rd: RunData) -> list[ArmSummary]:
    selection = rd.selection
    preds = rd.predictions
    grades = rd.grades
    seed = rd.seed
    out: list[ArmSummary] = []
    judges = sorted({g.judge for g in grades.values()}) or ["reference"]
    graded = {(t, a, j) for (t, a, _e, j) in grades}  # a judge limited to some tasks gets no other rows
    for task, sel in selection.items():
        for arm in sel.arms:
            for judge in judges:
                if grades and (task, arm, judge) not in graded:
                    continue
                n = n_failed = n_unscored = 0
                scores: list[float] = []
                metric_vals: dict[str, list[float]] = {}
                ptok: list[int] = []
                otok: list[int] = []
                lat: list[float] = []
                n_missing = 0
                for eid in sel.examples:
                    n += 1
                    p = preds.get((task, arm, eid))
                    if p is None:
                        n_missing += 1
                        continue
                    if p.completion is None:
                        n_failed += 1
                        continue
                    ptok.append(p.completion.prompt_tokens)
                    otok.append(p.completion.output_tokens)
                    if not p.completion.cached:
                        lat.append(p.completion.latency_s)
                    g = grades.get((task, arm, eid, judge))
                    if g is None or g.score is None or g.prediction_key != p.request_key:
                        n_unscored += 1
                        continue
                    scores.append(g.score)
                    for k, v in g.metrics.items():
                        metric_vals.setdefault(k, []).append(v)
                lo, hi = bootstrap_ci(scores, seed=seed, n_boot=rd.report.n_boot)
                cost: dict[str, float] = {}
                if ptok:
                    cost["prompt_tokens_mean"] = float(np.mean(ptok))
                    cost["output_tokens_mean"] = float(np.mean(otok))
                if lat:
                    cost["latency_p50_s"] = float(np.percentile(lat, 50))
                    cost["latency_p95_s"] = float(np.percentile(lat, 95))
                if n_missing:
                    cost["n_missing"] = float(n_missing)
                out.append(
                    ArmSummary(
                        task=task, arm=arm, judge=judge, n=n, n_failed=n_failed + n_missing,
                        n_unscored=n_unscored, mean=float(np.mean(scores)) if scores else None,
                        ci_low=lo, ci_high=hi,
                        metrics={k: float(np.mean(v)) for k, v in metric_vals.items()}, cost=cost,
                    )
                )
    return out
