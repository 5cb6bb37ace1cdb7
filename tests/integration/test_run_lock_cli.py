"""`ragft run` twice on one run folder: while the first is alive (frozen with SIGSTOP after its
first prediction: alive, lock held) the second refuses with a message naming it; after the first
is SIGKILLed its lock is taken over and the run resumes to the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.counters import tally
from tests.integration.test_crash_resume import _config, _keys

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_second_run_refused_then_stale_lock_taken_over(tiny_model: Path, tmp_path: Path) -> None:
    cfg = _config(tmp_path, tiny_model)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGFT_CACHE": str(tmp_path / "cache")}
    env.pop("RAGFT_FAULT", None)
    cmd = [sys.executable, "-m", "bench", "run", str(cfg), "--output-dir", str(out)]
    first = subprocess.Popen(cmd, env={**env, "RAGFT_FAULT": "predictions:2:stop"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _, status = os.waitpid(first.pid, os.WUNTRACED)  # returns once it froze itself (or died)
        assert os.WIFSTOPPED(status), status
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr[-2000:]
        msg = " ".join(second.stderr.split())
        assert f"is being written by another ragft process: pid {first.pid} on host" in msg, msg
        assert len(_keys(out / "t1" / "predictions.jsonl")) == 1  # the refused run wrote nothing
    finally:
        first.kill()
        os.waitpid(first.pid, 0)
    third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"took over the lock of an interrupted run (pid {first.pid}" in " ".join(third.stderr.split())
    preds = _keys(out / "t1" / "predictions.jsonl")
    assert len(preds) == len(set(preds)) == 10
    tally("faults injected", "second `ragft run` refused")
    tally("kills survived per stage", "stale run lock")
