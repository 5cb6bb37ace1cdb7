"""One writer per run folder: ``run_lock(run_dir)`` holds ``run_dir/.lock`` for the whole run.

The lock is ``fcntl.flock`` on the open lock file, so the kernel releases it when the holder dies,
however it dies (SIGKILL, OOM killer, power-off of a container): a lock left by a killed run is
never stale in the kernel's eyes and the next run takes it over. The file also records who holds
it (pid, host, start time, command) so that a second run refuses with a message naming the first;
a leftover record whose pid no longer runs on this host is reported as taken over.

Example: ``with run_lock(Path("reports/demo-1a2b3c4d")): ...``
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.errors import RagftError

log = logging.getLogger(__name__)
LOCK_FILE = ".lock"
_held: dict[Path, int] = {}  # run folder -> depth, so one process may re-enter its own lock


class RunLockedError(RagftError):
    """Another live process writes this run folder."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _read_owner(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        owner = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def describe_owner(owner: dict[str, Any]) -> str:
    if not owner:
        return "an unknown process (the lock file holds no owner record)"
    cmd = owner.get("command")
    return (
        f"pid {owner.get('pid', '?')} on host {owner.get('host', '?')}, started {owner.get('started', '?')}"
        + (f" ({cmd})" if cmd else "")
    )


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s writer lock; a second process gets ``RunLockedError`` naming the holder."""
    run_dir.mkdir(parents=True, exist_ok=True)
    key = run_dir.resolve()
    if key in _held:  # already ours (e.g. the runner writing reports inside its own run)
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            host = socket.gethostname()
            extra = ""
            pid = owner.get("pid")
            if owner.get("host") == host and isinstance(pid, int) and not _pid_alive(pid):
                extra = " (that pid has exited, but a process it started still holds the lock: stop it first)"
            raise RunLockedError(
                f"{run_dir} is being written by another ragft process: {describe_owner(owner)}{extra}. "
                "Wait for it to finish or stop it, then run the same command again to resume; "
                "or pass another --output-dir."
            ) from None
        prev = _read_owner(fd)
        if prev:
            log.warning("%s: took over the lock of an interrupted run (%s, no longer running)", run_dir, describe_owner(prev))
        for tmp in run_dir.glob(".*.tmp"):  # half-written files of killed writers (we hold the lock)
            tmp.unlink(missing_ok=True)
        me = {
            "pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv[:4])[:200],
        }
        data = json.dumps(me).encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            try:
                os.ftruncate(fd, 0)  # a clean exit leaves no owner record behind
            except OSError:
                pass
    finally:
        os.close(fd)  # releases the flock
