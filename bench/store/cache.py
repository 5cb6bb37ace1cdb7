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

from bench.store.disk import DiskError, act, disk_error, fault
from bench.types import Completion


class GenerationCache:
    """Content-addressed completions (key = hash of model, adapter, messages, sampling), in SQLite WAL."""

    def __init__(self, path: Path, *, read: bool = True) -> None:
        self.read = read
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS gen (key TEXT PRIMARY KEY, completion TEXT NOT NULL)")
            self.db.commit()
        except OSError as e:
            raise disk_error(path, e) from None
        except sqlite3.Error as e:
            raise self._error(e) from None

    def _error(self, e: sqlite3.Error) -> Exception:
        """A full disk or a read-only cache is a ``DiskError`` naming the file; anything else unchanged."""
        code = getattr(e, "sqlite_errorcode", None)
        code = code & 0xFF if isinstance(code, int) else None  # primary code of an extended one
        if code in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR) or (
            code is None and ("full" in str(e) or "readonly" in str(e))
        ):
            return DiskError(self.path, f"{e} (SQLite)")
        return e

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
        try:
            act(fault("cache"), self.path)
            self.db.execute("INSERT OR REPLACE INTO gen VALUES (?, ?)", (key, c.model_dump_json()))
            self.db.commit()
        except OSError as e:
            raise disk_error(self.path, e) from None
        except sqlite3.Error as e:
            self.db.rollback()
            raise self._error(e) from None

    def close(self) -> None:
        self.db.close()
