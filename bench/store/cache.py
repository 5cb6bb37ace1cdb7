"""The cross-run generation cache: content-addressed completions in SQLite (WAL mode).

The key is ``GenRequest.key(model fingerprint)``: a hash of the model, adapter, messages and
sampling, so the same request made by any run, the prompt search or a judge is generated once.

``read=False`` (``ragft run --no-cache``, ``[run] cache = false``) ignores what is stored —
every request is generated again — and overwrites the entries with the new completions.

Example: ``cache = GenerationCache(cache_dir() / "generations.sqlite"); cache.get(key)``
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pydantic import ValidationError

from bench.types import Completion


class GenerationCache:
    """Content-addressed completions (key = hash of model, adapter, messages, sampling), in SQLite WAL."""

    def __init__(self, path: Path, *, read: bool = True) -> None:
        self.read = read
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS gen (key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
        self.db.commit()

    def get(self, key: str) -> Completion | None:
        if not self.read:
            return None
        row = self.db.execute("SELECT completion FROM gen WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Completion.model_validate_json(row[0])
        except ValidationError:
            return None

    def put(self, key: str, c: Completion) -> None:
        self.db.execute("INSERT OR REPLACE INTO gen VALUES (?, ?)", (key, c.model_dump_json()))
        self.db.commit()

    def close(self) -> None:
        self.db.close()
