"""The report's first picture: a task × arm grid of the paired difference against ``base`` (colour
for the effect, ``*`` where Holm-significant, the cost per 1,000 queries in the cell) and one
decision line per task, taken from the recommendation (``bench.report.recommend.analyse``).

Example: ``cells = grid_cells(analyse(RunData.load(Path("reports/demo-1a2b3c4d"))))``;
``python -m bench.report.decision reports/example --out grid.png`` draws it from ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report.analysis import Analysis, TaskRecommendation
from bench.report.fmt import money

BASE = "base"


@dataclass(frozen=True)
class GridCell:
    """One task × arm cell; ``diff`` is ``arm − base`` on the items both scored (0 for base itself,
    None where the task has no base arm or no scored pair)."""

    task: str
    arm: str
    mean: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_holm: float | None
    significant: bool
    cost_per_1k: float | None  # running cost of 1,000 queries (fixed costs are in the cost table)


def grid_cells(a: Analysis) -> list[GridCell]:
    out: list[GridCell] = []
    for t in a.tasks:
        for arm in a.arms[t]:
            s = a.stat(t, arm)
            c = a.costs.get((t, arm))
            per_1k = c.per_query_money * 1000 if c is not None and c.per_query_money is not None else None
            diff = lo = hi = p = None
            sig = False
            if arm == BASE:
                diff = 0.0 if s is not None and s.mean is not None else None
            else:
                for pd in a.pairs:
                    if pd.task != t or pd.judge != a.judge or {pd.arm_a, pd.arm_b} != {BASE, arm}:
                        continue
                    sign = 1.0 if pd.arm_a == BASE else -1.0  # orient as arm − base
                    if pd.diff is not None:
                        diff = sign * pd.diff + 0.0
                        lo, hi = (pd.ci_low, pd.ci_high) if sign > 0 else (
                            -pd.ci_high if pd.ci_high is not None else None,
                            -pd.ci_low if pd.ci_low is not None else None)
                    p, sig = pd.p_holm, pd.significant
            out.append(GridCell(task=t, arm=arm, mean=s.mean if s else None, diff=diff, ci_low=lo, ci_high=hi,
                                p_holm=p, significant=sig, cost_per_1k=per_1k))
    return out


def main_judge(record: dict[str, Any]) -> str | None:
    """The judge a run's report is about (the one that scored most items), from ``summary.json``."""
    counts: dict[str, int] = {}
    for s in record.get("summaries", []):
        counts[s["judge"]] = counts.get(s["judge"], 0) + s["n"] - s["n_failed"] - s["n_unscored"]
    return max(sorted(counts), key=lambda j: counts[j]) if counts else None


def cells_from_record(record: dict[str, Any]) -> list[GridCell]:
    """The same cells as ``grid_cells``, from a run's ``summary.json`` alone."""
    judge = main_judge(record)
    pairs = [p for p in record.get("paired_diffs", []) if p["judge"] == judge]
    out: list[GridCell] = []
    for s in record.get("summaries", []):
        if s["judge"] != judge:
            continue
        t, arm = s["task"], s["arm"]
        q = s.get("cost", {}).get("per_query_money")
        diff = lo = hi = p_holm = None
        sig = False
        if arm == BASE:
            diff = 0.0 if s.get("mean") is not None else None
        for p in pairs:
            if arm == BASE or p["task"] != t or {p["arm_a"], p["arm_b"]} != {BASE, arm}:
                continue
            if p["diff"] is not None:
                if p["arm_a"] == BASE:
                    diff, lo, hi = p["diff"] + 0.0, p["ci_low"], p["ci_high"]
                else:
                    diff = -p["diff"] + 0.0
                    lo = -p["ci_high"] if p["ci_high"] is not None else None
                    hi = -p["ci_low"] if p["ci_low"] is not None else None
            p_holm, sig = p["p_holm"], p["significant"]
        out.append(GridCell(task=t, arm=arm, mean=s.get("mean"), diff=diff, ci_low=lo, ci_high=hi, p_holm=p_holm,
                            significant=sig, cost_per_1k=q * 1000 if q is not None else None))
    return out


