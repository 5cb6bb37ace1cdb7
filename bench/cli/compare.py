"""``ragft compare RUN_A RUN_B``: paired differences B − A per task and arm on the same items.

Example: ``ragft compare reports/demo-1a2b3c4d reports/demo-5e6f7a8b``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli import app, console
from bench.errors import RagftError
from bench.report.compare import compare_runs, render_html, render_markdown


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="baseline run folder (A)")],
    run_b: Annotated[Path, typer.Argument(help="new run folder (B)")],
    output_dir: Annotated[Path | None, typer.Option(help="where to write the comparison (default: RUN_B)")] = None,
) -> None:
    """Paired differences B − A per task and arm on the same items; flags incomparable settings."""
    for d in (run_a, run_b):
        if not d.is_dir():
            raise RagftError(f"{d}: no such run directory")
    c = compare_runs(run_a, run_b)
    out = output_dir or run_b
    out.mkdir(parents=True, exist_ok=True)
    stem = f"compare-{run_a.name}-vs-{run_b.name}"
    md = render_markdown(c)
    (out / f"{stem}.md").write_text(md, encoding="utf-8")
    (out / f"{stem}.html").write_text(render_html(c), encoding="utf-8")
    typer.echo(md)
    console.print(f"wrote {out / (stem + '.md')} and .html")
