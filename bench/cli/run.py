"""``ragft run``, ``report``, ``list`` and ``prepare``.

Example: ``ragft run configs/demo.toml --limit 5 --tasks minato_qa``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench import registry
from bench.cli import app, console
from bench.errors import RagftError


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment TOML file")],
    limit: Annotated[int | None, typer.Option(min=1, help="at most N examples per task")] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="only these tasks (repeatable)")] = None,
    arms: Annotated[list[str] | None, typer.Option("--arms", help="only these arms (repeatable)")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="where run folders go (default: run.output_dir)")] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="root for 'data:' task paths (default: run.data_dir, then $RAGFT_DATA_DIR)")
    ] = None,
) -> None:
    """Run every task under every arm, grade, and write reports/<run-id>/."""
    from bench.config import load_config
    from bench.engine.runner import Runner

    cfg = load_config(config, data_dir=data_dir)
    Runner(cfg, limit=limit, tasks=tasks, arms=arms, output_dir=output_dir, console=console).run()


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="a reports/<run-id> folder")]) -> None:
    """Rewrite summary.json and report.md from a run's saved predictions and grades."""
    from bench.report.writer import write_reports
    from bench.store.lock import run_lock

    if not run_dir.is_dir():
        raise RagftError(f"{run_dir}: no such run directory")
    with run_lock(run_dir):
        write_reports(run_dir)
    console.print(f"wrote {run_dir / 'report.md'}" + (" and report.html" if (run_dir / "report.html").is_file() else ""))


@app.command("list")
def list_(
    runs_dir: Annotated[Path, typer.Option(help="where run folders are")] = Path("reports"),
) -> None:
    """List bundled tasks, arms, backends and existing runs."""
    from bench.config import bundled_data_dir

    out = Console()
    data = bundled_data_dir()
    out.print("[bold]Bundled tasks[/] (path = bundled:…)")
    for sub in sorted(p for p in data.iterdir() if p.is_dir()):
        out.print(f"  {sub.name}: {', '.join(sorted(x.name for x in sub.iterdir()))}")
    out.print("[bold]Arms[/]")
    for k, v in registry.describe("arm").items():
        out.print(f"  {k}: {v}")
    out.print("[bold]Backends[/]: " + ", ".join(sorted(registry.names("backend"))))
    out.print(f"[bold]Runs[/] in {runs_dir}")
    if runs_dir.is_dir():
        for r in sorted(runs_dir.iterdir()):
            if (r / "selection.json").is_file():
                out.print(f"  {r.name}" + ("  (report.md)" if (r / "report.md").is_file() else ""))


@app.command()
def prepare() -> None:
    """Convert the embedded Gemma 3 270M to a safetensors folder in the cache (done once)."""
    from bench.models import prepare_embedded

    console.print(f"embedded model at {prepare_embedded()}")
