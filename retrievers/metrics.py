"""Retrieval metrics with binary relevance: recall@k, MRR, nDCG@k, and their means over queries.

Rankings name retrieval units; gold names corpus passages. When the units are chunks
(``chunk_size``), ``sources`` maps each unit id to the passage ids it overlaps
(``Passage.source_passages``): a unit is relevant when it overlaps a gold passage, recall@k is the
share of gold passages the top ``k`` units overlap, and nDCG's ideal ranking puts every relevant
unit first. Without ``sources`` a unit is the passage of the same id.

Example: ``recall_at_k(["p3", "p1"], {"p1"}, 1)  # 0.0``
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

Sources = Mapping[str, Collection[str]]


def _covers(unit: str, sources: Sources | None) -> Collection[str]:
    if sources is None:
        return (unit,)
    return sources.get(unit) or (unit,)


def _relevant(unit: str, gold: set[str], sources: Sources | None) -> bool:
    return any(s in gold for s in _covers(unit, sources))


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int, sources: Sources | None = None) -> float:
    """Share of the gold passages found in (overlapped by) the top ``k``."""
    g = set(gold)
    if not g:
        raise ValueError("recall@k needs at least one gold passage")
    found = {s for u in ranked[:k] for s in _covers(u, sources)}
    return len(found & g) / len(g)


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str], sources: Sources | None = None) -> float:
    """1 / rank of the first unit on a gold passage, 0 when none is retrieved."""
    g = set(gold)
    for i, unit in enumerate(ranked, start=1):
        if _relevant(unit, g, sources):
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int, sources: Sources | None = None) -> float:
    """Binary-relevance nDCG@k (ideal: every relevant unit at the top; with ``sources``, the
    relevant units are the units of ``sources`` that overlap a gold passage)."""
    g = set(gold)
    if not g:
        raise ValueError("nDCG@k needs at least one gold passage")
    dcg = sum(1.0 / math.log2(i + 1) for i, u in enumerate(ranked[:k], start=1) if _relevant(u, g, sources))
    n_rel = len(g) if sources is None else max(1, sum(1 for u in sources if _relevant(u, g, sources)))
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, n_rel) + 1))
    return dcg / ideal


def evaluate(
    runs: Sequence[tuple[Sequence[str], Collection[str]]],
    ks: Sequence[int] = (1, 3, 5, 10),
    sources: Sources | None = None,
) -> dict[str, float]:
    """Mean recall@k, nDCG@k (for each k) and MRR over (ranking, gold) pairs with gold."""
    pairs = [(r, g) for r, g in runs if g]
    out: dict[str, float] = {"n": float(len(pairs))}
    if not pairs:
        return out
    for k in ks:
        out[f"recall@{k}"] = sum(recall_at_k(r, g, k, sources) for r, g in pairs) / len(pairs)
    out["mrr"] = sum(reciprocal_rank(r, g, sources) for r, g in pairs) / len(pairs)
    for k in ks:
        out[f"ndcg@{k}"] = sum(ndcg_at_k(r, g, k, sources) for r, g in pairs) / len(pairs)
    return out
