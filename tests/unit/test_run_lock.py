"""One writer per run folder (bench.store.lock): a second writer is refused with a message naming
the first (pid, host, start time); the lock of a killed holder is taken over. Waits follow the
holder's own signal (a line on its stdout, its exit), never a sleep."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.store.lock import RunLockedError, run_lock
from tests.counters import tally

ROOT = Path(__file__).resolve().parents[2]
HOLDER = (
    "import sys; from pathlib import Path; from bench.store.lock import run_lock\n"
    "with run_lock(Path(sys.argv[1])):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.read()\n"  # hold until the test closes stdin (or kills us)
)


def _holder(run_dir: Path) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert p.stdout is not None and p.stdout.readline() == "locked\n"
    return p


def test_second_writer_is_refused_and_named(tmp_path: Path) -> None:
    p = _holder(tmp_path / "run")
    try:
        with pytest.raises(RunLockedError) as e:
            with run_lock(tmp_path / "run"):
                pass
        msg = str(e.value)
        assert f"pid {p.pid} on host {socket.gethostname()}, started 20" in msg and "--output-dir" in msg
    finally:
        assert p.stdin is not None
        p.stdin.close()
        assert p.wait(timeout=60) == 0
    with run_lock(tmp_path / "run"):  # released on a clean exit, no owner record left
        pass
    assert (tmp_path / "run" / ".lock").read_bytes() == b""
    tally("faults injected", "second writer refused")


def test_lock_of_a_killed_holder_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = _holder(tmp_path / "run")
    (tmp_path / "run" / ".report.html.999.tmp").write_text("<html><body>half")  # a killed writer's leftover
    p.kill()
    assert p.wait(timeout=60) == -signal.SIGKILL
    with caplog.at_level(logging.WARNING, logger="bench.store.lock"), run_lock(tmp_path / "run"):
        assert f"pid {p.pid}" in caplog.text and "took over" in caplog.text
        assert not list((tmp_path / "run").glob(".*.tmp"))
        with run_lock(tmp_path / "run"):  # the holder itself may re-enter (runner -> report)
            pass
    tally("kills survived per stage", "stale run lock")


def test_lock_held_by_a_surviving_child_names_the_dead_parent(tmp_path: Path) -> None:
    """flock belongs to the open file: a child that inherited it keeps the folder locked after its
    parent died; the message says so instead of calling the lock stale."""
    code = (
        "import os, sys; from pathlib import Path; from bench.store.lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        sys.stdout.close(); os.close(1); signal_pause = __import__('signal').pause; signal_pause()\n"
        "    print(pid, flush=True); os._exit(0)\n"  # the parent dies, the child keeps the lock's fd
    )
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.stdout is not None
    child = int(p.stdout.readline())
    assert p.wait(timeout=60) == 0
    try:
        with pytest.raises(RunLockedError, match="has exited, but a process it started still holds the lock"):
            with run_lock(tmp_path / "run"):
                pass
    finally:
        os.kill(child, signal.SIGKILL)
