"""Run analysis: per task × arm statistics, paired differences between arms (Holm-corrected per
task) and cost per arm; ``bench.report.recommend.analyse`` adds the recommendation.

Works from one ``RunData`` (the run directory read once), so ``ragft report RUN_DIR`` re-renders
without recomputing anything upstream.

Example: ``a = measure(RunData.load(Path("reports/demo-1a2b3c4d"))); a.pairs[0].diff``
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from bench.config.report import CostSection, ReportSection
from bench.report.costs import ArmCost, arm_costs
from bench.report.results import load_rows
from bench.report.rundata import RunData
from bench.report.stats import (
    PairedDiff,
    cluster_bootstrap_ci,
    holm_adjust,
    min_detectable_diff,
    paired_comparison,
)
from bench.types import ArmSummary

log = logging.getLogger(__name__)


@dataclass
class ArmStat:
    task: str
    arm: str
    judge: str
    n_items: int
    n_scored: int
    n_failed: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    sd: float | None
    mdd: float | None  # smallest paired difference detectable vs an equally variable arm


@dataclass
class TaskRecommendation:
    task: str
    choice: str | None
    significant: bool  # the choice is significantly better than every other candidate
    en: str
    ja: str
    caveats: list[str] = field(default_factory=list)
    rule: str = ""  # the decision rule applied (report.tie_break)
    tied: list[str] = field(default_factory=list)  # candidates not significantly worse than the best
    best: str | None = None  # the candidate with the highest mean
    items_needed: int | None = None  # paired items for the best's lead over the choice to be detectable


@dataclass
class Analysis:
    rd: RunData
    run_dir: Path
    judge: str | None
    judges: list[str]
    tasks: list[str]
    arms: dict[str, list[str]]
    rows: list[dict[str, Any]]
    stats: list[ArmStat]
    pairs: list[PairedDiff]
    task_judge: dict[str, str]  # the judge of each task's comparison (the run's primary where it graded)
    costs: dict[tuple[str, str], ArmCost]
    recommendations: list[TaskRecommendation]
    overall_en: str
    overall_ja: str
    settings: ReportSection
    prices: CostSection
    rule_en: str = ""  # the decision rule applied (bench.report.recommend.rule_text)
    rule_ja: str = ""

    def judge_of(self, task: str) -> str | None:
        """The judge whose scores decide ``task``: the primary judge, or the next one in order where
        the primary did not grade the task (a judge limited to some tasks)."""
        return self.task_judge.get(task, self.judge)

    def stat(self, task: str, arm: str, judge: str | None = None) -> ArmStat | None:
        j = judge or self.judge_of(task)
        return next((s for s in self.stats if s.task == task and s.arm == arm and s.judge == j), None)

    def recommendation_text(self, language: str | None = None) -> str:
        lang = language or self.settings.language
        parts: list[str] = []
        if lang in ("en", "both"):
            parts += [f"*{self.rule_en}*"] if self.rule_en else []
            parts += [f"**{r.task}** — {r.en}" for r in self.recommendations] + [f"**Overall** — {self.overall_en}"]
        if lang in ("ja", "both"):
            parts += [f"*{self.rule_ja}*"] if self.rule_ja else []
            parts += [f"**{r.task}** — {r.ja}" for r in self.recommendations] + [f"**全体** — {self.overall_ja}"]
        return "\n\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "task_judge": self.task_judge,
            "stats": [asdict(s) for s in self.stats],
            "paired_diffs": [p.to_json() for p in self.pairs],
            "costs": [dict(asdict(c), task=t, arm=a) for (t, a), c in self.costs.items()],
            "recommendations": [asdict(r) for r in self.recommendations],
            "overall": {"en": self.overall_en, "ja": self.overall_ja},
            "rule": {"en": self.rule_en, "ja": self.rule_ja},
        }


def measure(rd: RunData, rows: list[dict[str, Any]] | None = None) -> Analysis:
    """Statistics, paired differences and costs of a run (the recommendation is added by
    ``bench.report.recommend.analyse``)."""
    settings, prices, seed = rd.report, rd.prices, rd.seed
    rows = load_rows(rd) if rows is None else rows
    selection = rd.selection
    judges = sorted({r["judge"] for r in rows if r["judge"]})
    tasks = selection.tasks()
    order = judge_order(rd, judges)
    scored = {(r["task"], r["judge"]) for r in rows if r["judge"] and r["score"] is not None}
    judge = next((j for j in order if any((t, j) in scored for t in tasks)), order[0] if order else None)
    task_judge: dict[str, str] = {}
    for t in tasks:
        tj = next((j for j in order if (t, j) in scored), judge)
        if tj is not None:
            task_judge[t] = tj
    arms = {t: list(selection[t].arms) for t in tasks}

    scores: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    failed: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        if r["failed"]:
            failed.setdefault((r["task"], r["arm"]), set()).add(r["example_id"])
        if r["judge"] and r["score"] is not None:
            scores.setdefault((r["task"], r["arm"], r["judge"]), {}).setdefault(r["example_id"], []).append(
                float(r["score"])
            )

    stats: list[ArmStat] = []
    pairs: list[PairedDiff] = []
    for t in tasks:
        n_items = len(selection[t].examples)
        for j in judges:
            for a in arms[t]:
                items = scores.get((t, a, j), {})
                flat = [s for v in items.values() for s in v]
                lo, hi = cluster_bootstrap_ci(items, seed=seed, n_boot=settings.n_boot)
                sd = float(np.std([np.mean(v) for v in items.values()], ddof=1)) if len(items) > 1 else None
                stats.append(ArmStat(
                    task=t, arm=a, judge=j, n_items=n_items, n_scored=len(items),
                    n_failed=len(failed.get((t, a), set())),
                    mean=float(np.mean(flat)) if flat else None, ci_low=lo, ci_high=hi, sd=sd,
                    mdd=min_detectable_diff(sd * np.sqrt(2), len(items)) if sd is not None else None,
                ))
            fam = [
                paired_comparison(
                    scores.get((t, a, j), {}), scores.get((t, b, j), {}), task=t, judge=j, arm_a=a,
                    arm_b=b, threshold=settings.pass_threshold, seed=seed, n_boot=settings.n_boot,
                )
                for a, b in combinations(arms[t], 2)
            ]
            pairs += holm_adjust(fam, settings.alpha) if fam else []
    costs = arm_costs(rd.costs, rows, prices, rd.device())
    return Analysis(
        rd=rd, run_dir=rd.root, judge=judge, judges=judges, tasks=tasks, arms=arms, rows=rows, stats=stats,
        pairs=pairs, task_judge=task_judge, costs=costs, recommendations=[], overall_en="", overall_ja="", settings=settings,
        prices=prices,
    )


def judge_order(rd: RunData, judges: list[str]) -> list[str]:
    """Judges in the order that makes one primary: the ``[[judges]]`` of the config in their order,
    then judges added later with ``ragft grade`` (``judges.json`` order), then the reference metrics.

    A config judge that was re-graded under a new id (changed rubric or sampling) counts by its
    newest id."""
    registry = rd.files.get("judges.json") or {}
    ids = [j for j in registry if j in judges]
    named: dict[str, str] = {}
    for j in ids:  # later entries are newer ids of the same name
        if registry[j].get("kind") == "llm":
            named[str(registry[j].get("name"))] = j
    order: list[str] = []
    for spec in rd.config.get("judges") or []:
        j = named.get(str(spec.get("name", "")))
        if j and j not in order:
            order.append(j)
    order += [j for j in ids if registry[j].get("kind") in ("llm", "jury") and j not in order]
    order += [j for j in judges if j.startswith("reference") and j not in order]
    order += [j for j in judges if j not in order]
    return order


def with_costs(summaries: list[ArmSummary], a: Analysis) -> list[ArmSummary]:
    """Add money and fixed-cost figures to each summary's ``cost`` dict."""
    out = []
    for s in summaries:
        c = a.costs.get((s.task, s.arm))
        if c is None:
            out.append(s)
            continue
        extra = {"fixed_s": c.fixed_s, "fixed_money": c.fixed_money}
        if c.per_query_money is not None:
            extra["per_query_money"] = c.per_query_money
        if c.latency_mean_s is not None:
            extra["latency_mean_s"] = c.latency_mean_s
        if c.device_s_per_query is not None:
            extra["device_s_per_query"] = c.device_s_per_query
        out.append(s.model_copy(update={"cost": {**s.cost, **extra}}))
    return out
