"""Data commands: ``ragft validate`` (check user files, every problem) and ``ragft export-jaster``.

Example: ``ragft validate tasks/data/qa --corpus tasks/data/corpus.jsonl``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bench.cli import app
from bench.errors import RagftError


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="a data file or folder (corpus/qa/document JSONL or jaster JSON), "
                                               "or an experiment config (.toml): the config and its tasks' files")],
    kind: Annotated[str | None, typer.Option(help="corpus | qa | document | jaster (default: detected)")] = None,
    corpus: Annotated[Path | None, typer.Option(help="corpus JSONL to check gold_passages / doc_id links against")] = None,
    max_problems: Annotated[int, typer.Option(min=1, help="print at most this many problems")] = 200,
) -> None:
    """Check data files and report every problem as file:line: field: message (exit 1 if any)."""
    from tasks.validate import KINDS
    from tasks.validate import validate as run_validate

    if kind is not None and kind not in KINDS:
        raise RagftError(f"--kind: expected one of {', '.join(KINDS)}, got '{kind}'")
    out = Console(highlight=False, soft_wrap=True)  # one problem per line, greppable
    if kind is None and _is_config(path):
        report = _validate_config(path, out)
    else:
        report = run_validate(path, kind, corpus)  # type: ignore[arg-type]
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


def _is_config(path: Path) -> bool:
    try:
        return path.suffix.lower() == ".toml" and path.is_file()
    except OSError:  # e.g. a name too long for the file system: the data validator reports it
        return False


def _validate_config(path: Path, out: Console) -> Any:
    """An experiment config (stops at its first problem), then every data file of its tasks
    (the ``qa-jsonl``, ``document-jsonl`` and ``jaster`` ones; public sets are read as distributed)."""
    from bench.config import load_config
    from bench.errors import InputError
    from tasks.validate import Problem, Report
    from tasks.validate import validate as run_validate

    try:
        cfg = load_config(path)
    except InputError as e:  # a config problem is a problem like any other (exit 1), not a crash
        return Report(files=[], problems=[Problem(e.path, e.line, e.field, f"expected {e.expected}" + (
            f", got {e.got!r}" if e.got is not None else ""))])
    out.print(f"{path}: config, {len(cfg.tasks)} task(s), arms {', '.join(cfg.arms)}")
    total = Report(files=[], problems=[])
    seen: set[tuple[str, str]] = set()
    for tc in cfg.tasks:
        kinds = {"qa-jsonl": "qa", "document-jsonl": "document", "jaster": "jaster"}
        if tc.loader not in kinds:
            continue
        task_path = cfg.resolve_path(tc.path)
        corpus = cfg.resolve_path(tc.corpus) if tc.corpus else None
        key = (str(task_path), str(corpus))
        if key in seen:
            continue
        seen.add(key)
        r = run_validate(task_path, kinds[tc.loader], corpus)  # type: ignore[arg-type]
        total.files.extend(r.files)
        total.problems.extend(r.problems)
    return total


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
