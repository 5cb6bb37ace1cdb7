"""CLI commands of the judge: ``ragft grade`` (re-grade a run, no regeneration) and ``ragft judge-check``.

Example: ``ragft grade reports/demo-1a2b3c4d --judge configs/judge-gemma.toml``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bench.cli import app, console
from bench.errors import RagftError


@app.command()
def grade(
    run_dir: Annotated[Path, typer.Argument(help="a reports/<run-id> folder with predictions")],
    judge: Annotated[Path, typer.Option("--judge", help="TOML file with [[judges]] tables (or an experiment config)")],
) -> None:
    """Grade a run's saved predictions with other judges (never regenerates), then rewrite the report."""
    from bench.config.judges import load_judges
    from bench.judges.grading import grade_run
    from bench.report.writer import write_reports
    from bench.store.lock import run_lock

    if not run_dir.is_dir():
        raise RagftError(f"{run_dir}: no such run directory")
    specs = load_judges(judge)
    with run_lock(run_dir):
        n = grade_run(run_dir, specs, console=console)
        write_reports(run_dir)
    console.print(f"graded {n} new; report: {run_dir / 'report.md'}")


@app.command("judge-check")
def judge_check(
    judge: Annotated[Path, typer.Option("--judge", help="TOML file with [[judges]] (the first llm judge is checked)")] = Path("configs/judge-gemma.toml"),
    data: Annotated[Path, typer.Option(help="Japanese MT-Bench folder")] = Path("../shared/data/mt_bench_ja"),
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N questions (4 judge calls each)")] = None,
    with_reference: Annotated[bool, typer.Option("--with-reference/--no-reference", help="show the reference answer to the judge")] = False,
    output: Annotated[Path | None, typer.Option(help="JSON result file (default reports/judge-check/<judge>.json)")] = None,
    run_dir: Annotated[Path | None, typer.Option(help="also store the result as RUN_DIR/judge_check.json (shown in its report)")] = None,
) -> None:
    """Score MT-Bench reference answers vs truncated, off-topic and wrong-language ones: a usable judge separates them."""
    from rich.console import Console
    from rich.markdown import Markdown

    from bench.backends import load_backend
    from bench.config.judges import load_judges
    from bench.judges.check import load_mt_bench, run_check
    from bench.models import cache_dir
    from bench.progress import progress_bar
    from bench.report.sections.judge import check_markdown
    from bench.store.cache import GenerationCache

    specs = [s for s in load_judges(judge) if s.kind == "llm"]
    if not specs:
        raise RagftError(f"{judge}: no [[judges]] table with kind = \"llm\" to check")
    spec = specs[0]
    pool = load_mt_bench(data)  # off-topic answers come from any question of another category
    examples = pool[:limit] if limit else pool
    if not examples:
        raise RagftError(f"{data}: no question with a reference answer")
    backend = load_backend(spec.model)
    cache = GenerationCache(cache_dir() / "generations.sqlite")
    try:
        with progress_bar(console) as bar:
            job = bar.add_task("judge-check", total=4 * len(examples) * spec.repeats)
            res = run_check(spec, examples, backend, with_reference=with_reference, cache=cache,
                            progress=lambda n: bar.advance(job, n), pool=pool)
    finally:
        cache.close()
        backend.close()
    out = output or Path("reports") / "judge-check" / f"{res['judge'].replace(':', '_').replace('@', '_')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(res, ensure_ascii=False, indent=2)
    out.write_text(text, encoding="utf-8")
    if run_dir is not None:
        from bench.judges.check import record_check
        from bench.report.writer import write_reports

        record_check(run_dir, res)  # also re-measures the run's judge credibility
        write_reports(run_dir)
    Console().print(Markdown(check_markdown(res)))
    console.print(f"wrote {out}")
