"""The one progress bar of ragft (rich): counts, elapsed time and ETA; on a console that is not a
terminal (CI, a log file) a plain line every tenth of the way instead.

Example: ``with progress_bar(console) as bar: job = bar.add_task("generate", total=n)``;
for a stage that reports ``(stage, done, total)``:
``with StageProgress(console, "qa") as cb: build_stack(passages, rc, progress=cb)``
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
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


class StageProgress:
    """A ``(stage, done, total)`` callback that draws one bar per stage (``"embed qa"``), opened on
    the stage's first report; without a terminal it prints ``embed qa: 300/1000 (41 s)`` lines."""

    def __init__(self, console: Console, label: str) -> None:
        self.console = console
        self.label = label
        self._bar: Progress | None = None
        self._jobs: dict[str, TaskID] = {}
        self._t0: dict[str, float] = {}
        self._printed: dict[str, int] = {}
        self._last = time.perf_counter()  # a new stage starts when the previous one last reported

    def __call__(self, stage: str, done: int, total: int) -> None:
        name = f"{stage} {self.label}"
        if stage not in self._t0:
            self._t0[stage] = self._last
            self._printed[stage] = -1
        self._last = time.perf_counter()
        if self.console.is_terminal:
            if self._bar is None:
                self._bar = progress_bar(self.console)
                self._bar.start()
            if stage not in self._jobs:
                self._jobs[stage] = self._bar.add_task(name, total=total)
            self._bar.update(self._jobs[stage], completed=done, total=total)
            return
        tenth = (10 * done) // max(total, 1)
        if done > 0 and (tenth > self._printed[stage] or done >= total):
            self._printed[stage] = tenth
            el = time.perf_counter() - self._t0[stage]
            self.console.print(f"  {name}: {done}/{total} ({el:.0f} s)")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> StageProgress:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
