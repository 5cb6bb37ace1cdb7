"""Report section "Data": per task, the split sizes, how many items were evaluated, and data notes
(splits carved from an evaluation file, skipped records, metrics ragft does not compute; for items
of ``ragft synth``: their share, generator, split and filter counts).

Example: ``ragft report reports/jglue-0cc99deb``
"""

from __future__ import annotations

from bench.report.rundata import RunData


def data_section(rd: RunData) -> str:
    rows: list[str] = []
    notes: list[str] = []
    for task, sel in rd.selection.items():
        split_text = ", ".join(f"{k} {v}" for k, v in sel.split_sizes.items())
        rows.append(f"| {task} | {sel.kind} | {split_text} | {sel.split} | {len(sel.examples)} |")
        notes += [f"- {task}: {n}" for n in sel.notes]
        ex = rd.examples.get(task, {})
        synthetic = sum(1 for i in sel.examples if (ex.get(i, {}).get("metadata") or {}).get("synthetic") is True)
        if synthetic:
            notes.append(f"- {task}: {synthetic} of {len(sel.examples)} evaluated items are synthetic "
                         f"({100 * synthetic / len(sel.examples):.0f} %)")
    if not rows:
        return ""
    out = ["## Data", "", "| task | kind | splits (items) | evaluated split | evaluated |", "|---|---|---|---|---|", *rows]
    if notes:
        out += ["", *notes]
    return "\n".join(out) + "\n"
