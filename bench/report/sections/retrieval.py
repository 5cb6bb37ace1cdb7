"""Report section for retrieval: per-retriever metrics (recall@k, MRR, nDCG@k) from
``retrieval.json`` and the RAG miss split from ``predictions.jsonl`` hits and ``grades.jsonl``.

A rag answer scoring below ``CORRECT_SCORE`` is a *retrieval miss* when none of the item's gold
passages was in its hits (with ``chunk_size``: when no hit chunk overlaps a gold passage, by the
chunk -> passages map ``sources`` of ``retrieval.json``), else a *generation miss*. Failed (no completion) and unscored items are
counted apart. A ``report_section`` of ``bench.registry``; ``ragft report RUN_DIR`` re-renders it.

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from typing import Any

from bench.report.rundata import RunData

CORRECT_SCORE = 5.0
CONTEXT_ARMS = {"rag", "longctx"}  # arms whose hits are the passages in the prompt (rag: retrieved; longctx: in the window)


def miss_split(rd: RunData) -> dict[str, dict[str, dict[str, int]]]:
    """{task: {arm: {n, correct, retrieval_miss, generation_miss, failed, unscored}}} for arms with rag
    or longctx (a longctx retrieval miss: the gold passage was not inside its window)."""
    if not rd.examples:
        return {}
    examples = rd.examples
    selection = rd.selection
    preds = rd.predictions
    grades: dict[tuple[str, str, str], float | None] = {}
    for (t, a, e, _judge), g in sorted(rd.grades.items()):
        grades.setdefault((t, a, e), g.score)  # the first judge by name
    rdata: dict[str, Any] = rd.files.get("retrieval.json") or {}
    out: dict[str, dict[str, dict[str, int]]] = {}
    for task, sel in selection.items():
        sources: dict[str, list[str]] = (rdata.get(task) or {}).get("sources") or {}
        if sel.kind != "qa":
            continue  # document items: every chunk is gold, so there is no retrieval miss to tell
        for arm in sel.arms:
            if not CONTEXT_ARMS & set(arm.split("+")):
                continue
            c = {"n": 0, "correct": 0, "retrieval_miss": 0, "generation_miss": 0, "failed": 0, "unscored": 0}
            for eid in sel.examples:
                gold = set(examples.get(task, {}).get(eid, {}).get("gold_passages", []))
                p = preds.get((task, arm, eid))
                if p is None or not gold:
                    continue
                c["n"] += 1
                if p.completion is None:
                    c["failed"] += 1
                    continue
                score = grades.get((task, arm, eid))
                if score is None:
                    c["unscored"] += 1
                elif score >= CORRECT_SCORE:
                    c["correct"] += 1
                elif gold & {s for h in p.hits for s in (sources.get(h) or [h])}:
                    c["generation_miss"] += 1
                else:
                    c["retrieval_miss"] += 1
            out.setdefault(task, {})[arm] = c
    return out


def retrieval_section(rd: RunData) -> str:
    data: dict[str, Any] = rd.files.get("retrieval.json") or {}
    split = miss_split(rd)
    if not data and not split:
        return ""
    lines = ["## Retrieval", ""]
    for task, rec in data.items():
        m: dict[str, dict[str, float]] = rec.get("metrics", {})
        s = rec.get("settings", {})
        if not m:
            continue
        keys = [k for k in next(iter(m.values())) if k != "n"]
        n = int(next(iter(m.values())).get("n", 0))
        lines += [
            f"**{task}** — {n} questions with gold passages; tokenizer `{s.get('tokenizer')}`, "
            f"engine `{s.get('engine')}`, embedder `{s.get('embedder')}`, fusion `{s.get('fusion')}`, "
            f"k = {s.get('k')} (the rag arm uses `{s.get('retriever')}`).",
            "",
            "| retriever | " + " | ".join(keys) + " |",
            "|---|" + "---:|" * len(keys),
        ]
        for name, vals in m.items():
            lines.append(f"| {name} | " + " | ".join(f"{vals.get(k, 0.0):.3f}" for k in keys) + " |")
        if rec.get("rerank_s_per_query") is not None:
            lines += [
                "",
                f"Reranked: cross-encoder `{s.get('reranker')}` re-scored the {s.get('retriever')} top "
                f"{s.get('rerank_top_n')}; the prompt took the reranked top {s.get('k')} "
                f"({rec['rerank_s_per_query'] * 1000:.0f} ms per query, a per-query cost of the rag arms).",
            ]
        lines.append("")
    if split:
        lines += [
            f"**RAG misses** (an answer scoring < {CORRECT_SCORE:g} is a retrieval miss when no gold passage "
            "was retrieved — for longctx: was inside its window — else a generation miss):",
            "",
            "| task | arm | n | correct | retrieval miss | generation miss | failed | unscored |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for task, arms in split.items():
            for arm, c in arms.items():
                lines.append(
                    f"| {task} | {arm} | {c['n']} | {c['correct']} | {c['retrieval_miss']} | "
                    f"{c['generation_miss']} | {c['failed']} | {c['unscored']} |"
                )
        lines.append("")
    return "\n".join(lines)
