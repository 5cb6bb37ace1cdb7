"""Statistics checked against scipy on known data: bootstrap CIs, paired CIs, Wilcoxon, McNemar, Holm, MDD."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from bench.report.stats import (
    bootstrap_ci,
    cluster_bootstrap_ci,
    holm,
    holm_adjust,
    mcnemar_p,
    min_detectable_diff,
    paired_comparison,
    wilcoxon_p,
)

RNG = np.random.default_rng(123)
A = np.round(RNG.uniform(0, 10, 40), 1)
B = np.clip(A + RNG.normal(1.0, 1.5, 40), 0, 10).round(1)


def test_bootstrap_ci_matches_scipy_percentile() -> None:
    lo, hi = bootstrap_ci(list(A), seed=0, n_boot=20000)
    ref = sps.bootstrap((A,), np.mean, method="percentile", n_resamples=20000, rng=np.random.default_rng(1))
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.08)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.08)
    assert lo < A.mean() < hi
    assert bootstrap_ci(list(A), seed=0) == bootstrap_ci(list(A), seed=0)  # seeded
    assert bootstrap_ci([], seed=0) == (None, None)


def test_cluster_bootstrap_resamples_items_not_scores() -> None:
    # 10 items, each scored 5 times identically: the CI must be as wide as for 10 scores, not 50
    items = {f"i{k}": [float(v)] * 5 for k, v in enumerate(A[:10])}
    lo_c, hi_c = cluster_bootstrap_ci(items, seed=0, n_boot=5000)
    lo_1, hi_1 = bootstrap_ci(list(A[:10]), seed=0, n_boot=5000)
    lo_n, hi_n = bootstrap_ci([v for v in A[:10] for _ in range(5)], seed=0, n_boot=5000)
    assert (hi_c - lo_c) == pytest.approx(hi_1 - lo_1, rel=0.15)
    assert (hi_n - lo_n) < 0.7 * (hi_c - lo_c)  # naive pooling is overconfident
    labels = [f"i{k}" for k in range(10) for _ in range(5)]
    pooled = [float(v) for v in A[:10] for _ in range(5)]
    assert bootstrap_ci(pooled, seed=0, n_boot=5000, clusters=labels) == (lo_c, hi_c)
    with pytest.raises(ValueError, match="labels"):
        bootstrap_ci([1.0, 2.0], clusters=["a"])


def test_paired_ci_matches_scipy_paired_bootstrap() -> None:
    pd_ = paired_comparison({str(i): [a] for i, a in enumerate(A)}, {str(i): [b] for i, b in enumerate(B)},
                            seed=0, n_boot=20000)
    ref = sps.bootstrap((A, B), lambda x, y: np.mean(y - x), paired=True, method="percentile",
                        n_resamples=20000, rng=np.random.default_rng(2))
    assert pd_.diff == pytest.approx(float(np.mean(B - A)))
    assert pd_.ci_low == pytest.approx(ref.confidence_interval.low, abs=0.08)
    assert pd_.ci_high == pytest.approx(ref.confidence_interval.high, abs=0.08)
    assert pd_.wilcoxon_p == pytest.approx(sps.wilcoxon(B - A).pvalue)
    assert pd_.n == 40 and pd_.mean_a == pytest.approx(A.mean())


def test_paired_uses_shared_items_and_item_means() -> None:
    a = {"x": [2.0, 4.0], "y": [5.0], "only_a": [9.0]}
    b = {"x": [6.0], "y": [5.0], "only_b": [0.0]}
    p = paired_comparison(a, b, arm_a="base", arm_b="rag")
    assert p.n == 2 and p.diff == pytest.approx(((6 - 3) + 0) / 2)
    empty = paired_comparison({}, b)
    assert empty.n == 0 and empty.diff is None and empty.wilcoxon_p == 1.0


def test_wilcoxon_against_scipy_and_edge_cases() -> None:
    d = [1.5, -0.5, 2.0, 3.0, 0.0, 1.0, 2.5, -1.0, 0.5, 4.0]
    assert wilcoxon_p(d) == pytest.approx(sps.wilcoxon(d, zero_method="wilcox").pvalue)
    assert wilcoxon_p([0.0, 0.0, 0.0]) == 1.0
    assert wilcoxon_p([]) == 1.0


def test_mcnemar_exact_against_binomial() -> None:
    # 10 items only A right, 3 only B right, 20 both, 7 neither
    a = [True] * 10 + [False] * 3 + [True] * 20 + [False] * 7
    b = [False] * 10 + [True] * 3 + [True] * 20 + [False] * 7
    p, only_a, only_b = mcnemar_p(a, b)
    assert (only_a, only_b) == (10, 3)
    assert p == pytest.approx(2 * sps.binom.cdf(3, 13, 0.5))
    assert p == pytest.approx(0.09228515625)
    for k, n in [(0, 5), (4, 9), (7, 14), (2, 30)]:
        xa = [True] * k + [False] * (n - k)
        assert mcnemar_p(xa, [not x for x in xa])[0] == pytest.approx(sps.binomtest(k, n, 0.5).pvalue)
    assert mcnemar_p([True, False], [True, False])[0] == 1.0
    with pytest.raises(ValueError, match="paired"):
        mcnemar_p([True], [True, False])


def test_holm_known_values() -> None:
    # textbook example: p = 0.01, 0.04, 0.03, 0.005 -> 0.03, 0.06, 0.06, 0.02
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_holm_adjust_marks_significance() -> None:
    items = {str(i): [float(v)] for i, v in enumerate(A)}
    better = {str(i): [float(v) + 2.0] for i, v in enumerate(A)}
    same = {str(i): [float(v) + (0.1 if i % 2 else -0.1)] for i, v in enumerate(A)}
    pairs = holm_adjust([paired_comparison(items, better), paired_comparison(items, same)])
    assert pairs[0].significant and not pairs[1].significant
    assert pairs[0].p_holm >= pairs[0].wilcoxon_p


def test_min_detectable_difference() -> None:
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert min_detectable_diff(2.0, 25) == pytest.approx(z * 2.0 / 5)
    assert min_detectable_diff(2.0, 100) == pytest.approx(min_detectable_diff(2.0, 25) / 2)  # type: ignore[operator]
    assert min_detectable_diff(2.0, 1) is None
