"""Writing files so that a crash or a full disk never leaves half a file: ``atomic_write`` (temp file,
fsync, ``os.replace``), ``DiskError`` (one clear message for ENOSPC, EACCES, EROFS …), and the
test-only fault injection that the crash, kill and full-disk tests drive through ``RAGFT_FAULT``.

Example: ``atomic_write(run_dir / "report.md", text)``
"""

from __future__ import annotations

import errno
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from bench.errors import RagftError

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
DISK_ERRNOS = _FULL | _DENIED
_counts: Counter[str] = Counter()


class DiskError(RagftError):
    """A write failed because the disk is full or the folder is not writable."""

    def __init__(self, path: Path | str, err: OSError | str) -> None:
        self.path = str(path)
        code = err.errno if isinstance(err, OSError) else None
        reason = (err.strerror or str(err)) if isinstance(err, OSError) else err
        self.full = code in _FULL or "full" in str(reason).lower()
        hint = (
            "free disk space" if self.full
            else "make the folder writable (or choose another --output-dir / $RAGFT_CACHE)"
        )
        super().__init__(
            f"cannot write {path}: {reason}. Everything written before is kept and readable; "
            f"{hint}, then run the same command again to resume."
        )


def disk_error(path: Path | str, e: OSError) -> RagftError | OSError:
    """``DiskError`` for a full or read-only disk; any other OSError unchanged."""
    return DiskError(path, e) if e.errno in DISK_ERRNOS else e


def fault(kind: str) -> str | None:
    """Test-only fault injection, unset in normal use. ``RAGFT_FAULT=<kind>:<n>:<mode>[,…]`` acts on
    the n-th write of ``kind`` in this process (``predictions``/``grades`` appends, a file name such as
    ``report.html`` for atomic writes, ``cache``, ``adapter``, or a stage marker such as ``index``).
    Modes: ``kill`` (SIGKILL), ``torn`` (write half, then SIGKILL; JSONL appends and atomic writes),
    ``int`` (SIGINT), ``stop`` (SIGSTOP: alive but frozen), ``enospc`` / ``eacces`` (the write fails)."""
    spec = os.environ.get("RAGFT_FAULT")
    if not spec:
        return None
    _counts[kind] += 1
    for one in spec.split(","):
        k, _, rest = one.partition(":")
        n, _, mode = rest.partition(":")
        if k == kind and n.isdigit() and int(n) == _counts[kind]:
            return mode or "kill"
    return None


def act(mode: str | None, path: Path | str = "") -> None:
    """Carry out a signal or error fault (``torn`` is the caller's: it knows what half a write is)."""
    if mode in ("kill", "torn"):
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "int":
        os.kill(os.getpid(), signal.SIGINT)
    elif mode == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif mode == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    elif mode == "eacces":
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def checkpoint(kind: str) -> None:
    """A named point in a stage where the kill tests may strike (no-op unless ``RAGFT_FAULT`` names it)."""
    act(fault(kind), kind)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a write may be short, e.g. on a nearly full disk)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never
    half of it, even after a SIGKILL or a full disk (then the old file stays and ``DiskError`` says so)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = fault(path.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            if mode == "torn":
                write_all(fd, raw[: len(raw) // 2])
                os.fsync(fd)
            act(mode, path)
            write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise disk_error(path, e) from None
    _fsync_dir(path.parent)


def update_json_entry(path: Path, key: str, value: Any, *, indent: int = 1) -> None:
    """Set ``key`` of the JSON object in ``path`` to ``value`` and write it back atomically (a run
    file keyed by task, written by one arm per task); an unreadable or missing file starts empty."""
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            data = {}
    data[key] = value
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=indent))
