"""Report section for the ``longctx`` arm: what its window held (documents, context tokens, the
budget, documents cut at a sentence end) from ``longctx.json``, whether the gold passage was inside
it, and its prompt tokens and cost per query beside the rag arms' on the same task.

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from typing import Any

from bench.report.costs import arm_costs
from bench.report.fmt import fmt, money
from bench.report.results import load_rows
from bench.report.rundata import RunData

FILE = "longctx.json"


def longctx_section(rd: RunData) -> str:
    data: dict[str, Any] = rd.files.get(FILE) or {}
    if not data:
        return ""
    costs = arm_costs(rd.costs, load_rows(rd), rd.prices, rd.device())
    cur = rd.prices.currency
    lines = [
        "## Long context (no retrieval)",
        "",
        "The `longctx` arm puts whole documents into the prompt until the budget (max_model_len − prompt − "
        "answer, capped by `longctx.max_context_tokens`) is full; a document is cut (at a sentence end) only "
        "when the first one alone exceeds the budget.",
        "",
        "| task | order | budget (tokens) | documents in window | context tokens | items with a cut document | "
        "gold passage in window |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for task, rec in data.items():
        s, items = rec.get("settings", {}), list(rec.get("items", {}).values())
        if not items:
            continue
        n = len(items)
        docs = sum(len(i["docs"]) for i in items) / n
        ctx_tok = sum(i["context_tokens"] for i in items) / n
        budget = sum(i["budget"] for i in items) / n
        cut = sum(1 for i in items if i.get("cut"))
        gold = [i["gold_in_window"] for i in items if i.get("gold_in_window") is not None]
        cap = s.get("max_context_tokens")
        lines.append(
            f"| {task} | {s.get('order')} | {budget:.0f}" + (f" (cap {cap})" if cap else "") + " | "
            f"{docs:.1f} of {s.get('documents', '?')} | {ctx_tok:.0f} | {cut} of {n} | "
            + (f"{sum(gold)} of {len(gold)}" if gold else "—") + " |"
        )
    lines.append("")
    rows = [
        (t, a, c) for (t, a), c in sorted(costs.items())
        if t in data and ({"longctx", "rag"} & set(a.split("+")))
    ]
    if rows:
        lines += [
            "Prompt tokens and cost per query, long context beside retrieval:",
            "",
            "| task | arm | prompt tokens (mean) | device s / query | cost / query | fixed cost |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for t, a, c in rows:
            lines.append(
                f"| {t} | {a} | {fmt(c.prompt_tokens_mean, 0)} | {fmt(c.device_s_per_query, 3)} | "
                f"{money(c.per_query_money, cur)} | {money(c.fixed_money, cur)} |"
            )
        lines.append("")
    return "\n".join(lines)
