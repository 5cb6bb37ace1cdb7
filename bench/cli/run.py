"""``ragft run``, ``report``, ``open``, ``list`` and ``prepare``.

Example: ``ragft run configs/demo.toml --limit 5 --tasks minato_qa``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench import registry
from bench.cli import DataDir, app, console
from bench.errors import RagftError


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment TOML file")],
    limit: Annotated[int | None, typer.Option(min=1, help="at most N examples per task")] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="only these tasks (repeatable)")] = None,
    arms: Annotated[list[str] | None, typer.Option("--arms", help="only these arms (repeatable)")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="where run folders go (default: run.output_dir)")] = None,
    data_dir: DataDir = None,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="read the generation cache (--no-cache: regenerate and overwrite)")
    ] = True,
    mlflow: Annotated[
        bool | None, typer.Option("--mlflow/--no-mlflow", help="log the run to MLflow (default: [tracking] mlflow)")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="show the backend's own log lines (vLLM) instead of vllm.log")
    ] = False,
) -> None:
    """Run every task under every arm, grade, and write reports/<run-id>/."""
    from bench.config import load_config
    from bench.engine.runner import Runner

    cfg = load_config(config, data_dir=data_dir)
    if not cache:
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update={"cache": False})})
    Runner(
        cfg, limit=limit, tasks=tasks, arms=arms, output_dir=output_dir, console=console, mlflow=mlflow,
        verbose=verbose,
    ).run()


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


def latest_run(runs_dir: Path) -> Path | None:
    """The most recently written run folder under ``runs_dir`` (by its summary.json), or None."""
    runs = [r for r in runs_dir.iterdir() if (r / "summary.json").is_file()] if runs_dir.is_dir() else []
    return max(runs, key=lambda r: (r / "summary.json").stat().st_mtime) if runs else None


@app.command("open")
def open_(
    run_dir: Annotated[Path | None, typer.Argument(help="a reports/<run-id> folder (default: the latest run)")] = None,
    runs_dir: Annotated[Path, typer.Option(help="where run folders are (for the latest run)")] = Path("reports"),
    print_only: Annotated[bool, typer.Option("--print", help="print the report's path, do not open a browser")] = False,
) -> None:
    """Open a run's report.html in the default browser (or print its path where there is none)."""
    import webbrowser

    if run_dir is None:
        run_dir = latest_run(runs_dir)
        if run_dir is None:
            raise RagftError(f"no finished run in {runs_dir}/; pass a run folder: ragft open reports/<run-id>")
    if not run_dir.is_dir():
        raise RagftError(f"{run_dir}: no such run directory")
    html = run_dir / "report.html"
    if not html.is_file():
        md = run_dir / "report.md"
        if not md.is_file():
            raise RagftError(f"{run_dir}: no report yet; write it with: ragft report {run_dir}")
        Console().print(f"{md.resolve()}  (no report.html: [report] html = false)", highlight=False)
        return
    opened = False
    if not print_only:
        try:
            opened = webbrowser.open(html.resolve().as_uri())
        except webbrowser.Error:
            opened = False
    Console().print(str(html.resolve()), highlight=False, soft_wrap=True)
    if not print_only and not opened:
        console.print("[yellow]no browser found[/]: open the file above yourself")


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
