"""The one progress bar of ragft (rich): counts, elapsed time and ETA; quiet when not a terminal.

Example: ``with progress_bar(console) as bar: job = bar.add_task("generate", total=n)``
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
        transient=False, disable=not console.is_terminal,
    )
