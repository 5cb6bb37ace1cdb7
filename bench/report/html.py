"""The self-contained HTML report (``report.html``): summary table, forest plot of per-arm CIs,
score distributions, cost vs quality, paired differences, recommendation, extra Markdown
sections and a per-item browser with filters. Plots are matplotlib (Agg) PNGs embedded as
base64; the page references nothing on the network.

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
from bench.report.fmt import fmt as _fmt
from bench.report.fmt import money as _money
from bench.types import ArmSummary

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_TEXT = 4000  # characters of question / answer kept per item in the browser
MAX_PASSAGE = 600


def _ascii(s: str) -> str:
    """Plot labels stay ASCII: matplotlib's bundled font has no CJK glyphs."""
    return s if s.isascii() else s.encode("ascii", "backslashreplace").decode()


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def plots(a: Analysis) -> dict[str, str]:
    """Forest plot, score distributions and cost-vs-quality as data: URIs ("" when empty; none
    where matplotlib is not installed, e.g. a GPU box set up from ``make gpu-wheels``)."""
    try:
        import matplotlib
    except ImportError:
        log.warning("matplotlib is not installed: report.html has no plots")
        return {}

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    st = [s for s in a.stats if s.judge == a.judge and s.mean is not None]
    if not st:
        return out
    labels = [_ascii(f"{s.task} / {s.arm}") for s in st]
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
                 and r["judge"] == a.judge and r["score"] is not None] for arm in arms]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(range(1, len(arms) + 1), [_ascii(x) for x in arms], rotation=30)
        for i, d in enumerate(data, start=1):
            ax.scatter([i] * len(d), d, s=8, alpha=0.4, color="gray")
        ax.set_ylim(-0.5, 10.5)
        ax.set_title(_ascii(t), fontsize=9)
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
            ax.annotate(_ascii(f"{task}/{arm}"), (x, yv), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(_ascii(f"total cost for {a.prices.queries} queries ({a.prices.currency})"))
        ax.set_ylabel("mean score 0-10")
        ax.grid(alpha=0.3)
        out["cost"] = _png(fig)
    return out


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
        for line in p.read_text(encoding="utf-8").splitlines():
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
        {"task": r.task, "en": md.renderInline(r.en), "ja": md.renderInline(r.ja), "significant": r.significant}
        for r in a.recommendations
    ]
    return env.get_template("report.html.j2").render(
        run_id=a.run_dir.name, config=config, provenance=json.dumps(provenance, ensure_ascii=False, indent=2),
        summaries=summaries, a=a, pairs=[p for p in a.pairs if p.judge == a.judge], recs=recs,
        overall={"en": md.renderInline(a.overall_en), "ja": md.renderInline(a.overall_ja)},
        show_en=lang in ("en", "both"), show_ja=lang in ("ja", "both"),
        plots={"forest": "", "distributions": "", "cost": "", **plots(a)}, costs=list(a.costs.values()), sections=[md.render(s) for s in sections_md],
        browser_json=data,
    )


def write_html(
    a: Analysis, summaries: list[ArmSummary], config: dict[str, Any], provenance: dict[str, Any],
    sections_md: list[str], out: Path,
) -> Path:
    html = render_html(a, summaries, config, provenance, sections_md)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
