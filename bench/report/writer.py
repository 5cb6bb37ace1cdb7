"""Reports from a run directory: ``summary.json``, ``report.md`` (task × arm table, recommendation,
paired differences, cost, feature sections, provenance), ``report.html`` and ``results.csv``.

The run directory is read once (``RunData``); every file is replaced atomically, so a reader
never sees half a report. Feature sections are the ``report_section`` entries of ``bench.registry``.

Example: ``write_reports(Path("reports/demo-1a2b3c4d"))``  (also ``ragft report RUN_DIR``)
"""

from __future__ import annotations

from pathlib import Path

from bench import registry
from bench.report.analysis import with_costs
from bench.report.markdown import markdown_sections, render_markdown
from bench.report.outputs import output_caveats
from bench.report.recommend import analyse
from bench.report.results import write_exports
from bench.report.rundata import RunData
from bench.report.summary import summarise
from bench.store.files import record_caveats
from bench.store.rundir import RunStore
from bench.types import RunRecord


def extra_sections(rd: RunData) -> list[str]:
    """Every registered report section that has something to say for this run."""
    out: list[str] = []
    for name in registry.names("report_section"):
        text = registry.load("report_section", name)(rd)
        if text:
            out.append(str(text).rstrip() + "\n")
    return out


def write_reports(run_dir: Path) -> RunRecord:
    rd = RunData.load(run_dir)
    store = RunStore(run_dir)
    rd.summaries = summarise(rd)
    # the output checks are the report's own caveats; the recommendation reads them with the others
    rd.caveats = record_caveats(run_dir, "outputs", output_caveats(rd, rd.report.degenerate_share))
    analysis = analyse(rd)
    summaries = with_costs(rd.summaries, analysis)
    rd.summaries = summaries
    record = RunRecord(
        run_id=rd.run_id, config=rd.config, provenance=rd.provenance, summaries=summaries,
        paired_diffs=[p.to_json() for p in analysis.pairs],
        recommendation=analysis.recommendation_text(),
    )
    store.write_json("summary.json", record.model_dump(mode="json"))
    extra = extra_sections(rd)
    store.write_text("report.md", render_markdown(
        rd.run_id, summaries, rd.selection, rd.provenance, rd.config, markdown_sections(analysis) + extra
    ))
    write_exports(run_dir, analysis.rows)
    if analysis.settings.html:
        from bench.report.html import write_html

        write_html(analysis, summaries, rd.config, rd.provenance, extra, run_dir / "report.html")
    return record
