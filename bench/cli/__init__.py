"""The ``ragft`` command line: one module per command group, registered in ``bench.registry``
(kind ``command``); nothing imports this package.

Example: ``ragft run configs/demo.toml --limit 5 --tasks minato_qa``
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench import registry
from bench.errors import RagftError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="ragft: prompt, RAG or LoRA? Measure it.")
console = Console(stderr=True)

# --data-dir on every command that reads a config's tasks
DataDir = Annotated[
    Path | None, typer.Option(help="root for 'data:' task paths (default: run.data_dir, then $RAGFT_DATA_DIR)")
]


def _load_commands() -> None:
    for name in registry.names("command"):
        registry.load("command", name)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        _load_commands()
        rv = app(standalone_mode=False)
        if rv == 130:  # typer turns KeyboardInterrupt into exit code 130 in non-standalone mode
            raise KeyboardInterrupt
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except RagftError as e:
        console.print(f"[red]error:[/] {e}", markup=True, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: every finished item is saved; run the same command again to resume.")
        sys.exit(130)
    except OSError as e:  # a write no store function wrapped: the same one message
        from bench.store.disk import DISK_ERRNOS, DiskError

        if e.errno not in DISK_ERRNOS:
            raise
        console.print(f"[red]error:[/] {DiskError(e.filename or '?', e)}", markup=True, highlight=False)
        sys.exit(2)
    except Exception as e:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
