"""Run directories: append-only JSONL written and fsynced item by item, and atomic JSON files.

A torn last line (a crash mid-write) is detected on open and cut off, so resuming never
reads half a record; every complete line is kept.

Example: ``store = RunStore(Path("reports/demo-1a2b3c4d")); store.append_prediction(p)``
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bench.store.disk import act, atomic_write, disk_error, fault, write_all
from bench.types import Grade, Prediction

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


class JsonlLog:
    """An append-only JSONL file of one record type."""

    def __init__(self, path: Path, model: type[BaseModel]) -> None:
        self.path = path
        self.model = model
        self.repaired = 0
        self.appended = 0
        self._repair()

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if not data:
            return
        end = len(data)
        if not data.endswith(b"\n"):
            end = data.rfind(b"\n") + 1  # 0 when there is no complete line
        else:
            # The last line may end in a newline yet be invalid only if torn mid-record; check it.
            start = data.rfind(b"\n", 0, len(data) - 1) + 1
            try:
                self.model.model_validate_json(data[start:])
            except ValidationError:
                end = start
        if end != len(data):
            log.warning("%s: cut a torn last line (%d bytes)", self.path, len(data) - end)
            self.repaired = len(data) - end
            with self.path.open("r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())

    def read(self) -> Iterator[Any]:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    yield self.model.model_validate_json(line)
                except ValidationError as e:
                    log.warning("%s:%d: skipped an unreadable record (%s)", self.path, n, e.errors()[0]["msg"])

    def append(self, record: BaseModel) -> None:
        """Append one record and fsync it. On a full or read-only disk the file is cut back to its
        last complete record and a ``DiskError`` is raised: what was written before stays readable."""
        line = (record.model_dump_json() + "\n").encode("utf-8")
        self.appended += 1
        mode = fault(self.path.stem)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                before = os.fstat(fd).st_size
                try:
                    if mode == "torn":
                        write_all(fd, line[: len(line) // 2])
                        os.fsync(fd)
                    act(mode, self.path)
                    write_all(fd, line)
                    os.fsync(fd)
                except OSError:
                    try:
                        os.ftruncate(fd, before)  # no partial record left behind
                    except OSError:
                        pass
                    raise
            finally:
                os.close(fd)
        except OSError as e:
            raise disk_error(self.path, e) from None


class RunStore:
    """Everything a run writes: ``config.json``, ``provenance.json``, predictions, grades, summary, report."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.predictions = JsonlLog(root / "predictions.jsonl", Prediction)
        self.grades = JsonlLog(root / "grades.jsonl", Grade)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write(self.root / name, json.dumps(obj, ensure_ascii=False, indent=2, default=str))

    def read_json(self, name: str) -> Any:
        return json.loads((self.root / name).read_text(encoding="utf-8"))

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.root / name, text)

    def append_prediction(self, p: Prediction) -> None:
        self.predictions.append(p)

    def append_grade(self, g: Grade) -> None:
        self.grades.append(g)

    def latest_predictions(self) -> dict[tuple[str, str, str], Prediction]:
        """(task, arm, example_id) -> the last prediction written for it."""
        out: dict[tuple[str, str, str], Prediction] = {}
        for p in self.predictions.read():
            out[(p.task, p.arm, p.example_id)] = p
        return out

    def latest_grades(self) -> dict[tuple[str, str, str, str], Grade]:
        """(task, arm, example_id, judge) -> the last grade written for it."""
        out: dict[tuple[str, str, str, str], Grade] = {}
        for g in self.grades.read():
            out[(g.task, g.arm, g.example_id, g.judge)] = g
        return out
