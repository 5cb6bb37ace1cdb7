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
    """``cpu`` for a CPU, ``gpu`` for anything else torch reports (``cuda``, ``mps``, a GPU's name
    such as ``NVIDIA L4``, ``Tesla T4`` or ``NVIDIA GeForce RTX 4090``)."""
    d = device.strip().lower()
    return "cpu" if d in ("", "cpu") or d.startswith("cpu") else "gpu"


def _applies(entry: FixedCost | QueryCost, task: str, arm: str) -> bool:
    """``arm="*"`` is a cost every arm pays (the engine start)."""
    comps = set(arm.split("+"))
    return (entry.arm in ("*", arm) or entry.arm in comps) and entry.task in (None, task)


def _device_seconds(rows: Sequence[dict[str, Any]], all_rows: Sequence[dict[str, Any]]) -> float:
    """Mean device time per query: each completion's ``device_s`` (its share of its pass, by tokens;
    a cached copy carries the share of the generation it copies). Completions stored before
    ``device_s`` existed fall back to latency / members of the batch that shared that latency,
    counting only freshly generated members (a cached twin was never in the batch)."""
    members: dict[float, int] = {}
    for r in all_rows:
        if r.get("device_s") is None and r.get("latency_s") is not None and not r.get("cached"):
            members[float(r["latency_s"])] = members.get(float(r["latency_s"]), 0) + 1
    out = []
    for r in rows:
        if r.get("device_s") is not None:
            out.append(float(r["device_s"]))
        else:
            lat = float(r["latency_s"])
            out.append(lat / max(1, members.get(lat, 1)))
    return float(np.mean(out))


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
    device_s_per_query: float | None = None  # each completion's share of its pass (by tokens), averaged
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
    all_rows = [r for items in by.values() for r in items if r.get("prompt_tokens") is not None]
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
            c.device_s_per_query = _device_seconds(ok, all_rows)
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
    return n if n >= 1 else None  # "the same at 0 queries" says nothing
