"""The self-contained HTML report (``report.html``), decision first: the task × arm grid of the
difference against base with one decision line per task, the reasoning in the chosen language
(the other folded), then the summary table, forest plot of per-arm CIs, score distributions,
cost vs quality, paired differences, extra Markdown sections and a per-item browser with
filters. Plots are matplotlib (Agg) PNGs embedded as base64, with Japanese text drawn in the
bundled IPAexGothic (``matplotlib-fontja``); the page references nothing on the network.

Example: ``write_html(analysis, summaries, extra_markdown, out=Path("reports/x/report.html"))``
(normally called by ``ragft report RUN_DIR`` / ``ragft run``)
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

from bench.report.analysis import Analysis
from bench.report.decision import decision_line, grid_cells, grid_figure, japanese_font
from bench.report.fmt import fmt as _fmt
from bench.report.fmt import money as _money
from bench.store.disk import atomic_write
from bench.types import ArmSummary

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_TEXT = 4000  # characters of question / answer kept per item in the browser
MAX_PASSAGE = 600


def _label(s: str) -> str:
    """A plot label: as is with the Japanese font; escaped to ASCII without it (no tofu boxes)."""
    return s if s.isascii() or _FONT else s.encode("ascii", "backslashreplace").decode()


_FONT: str | None = None


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def plots(a: Analysis) -> dict[str, str]:
    """Decision grid, forest plot, score distributions and cost-vs-quality as data: URIs ("" when empty; none
    where matplotlib is not installed, e.g. a GPU box set up from ``make gpu-wheels``)."""
    try:
        import matplotlib
    except ImportError:
        log.warning("matplotlib is not installed: report.html has no plots")
        return {}

    matplotlib.use("Agg")
    global _FONT
    _FONT = japanese_font()
    family = [_FONT, "DejaVu Sans"] if _FONT else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}):
        return _plots(a)


def _plots(a: Analysis) -> dict[str, str]:
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    grid = grid_figure(grid_cells(a), a.prices.currency)
    if grid is not None:
        out["grid"] = _png(grid)
    st = [s for s in a.stats if s.judge == a.judge_of(s.task) and s.mean is not None]
    if not st:
        return out
    labels = [_label(f"{s.task} / {s.arm}") for s in st]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(st) + 1))
    y = list(range(len(st)))[::-1]
    colors = plt.get_cmap("tab10")
    tasks = list(dict.fromkeys(s.task for s in st))
    for yi, s in zip(y, st, strict=True):
        m = float(s.mean or 0.0)
        lo = s.ci_low if s.ci_low is not None else m
        hi = s.ci_high if s.ci_high is not None else m
        ax.errorbar([m], [yi], xerr=[[m - lo], [hi - m]], fmt="o", color=colors(tasks.index(s.task) % 10),
                    capsize=3)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 10)
    ax.set_xlabel("mean score 0-10 (95% bootstrap CI)")
    ax.grid(axis="x", alpha=0.3)
    out["forest"] = _png(fig)

    # score distributions: one panel per task, one box per arm
    n = len(tasks)
    fig, axes = plt.subplots(1, n, figsize=(max(4, 2.6 * n), 3), squeeze=False)
    for ax, t in zip(axes[0], tasks, strict=True):
        arms = a.arms[t]
        data = [[float(r["score"]) for r in a.rows if r["task"] == t and r["arm"] == arm
                 and r["judge"] == a.judge_of(t) and r["score"] is not None] for arm in arms]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(arms) + 1), [_label(x) for x in arms], rotation=30)
        for i, d in enumerate(data, start=1):
            ax.scatter([i] * len(d), d, s=8, alpha=0.4, color="gray")
        ax.set_ylim(-0.5, 10.5)
        ax.set_title(_label(t), fontsize=9)
    axes[0][0].set_ylabel("score 0-10")
    out["distributions"] = _png(fig)

    pts: list[tuple[str, str, float, float]] = []
    for s in st:
        cost = a.costs.get((s.task, s.arm))
        total = cost.total_money(a.prices.queries) if cost is not None else None
        if total is not None:
            pts.append((s.task, s.arm, total, float(s.mean or 0.0)))
    if pts:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for task, arm, x, yv in pts:
            ax.scatter([x], [yv], color=colors(tasks.index(task) % 10))
            ax.annotate(_label(f"{task}/{arm}"), (x, yv), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(_label(f"total cost for {a.prices.queries} queries ({a.prices.currency})"))
        ax.set_ylabel("mean score 0-10")
        ax.grid(alpha=0.3)
        out["cost"] = _png(fig)
    return out


def _inline_images(html: str, run_dir: Path) -> str:
    """``<img src="x.png">`` of a PNG a section wrote into the run directory -> a data: URI (the page
    loads nothing, not even local files)."""
    import re

    def sub(m: re.Match[str]) -> str:
        p = run_dir / m.group(1)
        if "/" in m.group(1) or not p.is_file():
            return m.group(0)
        return 'src="data:image/png;base64,' + base64.b64encode(p.read_bytes()).decode() + '"'

    return re.sub(r'src="([A-Za-z0-9_.\-]+\.png)"', sub, html)


def _corpus_passages(config: dict[str, Any], wanted: set[str], config_source: str | None) -> dict[str, str]:
    """Texts of the retrieved passage ids, from the tasks' corpora when they can be found
    (relative corpus paths are relative to the config file named in provenance.json)."""
    if not wanted:
        return {}
    from bench.config import bundled_data_dir

    base = Path(config_source).resolve().parent if config_source else Path(".")

    out: dict[str, str] = {}
    for t in config.get("tasks", []):
        c = t.get("corpus")
        if not c:
            continue
        p = bundled_data_dir() / c[len("bundled:"):] if c.startswith("bundled:") else base / Path(c).expanduser()
        if not p.is_file():
            continue
        for line in p.read_text(encoding="utf-8", errors="replace").split("\n"):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            for ps in doc.get("passages", []):
                if ps.get("id") in wanted:
                    out[ps["id"]] = str(ps.get("text", ""))[:MAX_PASSAGE]
    return out


def browser_data(a: Analysis, config: dict[str, Any], config_source: str | None = None) -> dict[str, Any]:
    items: dict[tuple[str, str], dict[str, Any]] = {}
    hit_ids: set[str] = set()
    for r in a.rows:
        key = (r["task"], r["example_id"])
        it = items.setdefault(key, {
            "task": r["task"], "id": r["example_id"], "question": (r["question"] or "")[:MAX_TEXT],
            "reference": (r["reference"] or "")[:MAX_TEXT], "arms": {},
        })
        arm = it["arms"].setdefault(r["arm"], {
            "answer": (r["answer"] or "")[:MAX_TEXT], "failed": r["failed"], "error": r["error"],
            "hits": r["hits"], "grades": {},
        })
        if r["judge"]:
            arm["grades"][r["judge"]] = r["score"]
        hit_ids.update(r["hits"])
    return {"items": list(items.values()), "passages": _corpus_passages(config, hit_ids, config_source),
            "judge": a.judge, "arms": sorted({r["arm"] for r in a.rows}),
            "tasks": a.tasks}


def render_html(
    a: Analysis,
    summaries: list[ArmSummary],
    config: dict[str, Any],
    provenance: dict[str, Any],
    sections_md: list[str],
) -> str:
    import jinja2
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["f"] = _fmt
    env.filters["money"] = lambda x: _money(x, a.prices.currency)
    data = json.dumps(browser_data(a, config, provenance.get("config_source")), ensure_ascii=False).replace("<", "\\u003c")
    lang = a.settings.language
    recs = [
        {"task": r.task, "en": md.renderInline(r.en), "ja": md.renderInline(r.ja), "significant": r.significant,
         "line_en": md.renderInline(decision_line(r, "en")), "line_ja": md.renderInline(decision_line(r, "ja"))}
        for r in a.recommendations
    ]
    primary = "ja" if lang == "ja" else "en"  # "both": English open, Japanese folded
    return env.get_template("report.html.j2").render(
        run_id=a.run_dir.name, config=config, provenance=json.dumps(provenance, ensure_ascii=False, indent=2),
        summaries=summaries, a=a, pairs=[p for p in a.pairs if p.judge == a.judge_of(p.task)], recs=recs,
        overall={"en": md.renderInline(a.overall_en), "ja": md.renderInline(a.overall_ja)},
        rule={"en": md.renderInline(a.rule_en), "ja": md.renderInline(a.rule_ja)},
        show_en=lang in ("en", "both"), show_ja=lang in ("ja", "both"), primary=primary,
        plots={"grid": "", "forest": "", "distributions": "", "cost": "", **plots(a)}, costs=list(a.costs.values()), sections=[_inline_images(md.render(s), a.run_dir) for s in sections_md],
        browser_json=data,
    )


def write_html(
    a: Analysis, summaries: list[ArmSummary], config: dict[str, Any], provenance: dict[str, Any],
    sections_md: list[str], out: Path,
) -> Path:
    html = render_html(a, summaries, config, provenance, sections_md)
    atomic_write(out, html)
    return out
