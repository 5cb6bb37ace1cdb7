"""The report's LoRA section: which adapter served the ``lora`` arm (name, content hash, int id,
base model, training data hash, steps, time) and its training loss curve, from ``lora.json``
in the run directory (written when the arm is prepared, so ``ragft report`` never recomputes).

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from bench.report.rundata import RunData

FILE = "lora.json"
LOSS_FILE = "loss_curve.json"
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / span * (len(SPARK) - 1) + 0.5))] for v in values)


def lora_section(rd: RunData) -> str:
    data = rd.files.get(FILE)
    if data is None:
        return ""
    lines = [
        "## LoRA adapters",
        "",
        "| adapter | int id | base model | train data | tasks | items | steps | train s | loss first → last | loss curve |",
        "|---|---:|---|---|---|---:|---:|---:|---|---|",
    ]
    for name, a in data.get("adapters", {}).items():
        ref, tr = a["ref"], a.get("training", {})
        losses = [float(x["loss"]) for x in a.get("loss_curve", [])]
        first_last = f"{losses[0]:.3f} → {losses[-1]:.3f}" if losses else "—"
        lines.append(
            f"| `{name}` | {ref['int_id']} | `{ref['base_model']}` | `{ref.get('train_data_hash') or '—'}` | "
            f"{', '.join(tr.get('tasks', [])) or '—'} | {tr.get('n_items', '—')} | {tr.get('steps', '—')} | "
            f"{tr.get('train_seconds', '—')} | {first_last} | {sparkline(losses)} |"
        )
    lines += ["", f"Loss curves (per logged step) are in `{FILE}` and next to each adapter (`{LOSS_FILE}`)."]
    return "\n".join(lines) + "\n"
