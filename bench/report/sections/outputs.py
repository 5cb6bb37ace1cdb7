"""Report section "Output checks": per task × arm the most frequent answer and its share, what
always giving it would score, and identical outputs between arms (``bench.report.outputs``).

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from bench.report.outputs import MIN_ITEMS, answer_stats, reference_mean
from bench.report.rundata import RunData


def outputs_section(rd: RunData) -> str:
    """Report section "Output checks": the most frequent answer per task × arm, identical outputs."""
    arms, pairs = answer_stats(rd)
    if not arms:
        return ""
    thr = rd.report.degenerate_share
    lines = [
        "## Output checks", "",
        f"Does the model read the question? An arm whose most frequent answer covers ≥ {thr:.0%} of its answered "
        f"items (`report.degenerate_share`, at least {MIN_ITEMS} items), or two arms with identical output text on "
        f"≥ {thr:.0%} of items, get a caveat. *Constant score* is what always giving the most frequent answer would "
        "score (its gold share × 10), next to the arm's reference-metric mean.", "",
        "| task | arm | answered | most frequent answer | share | constant score | score | |",
        "|---|---|---:|---|---:|---:|---:|---|",
    ]
    for s in arms:
        flag = "**degenerate**" if s.n >= MIN_ITEMS and s.top_share >= thr else ""
        score = reference_mean(rd, s.task, s.arm)
        top = s.top[:40].replace("|", "\\|") or "(empty)"
        lines.append(f"| {s.task} | {s.arm} | {s.n} | `{top}` | {s.top_share:.0%} | {10 * s.gold_share:.2f} | "
                     f"{'—' if score is None else f'{score:.2f}'} | {flag} |")
    if pairs:
        lines += ["", "| task | arm A | arm B | items | identical outputs |", "|---|---|---|---:|---:|"]
        lines += [f"| {p.task} | {p.arm_a} | {p.arm_b} | {p.n} | {p.share:.0%} |" for p in pairs]
    return "\n".join(lines) + "\n"
