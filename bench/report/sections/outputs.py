"""Report section "Output checks": per task × arm the most frequent answer and its share, what
always giving it would score, and identical outputs between arms (``bench.report.outputs``).

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from bench.report.outputs import (
    MIN_ITEMS,
    POSITION_BIAS_SHARE,
    answer_stats,
    position_bias,
    reference_mean,
)
from bench.report.rundata import RunData


def outputs_section(rd: RunData) -> str:
    """Report section "Output checks": the most frequent answer per task × arm, identical outputs."""
    arms, pairs = answer_stats(rd)
    if not arms and rd.shuffle is None:
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
    bias = position_bias(rd)
    if bias:
        lines += [
            "", "### Position bias (`shuffle_choices`)", "",
            "Every item asked again with its option texts rotated one label down (labels unchanged). *Same label*: "
            "the answer kept its label although the chosen option moved (it follows the position); *same option*: the "
            f"label moved with the option's text (it follows the content). A caveat at ≥ {POSITION_BIAS_SHARE:.0%} same "
            "label. The extra generations are the `shuffle_check` fixed cost of each arm.", "",
            "| task | arm | asked | labelled twice | same label | same option | accuracy original | accuracy rotated | not rotatable |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for b in bias:
            ao = "—" if b.accuracy_original is None else f"{b.accuracy_original:.0%}"
            ar = "—" if b.accuracy_rotated is None else f"{b.accuracy_rotated:.0%}"
            lines.append(f"| {b.task} | {b.arm} | {b.asked} | {b.n} | {b.same_position:.0%} | {b.same_content:.0%} | "
                         f"{ao} | {ar} | {b.not_shuffled} |")
    return "\n".join(lines) + "\n"
