"""The synth journal: every generator outcome appended to ``generations.jsonl`` as it arrives.

A rerun reads it back and asks the generator only for what is missing: units never answered,
answers to an older prompt (the request key differs) and failed generations (a failure is a
transient error of the backend, retried). A torn last line (a killed run) is cut on open.

Example: ``j = Journal(Path("synth/generations.jsonl")); j.get("qa", "qa:d1-p1")``
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

Status = Literal["ok", "failed"]


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str  # "qa" | "quiz" | "document" | "support" | "closed_book"
    unit: str  # a unit id (generation) or an item id (checks)
    key: str  # messages_key of the request
    status: Status
    text: str = ""
    finish_reason: str = ""
    error: str = ""
    generator: str = ""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[tuple[str, str], Entry] = {}
        self._fh: IO[str] | None = None
        if path.is_file():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        good = raw if raw.endswith(b"\n") or not raw else raw[: raw.rfind(b"\n") + 1]
        if len(good) != len(raw):
            log.warning("%s: cut a torn last line (an interrupted run)", self.path)
            with self.path.open("r+b") as fh:
                fh.truncate(len(good))
        for n, line in enumerate(good.decode("utf-8", errors="replace").split("\n"), start=1):
            if not line.strip():
                continue
            try:
                e = Entry.model_validate_json(line)
            except ValidationError:
                log.warning("%s:%d: not a journal entry, ignored", self.path, n)
                continue
            self.entries[(e.stage, e.unit)] = e

    def get(self, stage: str, unit: str) -> Entry | None:
        return self.entries.get((stage, unit))

    def done(self, stage: str, unit: str, key: str) -> bool:
        e = self.entries.get((stage, unit))
        return e is not None and e.key == key and e.status == "ok"

    def append(self, entry: Entry) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(entry.model_dump(), ensure_ascii=False) + "\n")
        self._fh.flush()
        self.entries[(entry.stage, entry.unit)] = entry

    def sync(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None
