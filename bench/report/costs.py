"""Cost per arm: the completions' tokens and device time plus the fixed and per-query costs that
arms recorded in ``costs.json``, turned into money by the ``[cost]`` prices; break-even volumes.

Example: ``costs = arm_costs(rd, rows, prices, "cpu")``
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.config.report import CostSection
from bench.store.files import CostsFile, FixedCost, QueryCost


def device_kind(device: str) -> str:
    d = device.lower()
    return "gpu" if any(k in d for k in ("cuda", "gpu", "h100", "h200", "a100", "mps")) else "cpu"


def _applies(entry: FixedCost | QueryCost, task: str, arm: str) -> bool:
    comps = set(arm.split("+"))
    return (entry.arm == arm or entry.arm in comps) and entry.task in (None, task)


@dataclass
class ArmCost:
    """Cost of one arm on one task. Money is in ``CostSection.currency``."""

    task: str
    arm: str
    n_queries: int = 0
    prompt_tokens_mean: float | None = None
    output_tokens_mean: float | None = None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_mean_s: float | None = None
    device_s_per_query: float | None = None  # batch wall time / batch size, averaged
    extra_query_s: float = 0.0  # recorded per-query time outside generation (retrieval …)
    fixed_s: float = 0.0
    fixed: list[FixedCost] = field(default_factory=list)
    per_query_money: float | None = None
    fixed_money: float = 0.0

    def total_money(self, queries: int) -> float | None:
        if self.per_query_money is None:
            return None
        return self.fixed_money + queries * self.per_query_money


def arm_costs(
    costs: CostsFile,
    rows: Sequence[dict[str, Any]],
    prices: CostSection,
    run_device: str,
) -> dict[tuple[str, str], ArmCost]:
    """Per (task, arm) cost from result rows (one per item; see ``bench.report.results``) and costs.json."""
    out: dict[tuple[str, str], ArmCost] = {}
    seen: set[tuple[str, str, str]] = set()
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        k3 = (r["task"], r["arm"], r["example_id"])
        if k3 in seen:  # one per item, whatever the number of judges
            continue
        seen.add(k3)
        by.setdefault((r["task"], r["arm"]), []).append(r)
    dev_price = prices.gpu_hour if device_kind(run_device) == "gpu" else prices.cpu_hour
    # Completions generated in one batch share one latency value (the batch's wall time), and
    # batches may mix tasks and arms; each member is charged latency / members.
    members: dict[float, int] = {}
    for items in by.values():
        for r in items:
            if r.get("latency_s") is not None:
                members[float(r["latency_s"])] = members.get(float(r["latency_s"]), 0) + 1
    for (task, arm), items in by.items():
        ok = [r for r in items if r.get("prompt_tokens") is not None]
        c = ArmCost(task=task, arm=arm, n_queries=len(ok))
        if ok:
            pt = np.array([r["prompt_tokens"] for r in ok], dtype=float)
            ot = np.array([r["output_tokens"] for r in ok], dtype=float)
            lat = np.array([r["latency_s"] for r in ok], dtype=float)
            c.prompt_tokens_mean, c.output_tokens_mean = float(pt.mean()), float(ot.mean())
            c.latency_p50_s = float(np.percentile(lat, 50))
            c.latency_p95_s = float(np.percentile(lat, 95))
            c.latency_mean_s = float(lat.mean())
            c.device_s_per_query = float(np.mean([x / members[float(x)] for x in lat]))
            for q in costs.per_query:
                if _applies(q, task, arm):
                    c.extra_query_s += q.seconds / max(1, q.queries)
            c.per_query_money = (
                (c.device_s_per_query + c.extra_query_s) / 3600 * dev_price
                + c.prompt_tokens_mean / 1000 * prices.per_1k_prompt_tokens
                + c.output_tokens_mean / 1000 * prices.per_1k_output_tokens
            )
        for e in costs.fixed:
            if _applies(e, task, arm):
                c.fixed.append(e)
                c.fixed_s += e.seconds
                p = prices.gpu_hour if device_kind(e.device) == "gpu" else prices.cpu_hour
                c.fixed_money += e.seconds / 3600 * p
        out[(task, arm)] = c
    return out


def break_even(a: ArmCost, b: ArmCost) -> float | None:
    """Query volume at which ``a`` and ``b`` cost the same in total (fixed + volume × per query);
    None when one is cheaper at every volume (or costs are unknown)."""
    if a.per_query_money is None or b.per_query_money is None:
        return None
    dq = a.per_query_money - b.per_query_money
    df = b.fixed_money - a.fixed_money
    if dq == 0:
        return None
    n = df / dq
    return n if n > 0 else None
