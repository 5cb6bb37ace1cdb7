"""Report section "Contamination check": per task, the items whose text the model was tuned on
(``contamination.json``), and every arm scored on all, clean and flagged items.

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

import numpy as np

from bench.report.rundata import RunData
from bench.types import Grade


def _mean(xs: list[float]) -> str:
    return "—" if not xs else f"{float(np.mean(xs)):.2f}"


def contamination_section(rd: RunData) -> str:
    """Report section: flagged items per task, and each arm scored with and without them."""
    data = rd.contamination
    if data is None:
        return ""
    selection = rd.selection
    grades = rd.grades
    preds = rd.predictions
    lines = [
        "## Contamination check",
        "",
        f"Character {data.ngram}-gram overlap (after NFKC) between text the model was tuned on "
        f"and each evaluated item (question + reference); an item is flagged when at least "
        f"{data.threshold:.0%} of its n-grams were seen. Scores are shown on all items and "
        "on the clean items only: a gain that vanishes on clean items came from seen items, not skill.",
        "",
        "| task | arm | flagged / n | mean (all) | mean (clean) | mean (flagged) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    details: list[str] = []
    by_item: dict[tuple[str, str, str], Grade] = {}
    for (t, a, e, _j), grade in sorted(grades.items()):
        by_item.setdefault((t, a, e), grade)
    for task, sel in selection.items():
        if task not in data.tasks:
            continue
        evaluated = list(sel.examples)
        flagged = {k: v for k, v in data.flagged(task).items() if k in set(evaluated)}
        for arm in sel.arms:
            all_s: list[float] = []
            clean: list[float] = []
            dirty: list[float] = []
            for eid in evaluated:
                p = preds.get((task, arm, eid))
                g: Grade | None = by_item.get((task, arm, eid))
                if p is None or g is None or g.score is None or g.prediction_key != p.request_key:
                    continue
                all_s.append(g.score)
                (dirty if eid in flagged else clean).append(g.score)
            lines.append(
                f"| {task} | {arm} | {len(flagged)} / {len(evaluated)} | {_mean(all_s)} | {_mean(clean)} | {_mean(dirty)} |"
            )
        for iid, (ratio, src, group) in sorted(flagged.items())[:10]:
            details.append(f"- `{task}/{iid}`: {ratio:.0%} of its n-grams seen (closest: `{src}`, via {group})")
    if details:
        lines += ["", "Flagged items:", "", *details]
    return "\n".join(lines) + "\n"
