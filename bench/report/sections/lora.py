"""The report's LoRA sections, from ``lora.json`` in the run directory (written when the arms are
prepared, so ``ragft report`` never recomputes):

- ``lora_section``: every adapter the run served — the arms that used it, what it was trained on
  (tasks, items, share, items skipped as too long, by id), identity, steps, time, loss curve —
  and a note on reading per-task gains.
- ``learning_curve_section``: for ``fractions`` tables, score against training examples with 95%
  CIs per task, next to the rag and base arms, as a table and a plot (``learning_curve.png``).

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from __future__ import annotations

from typing import Any

from bench.report.rundata import RunData
from bench.types import ArmSummary

FILE = "lora.json"
LOSS_FILE = "loss_curve.json"
PLOT = "learning_curve.png"
SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / span * (len(SPARK) - 1) + 0.5))] for v in values)


def _skipped(tr: dict[str, Any]) -> str:
    ids: dict[str, list[str]] = tr.get("skipped_ids") or {}
    counts: dict[str, int] = tr.get("skipped_too_long") or {k: len(v) for k, v in ids.items()}
    if not counts:
        return "none"
    parts = []
    for task, n in counts.items():
        named = ids.get(task, [])
        shown = ", ".join(f"`{x}`" for x in named[:5]) + (" …" if len(named) > 5 else "")
        parts.append(f"{task}: {n}" + (f" ({shown})" if shown else ""))
    limit = tr.get("max_length")
    return "; ".join(parts) + (f" (> {limit} tokens)" if limit else "")


def lora_section(rd: RunData) -> str:
    data = rd.files.get(FILE)
    if data is None:
        return ""
    adapters: dict[str, Any] = data.get("adapters", {})
    lines = [
        "## LoRA adapters",
        "",
        "| arm(s) | adapter | trained on | items | share | skipped (too long) | int id | base model | train data "
        "| steps | train s | loss first → last | loss curve |",
        "|---|---|---|---:|---:|---|---:|---|---|---:|---:|---|---|",
    ]
    for name, a in adapters.items():
        ref, tr = a["ref"], a.get("training", {})
        losses = [float(x["loss"]) for x in a.get("loss_curve", [])]
        first_last = f"{losses[0]:.3f} → {losses[-1]:.3f}" if losses else "—"
        arms = ", ".join(f"`{x}`" for x in a.get("arms", [])) or "—"
        share = a.get("fraction", tr.get("fraction", 1.0))
        lines.append(
            f"| {arms} | `{name}` | {', '.join(tr.get('tasks', [])) or '—'} (train split) | "
            f"{tr.get('n_items', '—')} | {float(share):.0%} | {_skipped(tr)} | {ref['int_id']} | "
            f"`{ref['base_model']}` | `{ref.get('train_data_hash') or '—'}` | {tr.get('steps', '—')} | "
            f"{tr.get('train_seconds', '—')} | {first_last} | {sparkline(losses)} |"
        )
    notes = [
        f"`{', '.join(a.get('arms', [])) or name}` was trained on "
        f"{', '.join(a.get('training', {}).get('tasks', [])) or 'an existing adapter (not trained here)'}"
        for name, a in adapters.items()
    ]
    lines += [
        "",
        "Reading the gains: " + "; ".join(notes) + ". An adapter trained on a task's own train split learns "
        "that task's answer format and style as much as any knowledge, so expect its gain on that task "
        "and little or none on the others; a gain on a task it never saw is the one that suggests "
        "transfer. All adapters were served unmerged by one backend, side by side with the base model.",
        "",
        f"Loss curves (per logged step) are in `{FILE}` and next to each adapter (`{LOSS_FILE}`).",
    ]
    return "\n".join(lines) + "\n"


def _pick(rows: list[ArmSummary], task: str, arm: str) -> ArmSummary | None:
    hits = [s for s in rows if s.task == task and s.arm == arm]
    ref = [s for s in hits if s.judge.startswith("reference")]
    best = ref or hits
    return best[0] if best else None


def _ci(s: ArmSummary | None) -> str:
    if s is None or s.mean is None:
        return "—"
    if s.ci_low is None or s.ci_high is None:
        return f"{s.mean:.2f}"
    return f"{s.mean:.2f} [{s.ci_low:.2f}, {s.ci_high:.2f}]"


def curves(rd: RunData) -> dict[str, list[tuple[str, int, float, str]]]:
    """Curve name -> [(arm, training items, share, adapter)], smallest share first."""
    out: dict[str, list[tuple[str, int, float, str]]] = {}
    for name, a in (rd.files.get(FILE) or {}).get("adapters", {}).items():
        if not a.get("curve"):
            continue
        for arm in a.get("arms", []):
            if "+" in arm:
                continue
            out.setdefault(a["curve"], []).append(
                (arm, int(a.get("training", {}).get("n_items") or 0), float(a.get("fraction", 1.0)), name)
            )
    return {k: sorted(v, key=lambda x: x[2]) for k, v in out.items()}


def learning_curve_section(rd: RunData) -> str:
    cs = curves(rd)
    if not cs:
        return ""
    summ = rd.summaries
    tasks = list(rd.selection)
    lines = [
        "## Learning curve",
        "",
        "How many labelled examples before LoRA beats retrieval? Adapters trained on nested shares of the "
        "same training items (one seed), scored per task (0–10, 95% bootstrap CI), next to the `rag` and "
        "`base` arms. Overlapping CIs mean the data cannot tell the points apart.",
    ]
    for curve, pts in cs.items():
        for task in tasks:
            rag, base = _pick(summ, task, "rag"), _pick(summ, task, "base")
            scored = [(arm, n, f, _pick(summ, task, arm)) for arm, n, f, _ in pts]
            if all(s is None for *_, s in scored):
                continue
            lines += [
                "", f"### `{curve}` on {task}", "",
                "| arm | training examples | share | score [95% CI] | vs rag |", "|---|---:|---:|---|---|",
            ]
            for arm, n, f, s in scored:
                vs = "—"
                if s is not None and s.mean is not None and rag is not None and rag.mean is not None:
                    if s.ci_low is not None and rag.ci_high is not None and s.ci_low > rag.ci_high:
                        vs = "above (CIs apart)"
                    elif s.ci_high is not None and rag.ci_low is not None and s.ci_high < rag.ci_low:
                        vs = "below (CIs apart)"
                    else:
                        vs = f"{s.mean - rag.mean:+.2f} (CIs overlap)"
                lines.append(f"| `{arm}` | {n} | {f:.0%} | {_ci(s)} | {vs} |")
            lines.append(f"\nrag: {_ci(rag)}; base: {_ci(base)}.")
    path = _plot(rd, cs, tasks)
    if path:
        lines += ["", f"![learning curve: score against training examples]({PLOT})"]
    return "\n".join(lines) + "\n"


def _plot(rd: RunData, cs: dict[str, list[tuple[str, int, float, str]]], tasks: list[str]) -> str:
    """``learning_curve.png`` in the run directory: one panel per (curve, task) with scores."""
    panels = [
        (c, t) for c, pts in cs.items() for t in tasks
        if any((s := _pick(rd.summaries, t, arm)) is not None and s.mean is not None for arm, *_ in pts)
    ]
    if not panels:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, 3.2 * len(panels)), 3), squeeze=False)
    for ax, (curve, task) in zip(axes[0], panels, strict=True):
        xs, ys, lo, hi = [], [], [], []
        for arm, n, _f, _name in cs[curve]:
            s = _pick(rd.summaries, task, arm)
            if s is None or s.mean is None:
                continue
            xs.append(n)
            ys.append(s.mean)
            lo.append(s.mean - (s.ci_low if s.ci_low is not None else s.mean))
            hi.append((s.ci_high if s.ci_high is not None else s.mean) - s.mean)
        ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o-", capsize=3, label="lora")
        for arm, style in (("rag", "--"), ("base", ":")):
            ref = _pick(rd.summaries, task, arm)
            if ref is not None and ref.mean is not None:
                ax.axhline(ref.mean, linestyle=style, color="gray" if arm == "base" else "tab:orange", label=arm)
                if ref.ci_low is not None and ref.ci_high is not None and arm == "rag":
                    ax.axhspan(ref.ci_low, ref.ci_high, color="tab:orange", alpha=0.1)
        ax.set_ylim(-0.5, 10.5)
        ax.set_xlabel("training examples")
        ax.set_title(f"{curve} / {task}".encode("ascii", "backslashreplace").decode(), fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("score 0-10 (95% CI)")
    axes[0][0].legend(fontsize=7)
    fig.savefig(rd.root / PLOT, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return PLOT
