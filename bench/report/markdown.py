"""The Markdown report: the task × arm table, recommendation, paired differences, cost per arm,
the feature sections and provenance.

Example: ``text = render_markdown(rd, analysis, sections)``
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

from bench.report.analysis import Analysis
from bench.report.costs import break_even
from bench.report.fmt import fmt as _fmt
from bench.report.fmt import money as _money
from bench.store.files import Selection
from bench.types import ArmSummary


def render_markdown(
    run_id: str,
    summaries: list[ArmSummary],
    selection: Selection,
    prov: dict[str, Any],
    config: dict[str, Any],
    sections: list[str] | None = None,
) -> str:
    lines = [f"# ragft report — `{run_id}`", ""]
    lines += [
        f"Model: `{config['model']['id']}` (backend `{config['model']['backend']}`, dtype `{config['model']['dtype']}`). "
        "Scores are 0–10 (reference metrics × 10); CI is a 95% bootstrap interval of the mean. "
        "`failed` = no completion (counted, not scored 0); `unscored` = the judge could not grade.",
        "",
        "| task | kind | arm | judge | mean | 95% CI | n | failed | unscored | metrics | prompt tok | output tok | latency p50 s |",
        "|---|---|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for s in summaries:
        kind = selection[s.task].kind if s.task in selection else ""
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in s.metrics.items()) or "—"
        ci = "—" if s.ci_low is None else f"[{s.ci_low:.2f}, {s.ci_high:.2f}]"
        lines.append(
            f"| {s.task} | {kind} | {s.arm} | {s.judge} | {_fmt(s.mean)} | {ci} | {s.n} | {s.n_failed} | "
            f"{s.n_unscored} | {metrics} | {_fmt(s.cost.get('prompt_tokens_mean'), 0)} | "
            f"{_fmt(s.cost.get('output_tokens_mean'), 1)} | {_fmt(s.cost.get('latency_p50_s'))} |"
        )
    for sec in sections or []:
        lines += ["", sec]
    lines += ["", "## Provenance", "", "```json", json.dumps(prov, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)


def judge_words(a: Analysis) -> str:
    """Which judge decides, and why (the first configured judge; reference metrics otherwise)."""
    if a.judge is None:
        return ""
    why = ("the first configured LLM judge (`[[judges]]` of the config, then `ragft grade`)"
           if not a.judge.startswith("reference") else "the reference metrics, as no configured LLM judge scored an item")
    out = f"Deciding judge: `{a.judge}`, {why}; the other judges' scores stay in the task × arm table."
    other = {t: j for t, j in a.task_judge.items() if j != a.judge}
    if other:
        out += " Tasks that judge did not grade use: " + ", ".join(f"{t} `{j}`" for t, j in other.items()) + "."
    return out


def markdown_sections(a: Analysis) -> list[str]:
    """Recommendation, paired differences and cost as Markdown sections for report.md."""
    cur = a.prices.currency
    jw = judge_words(a)
    out = ["## Recommendation\n\n" + (jw + "\n\n" if jw else "") + a.recommendation_text() + "\n"]
    if a.pairs:
        lines = [
            "## Paired differences (arm B − arm A, same items)", "",
            f"Judge `{a.judge}` (see *Recommendation*). CI: 95% bootstrap over items; p: Wilcoxon signed-rank, Holm-adjusted per task "
            f"(α={a.settings.alpha}); McNemar on score ≥ {a.settings.pass_threshold:g}; MDD: minimum detectable "
            "difference (80% power).", "",
            "| task | A | B | n | mean A | mean B | B − A | 95% CI | Wilcoxon p | Holm p | McNemar p (A only / B only right) | MDD | |",
            "|---|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|---|",
        ]
        for p in a.pairs:
            if p.judge != a.judge_of(p.task):
                continue
            lines.append(
                f"| {p.task} | {p.arm_a} | {p.arm_b} | {p.n} | {_fmt(p.mean_a)} | {_fmt(p.mean_b)} | "
                f"{_fmt(p.diff)} | [{_fmt(p.ci_low)}, {_fmt(p.ci_high)}] | {p.wilcoxon_p:.3g} | {p.p_holm:.3g} | "
                f"{p.mcnemar_p:.3g} ({p.a_only_right} / {p.b_only_right}) | {_fmt(p.mdd)} | "
                f"{'**significant**' if p.significant else ''} |"
            )
        out.append("\n".join(lines) + "\n")
    else:
        mdd = [s for s in a.stats if s.judge == a.judge_of(s.task) and s.mdd is not None]
        if mdd:
            out.append(
                "## Statistical power\n\nOne arm per task, so no paired comparisons. Minimum detectable "
                "difference against a future arm of equal spread (paired, 80% power, α=0.05): "
                + ", ".join(f"{s.task} {s.mdd:.2f} points (n={s.n_scored})" for s in mdd) + ".\n"
            )
        else:
            out.append(
                "## Statistical power\n\nOne arm per task, so no paired comparisons. No minimum detectable "
                "difference: the scores have no spread (every item scored the same) or too few items.\n"
            )
    lines = [
        "## Cost per arm", "",
        f"Prices: GPU-hour {a.prices.gpu_hour:g} {cur}, CPU-hour {a.prices.cpu_hour:g} {cur}, "
        f"1k prompt tokens {a.prices.per_1k_prompt_tokens:g} {cur}, 1k output tokens {a.prices.per_1k_output_tokens:g} {cur} "
        f"(config `[cost]`). Latency is what a query waited (the engine's own timings where it reports them, else its "
        f"batch's wall time); device time per query is its share of its pass's compute time, by prompt + output tokens "
        f"(hf: batch time / batch size; engine start is a fixed cost). Per-query money = device time × device price + tokens × token prices. "
        f"Fixed costs come from `costs.json`.", "",
        f"| task | arm | queries | prompt tok | output tok | latency p50 s | p95 s | device s/query | per query | fixed s | fixed | total @ {a.prices.queries:,} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (t, arm), c in a.costs.items():
        lines.append(
            f"| {t} | {arm} | {c.n_queries} | {_fmt(c.prompt_tokens_mean, 0)} | {_fmt(c.output_tokens_mean, 1)} | "
            f"{_fmt(c.latency_p50_s)} | {_fmt(c.latency_p95_s)} | {_fmt(c.device_s_per_query)} | "
            f"{_money(c.per_query_money, cur)} | {c.fixed_s:.0f} | "
            f"{_money(c.fixed_money, cur)} | {_money(c.total_money(a.prices.queries), cur)} |"
        )
    bes = []
    for t in a.tasks:
        for x, y in combinations(a.arms[t], 2):
            cx, cy = a.costs.get((t, x)), a.costs.get((t, y))
            if cx and cy:
                be = break_even(cx, cy)
                if be:
                    bes.append(f"- {t}: {x} and {y} cost the same at {be:,.0f} queries")
    if bes:
        lines += ["", "Break-even volumes:", ""] + bes
    out.append("\n".join(lines) + "\n")
    return out