def decision_line(r: TaskRecommendation, lang: str) -> str:
    """One short line per task: the chosen arm and whether the choice rests on a significant win."""
    if r.choice is None:
        return "no decision (see the reasoning below)" if lang == "en" else "判断なし（下の説明を参照）"
    if r.significant:
        return (f"**{r.choice}** — significantly better than every other arm (Holm)" if lang == "en"
                else f"**{r.choice}** — 他のすべてのアームより有意に良い（Holm 補正）")
    if r.choice == BASE:
        return ("**base** — no arm is significantly better; nothing to build or maintain" if lang == "en"
                else "**base** — 有意に良いアームなし。構築・保守するものがありません")
    return (f"**{r.choice}** — no significant difference among the best arms; chosen on cost" if lang == "en"
            else f"**{r.choice}** — 上位アーム間に有意差なし。コストで選択")


def japanese_font() -> str | None:
    """Register the bundled IPAexGothic (``matplotlib-fontja``) and return its family name."""
    try:
        from matplotlib import font_manager
        from matplotlib_fontja import get_font_ttf_path
    except ImportError:
        return None
    font_manager.fontManager.addfont(get_font_ttf_path())
    return "IPAexGothic"


def grid_figure(cells: list[GridCell], currency: str) -> Any | None:
    """The grid as a matplotlib figure (None when no cell has a difference to show): tasks and
    arms in the cells' order, base first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not any(c.diff is not None for c in cells):
        return None
    tasks = list(dict.fromkeys(c.task for c in cells))
    arms = list(dict.fromkeys(c.arm for c in cells))
    arms = ([BASE] if BASE in arms else []) + [x for x in arms if x != BASE]
    by = {(c.task, c.arm): c for c in cells}
    vals = np.full((len(tasks), len(arms)), np.nan)
    for i, t in enumerate(tasks):
        for j, arm in enumerate(arms):
            c = by.get((t, arm))
            if c is not None and c.diff is not None:
                vals[i, j] = c.diff
    span = max(1.0, float(np.nanmax(np.abs(vals))))
    fig, ax = plt.subplots(figsize=(2.4 + 1.9 * len(arms), 1.3 + 0.95 * len(tasks)))
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#eeeeee")
    im = ax.imshow(vals, cmap=cmap, vmin=-span, vmax=span, aspect="auto")
    cur = currency
    for i, t in enumerate(tasks):
        for j, arm in enumerate(arms):
            c = by.get((t, arm))
            if c is None:
                ax.text(j, i, "not run", ha="center", va="center", fontsize=8, color="#888")
                continue
            head = "base (ref)" if arm == BASE else ("—" if c.diff is None else f"{c.diff:+.2f}" + (" *" if c.significant else ""))
            cost = "—" if c.cost_per_1k is None else money(c.cost_per_1k, cur)
            dark = c.diff is not None and abs(c.diff) > 0.6 * span
            ax.text(j, i - 0.12, head, ha="center", va="center", fontsize=14,
                    color="white" if dark else "black")
            ax.text(j, i + 0.22, f"{cost} / 1k", ha="center", va="center", fontsize=10, color="white" if dark else "#333")
    ax.set_xticks(range(len(arms)), arms, fontsize=12)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=12)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("arm − base (score 0–10)")
    ax.set_title("arm − base: * = significant (Holm); cost per 1,000 queries / アーム − base（* = 有意）",
                 fontsize=11, pad=28)
    return fig


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json
    from pathlib import Path

    ap = argparse.ArgumentParser(description="Draw a run's decision grid from its summary.json")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    record = json.loads((args.run_dir / "summary.json").read_text(encoding="utf-8"))
    import matplotlib

    matplotlib.use("Agg")
    font = japanese_font()
    with matplotlib.rc_context({"font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}):
        fig = grid_figure(cells_from_record(record), record.get("config", {}).get("cost", {}).get("currency", "USD"))
        if fig is None:
            raise SystemExit("no differences to draw")
        fig.savefig(args.out, dpi=80, bbox_inches="tight")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
