"""Data commands: ``ragft validate`` (check user files, every problem) and ``ragft export-jaster``.

Example: ``ragft validate tasks/data/qa --corpus tasks/data/corpus.jsonl``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.cli import app
from bench.errors import RagftError


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="a data file or folder (corpus/qa/document JSONL or jaster JSON)")],
    kind: Annotated[str | None, typer.Option(help="corpus | qa | document | jaster (default: detected)")] = None,
    corpus: Annotated[Path | None, typer.Option(help="corpus JSONL to check gold_passages / doc_id links against")] = None,
    max_problems: Annotated[int, typer.Option(min=1, help="print at most this many problems")] = 200,
) -> None:
    """Check data files and report every problem as file:line: field: message (exit 1 if any)."""
    from tasks.validate import KINDS
    from tasks.validate import validate as run_validate

    if kind is not None and kind not in KINDS:
        raise RagftError(f"--kind: expected one of {', '.join(KINDS)}, got '{kind}'")
    report = run_validate(path, kind, corpus)  # type: ignore[arg-type]
    out = Console(highlight=False, soft_wrap=True)  # one problem per line, greppable
    for f, k, n in report.files:
        out.print(f"{f}: {k}, {n} record(s)")
    for p in report.problems[:max_problems]:
        out.print(f"[red]{p}[/]", markup=True)
    if len(report.problems) > max_problems:
        out.print(f"… and {len(report.problems) - max_problems} more")
    if report.problems:
        out.print(f"{len(report.problems)} problem(s)")
        raise SystemExit(1)  # typer.Exit's code is dropped by main() in non-standalone mode
    out.print("[green]ok[/]: no problems found", markup=True)


@app.command("export-jaster")
def export_jaster_cmd(
    config: Annotated[Path, typer.Argument(help="experiment TOML file whose tasks to export")],
    out: Annotated[Path, typer.Argument(help="output root; files go to OUT/VERSION/evaluation/{split}/")],
    version: Annotated[str, typer.Option(help="version folder name")] = "ragft",
    data_dir: Annotated[Path | None, typer.Option(help="root for 'data:' task paths")] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="only these tasks (repeatable)")] = None,
) -> None:
    """Write the config's tasks in llm-jp-eval's evaluation layout (all splits)."""
    from bench.config import load_config
    from tasks.jaster_export import export_jaster
    from tasks.readers import load_task

    cfg = load_config(config, data_dir=data_dir)
    console = Console(stderr=True)
    for tc in cfg.tasks:
        if tasks and tc.name not in tasks:
            continue
        written = export_jaster(load_task(tc, cfg), out, version)
        console.print(f"{tc.name}: {', '.join(str(p) for p in written)}")
