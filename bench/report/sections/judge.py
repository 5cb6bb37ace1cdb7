"""Report section "LLM judge": LLM-judge scores next to the reference metrics (marked as such),
the judges' reliability (``judge_reliability.json``: parse failures, repeat spread, agreement) and
the ``ragft judge-check`` calibration numbers (``judge_check.json``) when present.

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from typing import Any

from bench.report.rundata import RunData

# the thresholds of bench.judges.reliability.credibility (report and judges stay independent:
# the numbers travel in judge_reliability.json, the words are repeated here and checked by a test)
CREDIBILITY_RULE = (
    "A judge is **credible** when every measured figure passes: parse-failure rate ≤ 0.1; mean repeat SD "
    "≤ 1.5 points (with repeats); on `ragft judge-check --run-dir` the reference answer scores above each "
    "degraded answer (truncated, off-topic, wrong language) on ≥ 80% of items by ≥ 2 points on average "
    "(≥ 5 scored pairs each). **Not credible**: a figure fails. **Unmeasured**: no failure, but the "
    "discrimination was not measured."
)


def _f(x: Any, nd: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _disc(sep: dict[str, Any]) -> str:
    if not sep:
        return "not measured"
    return ", ".join(f"{k} {_f(v.get('win_rate'))} / {_f(v.get('mean_gap'))}" for k, v in sep.items())


def llm_judge_section(rd: RunData) -> str:
    """LLM-judge scores next to the reference, reliability (``judge_reliability.json``), calibration."""
    rel = rd.reliability.model_dump() if rd.reliability is not None else None
    check = rd.files.get("judge_check.json")
    if rel is None and check is None:
        return ""
    lines = ["## LLM judge (secondary scores, marked as such)", ""]
    if rel is not None:
        summary = [s.model_dump(mode="json") for s in rd.summaries]
        llm_ids = list(rel["judges"])
        weak = [j for j in llm_ids if rel["judges"][j].get("credibility") != "credible"]
        lines.append(
            "Rows of the main table whose judge starts with `llm:` (or `jury:`) are LLM-judge scores "
            "(rubric prompt hash in the judge id); `reference@…` rows are the deterministic metrics."
        )
        lines += ["", CREDIBILITY_RULE]
        for j in weak:
            r = rel["judges"][j]
            label = "Not a credible judge" if r.get("credibility") == "not credible" else "Credibility unmeasured"
            lines += ["", f"**{label}:** `{j}` (`{r['model']}`): " + "; ".join(r.get("credibility_reasons") or [])
                      + ". Its scores show that the grading path works, not how good the answers are."]
        cols = [j for j in (*llm_ids, *sorted({s["judge"] for s in summary if s["judge"].startswith("jury:")}))]
        refs = sorted({s["judge"] for s in summary if s["judge"].startswith("reference@")})
        by = {(s["task"], s["arm"], s["judge"]): s for s in summary}
        head = ["task", "arm", *(f"{r} (reference)" for r in refs), *(f"{c} (LLM judge)" for c in cols)]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
        for task, arm in sorted({(s["task"], s["arm"]) for s in summary}):
            cells = [task, arm]
            for j in (*refs, *cols):
                s = by.get((task, arm, j))
                cells.append("—" if s is None else f"{_f(s['mean'])} (unscored {s['n_unscored']}/{s['n']})")
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "### Judge reliability", "",
                  "| judge | model | repeats | graded | scored | parse failures (rate) | gen. failures | repeat SD (mean) | repeat var (mean) | guided (JSON schema) | discrimination (win rate / gap) | credibility |",
                  "|---|---|---:|---:|---:|---|---:|---:|---:|---|---|---|"]
        for j, r in rel["judges"].items():
            lines.append(
                f"| `{j}` | `{r['model']}` via {r['backend']} | {r['repeats']} | {r['n_graded']} | {r['n_scored']} | "
                f"{r['replies_unparsed']}/{r['replies']} ({_f(r['parse_failure_rate'], 3)}) | {r['n_generation_failed']} | "
                f"{_f(r['repeat_sd_mean'])} | {_f(r['repeat_variance_mean'])} | {_guided(r)} | "
                f"{_disc(r.get('discrimination') or {})} | {r.get('credibility') or '—'} |"
            )
        fell = {j: r["guided_fallback"] for j, r in rel["judges"].items() if r["n_free_text"] and r["guided_fallback"]}
        for j, why in fell.items():
            lines.append(f"\n`{j}` fell back to free text: " + "; ".join(f"{w[:200]}" for w in why))
        if rel["vs_reference"]:
            lines += ["", "Agreement with the reference metrics (items with a reference, both scored):", "",
                      "| LLM judge | reference | n | Spearman ρ | Krippendorff α (interval) | mean abs diff | mean LLM | mean ref |",
                      "|---|---|---:|---:|---:|---:|---:|---:|"]
            for j, d in rel["vs_reference"].items():
                for ref, v in d.items():
                    lines.append(
                        f"| `{j}` | `{ref}` | {v['n']} | {_f(v['spearman'], 3)} | {_f(v['alpha_interval'], 3)} | "
                        f"{_f(v['mean_abs_diff'])} | {_f(v['mean_llm'])} | {_f(v['mean_reference'])} |"
                    )
        if rel["pairwise"]:
            lines += ["", f"Agreement between LLM judges (all: α = {_f(rel['all_llm_alpha'], 3)}):", "",
                      "| judge A | judge B | n | Spearman ρ | Krippendorff α (interval) |", "|---|---|---:|---:|---:|"]
            for p in rel["pairwise"]:
                lines.append(f"| `{p['a']}` | `{p['b']}` | {p['n']} | {_f(p['spearman'], 3)} | {_f(p['alpha_interval'], 3)} |")
        lines += ["", "Details: `judge_reliability.json`."]
    if check is not None:
        lines += ["", check_markdown(check, heading="###")]
    return "\n".join(lines)


def _guided(r: dict[str, Any]) -> str:
    """``n guided, m free-text fallback`` for a guided judge; ``off`` otherwise."""
    if not r.get("guided"):
        return "off"
    return f"{r['n_guided']} guided, {r['n_free_text']} free-text fallback"


def check_markdown(res: dict[str, Any], heading: str = "##") -> str:
    lines = [
        f"{heading} Judge check (Japanese MT-Bench calibration) — `{res['judge']}`", "",
        f"Model `{res['model']}` via {res['backend']}; {res['n_questions']} questions; reference shown to the judge: "
        f"{'yes' if res['with_reference'] else 'no'}; parse-failure rate {res['parse_failure_rate']}.", "",
        "| answer | n | scored | unscored | mean score | win rate of reference | mean gap |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v, d in res["variants"].items():
        sep = res["separation"].get(v, {})
        mean = "—" if d["mean"] is None else f"{d['mean']:.2f}"
        wr = "—" if sep.get("win_rate") is None else f"{sep['win_rate']:.2f} ({sep['pairs']} pairs)"
        gap = "—" if sep.get("mean_gap") is None else f"{sep['mean_gap']:+.2f}"
        lines.append(f"| {v} | {d['n']} | {d['scored']} | {d['unscored']} | {mean} | {wr} | {gap} |")
    lines += ["", f"Verdict: **{res['verdict']}**."]
    return "\n".join(lines)
