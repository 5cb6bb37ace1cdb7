"""Statistics over 0–10 scores: seeded (cluster) bootstrap CIs, paired differences between arms,
Wilcoxon signed-rank and exact McNemar tests, Holm correction and the minimum detectable difference.

Scores are grouped by item (``{item_id: [score, ...]}``): when an item has several scores
(repeated samples), the bootstrap resamples whole items (cluster bootstrap) and paired
tests use each item's mean, so repeats never pass for independent evidence.

Example: ``bootstrap_ci([7.0, 8.5, 3.0], seed=0)`` -> (low, high);
``paired_comparison({"a": [7.0]}, {"a": [5.0]}, seed=0)``
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

ItemScores = Mapping[str, Sequence[float]]


def bootstrap_ci(
    scores: Sequence[float],
    *,
    seed: int = 0,
    n_boot: int = 2000,
    level: float = 0.95,
    clusters: Sequence[str] | None = None,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the mean; (None, None) for no scores.

    With ``clusters`` (one label per score, e.g. the item id), whole clusters are resampled.
    """
    if not scores:
        return None, None
    if clusters is not None:
        if len(clusters) != len(scores):
            raise ValueError(f"clusters has {len(clusters)} labels for {len(scores)} scores")
        groups: dict[str, list[float]] = {}
        for c, s in zip(clusters, scores, strict=True):
            groups.setdefault(c, []).append(float(s))
        return cluster_bootstrap_ci(groups, seed=seed, n_boot=n_boot, level=level)
    arr = np.asarray(scores, dtype=float)
    if len(arr) == 1:
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    means = arr[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def cluster_bootstrap_ci(
    items: ItemScores, *, seed: int = 0, n_boot: int = 2000, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile CI of the pooled mean, resampling items (clusters) with replacement."""
    groups = [list(v) for v in items.values() if len(v)]
    if not groups:
        return None, None
    if all(len(g) == 1 for g in groups):
        return bootstrap_ci([g[0] for g in groups], seed=seed, n_boot=n_boot, level=level)
    sums = np.array([sum(g) for g in groups], dtype=float)
    counts = np.array([len(g) for g in groups], dtype=float)
    if len(groups) == 1:
        m = float(sums[0] / counts[0])
        return m, m
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(groups), size=(n_boot, len(groups)))
    means = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def item_means(items: ItemScores) -> dict[str, float]:
    """Each item's mean score (items without scores are dropped)."""
    return {k: float(np.mean(v)) for k, v in items.items() if len(v)}


def wilcoxon_p(diffs: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value (scipy; zero differences dropped; 1.0 if all zero)."""
    from scipy.stats import wilcoxon

    arr = np.asarray(diffs, dtype=float)
    if len(arr) == 0 or np.all(arr == 0):
        return 1.0
    res = wilcoxon(arr, zero_method="wilcox", alternative="two-sided")
    p = float(res.pvalue)
    return 1.0 if math.isnan(p) else p


def mcnemar_p(a_right: Sequence[bool], b_right: Sequence[bool]) -> tuple[float, int, int]:
    """Exact McNemar test on paired right/wrong outcomes: (p, a-only right, b-only right)."""
    from scipy.special import bdtr  # binomial CDF; lighter to import than scipy.stats

    if len(a_right) != len(b_right):
        raise ValueError(f"McNemar needs paired outcomes; got {len(a_right)} and {len(b_right)}")
    b = sum(1 for x, y in zip(a_right, b_right, strict=True) if x and not y)
    c = sum(1 for x, y in zip(a_right, b_right, strict=True) if y and not x)
    if b + c == 0:
        return 1.0, b, c
    # exact two-sided binomial test at p = 1/2 (symmetric): 2 * P(X <= min(b, c)), capped at 1
    return min(1.0, 2.0 * float(bdtr(min(b, c), b + c, 0.5))), b, c


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given, monotone, capped at 1)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def min_detectable_diff(
    sd: float, n: int, *, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest true mean difference a two-sided test at ``alpha`` detects with ``power``,
    for ``n`` paired items whose differences have standard deviation ``sd`` (normal approx.)."""
    from scipy.special import ndtri  # standard normal quantile

    if n < 2 or not math.isfinite(sd) or sd <= 0:
        return None  # no spread observed: the item count says nothing about power
    z = float(ndtri(1 - alpha / 2) + ndtri(power))
    return z * sd / math.sqrt(n)


@dataclass(frozen=True)
class PairedDiff:
    """``arm_b − arm_a`` on the items both have scored (the JSON stored in ``summary.json``)."""

    task: str
    judge: str
    arm_a: str
    arm_b: str
    n: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    wilcoxon_p: float
    mcnemar_p: float
    a_only_right: int
    b_only_right: int
    threshold: float
    mdd: float | None
    p_holm: float = 1.0
    significant: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def paired_comparison(
    a: ItemScores,
    b: ItemScores,
    *,
    task: str = "",
    judge: str = "",
    arm_a: str = "a",
    arm_b: str = "b",
    threshold: float = 5.0,
    seed: int = 0,
    n_boot: int = 2000,
    level: float = 0.95,
) -> PairedDiff:
    """Paired difference ``b − a`` over shared items: bootstrap CI (items resampled), Wilcoxon
    signed-rank on per-item mean differences, exact McNemar on ``score >= threshold``."""
    ma, mb = item_means(a), item_means(b)
    ids = sorted(set(ma) & set(mb))
    if not ids:
        return PairedDiff(task, judge, arm_a, arm_b, 0, None, None, None, None, None, 1.0, 1.0, 0, 0,
                          threshold, None)
    va = np.array([ma[i] for i in ids])
    vb = np.array([mb[i] for i in ids])
    d = vb - va
    lo, hi = bootstrap_ci(list(d), seed=seed, n_boot=n_boot, level=level)
    p_w = wilcoxon_p(list(d))
    p_m, only_a, only_b = mcnemar_p(list(va >= threshold), list(vb >= threshold))
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")
    return PairedDiff(
        task=task, judge=judge, arm_a=arm_a, arm_b=arm_b, n=len(ids),
        mean_a=float(va.mean()), mean_b=float(vb.mean()), diff=float(d.mean()),
        ci_low=lo, ci_high=hi, wilcoxon_p=p_w, mcnemar_p=p_m, a_only_right=only_a,
        b_only_right=only_b, threshold=threshold, mdd=min_detectable_diff(sd, len(ids)),
    )


def holm_adjust(pairs: Sequence[PairedDiff], alpha: float = 0.05) -> list[PairedDiff]:
    """Holm-adjust the Wilcoxon p-values of one family of pairs; mark significant ones."""
    from dataclasses import replace

    adj = holm([p.wilcoxon_p for p in pairs])
    return [replace(p, p_holm=q, significant=q < alpha and p.n > 0) for p, q in zip(pairs, adj, strict=True)]
