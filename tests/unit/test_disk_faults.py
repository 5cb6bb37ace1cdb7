"""A full disk (ENOSPC) and a read-only folder (EACCES) while writing predictions, the generation
cache, adapters and the report: one clear ``DiskError`` naming the file, what was on disk before
stays readable, and the same run resumes once space is back.

Faults: ``RAGFT_FAULT=<what>:<n>:enospc|eacces`` makes the n-th write fail inside the store layer
(bench.store.disk), and ``os.write`` is patched to write half a record and then fail, as a disk
filling up mid-write does. chmod is used for EACCES when the tests do not run as root (root
ignores permissions); as root the eacces fault stands in.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from bench.store import disk
from bench.store.disk import DiskError
from tests.counters import tally
from tests.fixture_data import make_tasks

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {"q-te-0": "四百円", "q-te-1": "四百円", "doc-1": "四百円\n環境課"}
N_ITEMS = 10


def _run(cfg: Path, out: Path) -> object:
    return Runner(load_config(cfg), backend=ScriptedBackend(answers=ANSWERS, default="x"), output_dir=out).run()


def _fault(monkeypatch: pytest.MonkeyPatch, spec: str | None) -> None:
    disk._counts.clear()
    if spec:
        monkeypatch.setenv("RAGFT_FAULT", spec)
    else:
        monkeypatch.delenv("RAGFT_FAULT", raising=False)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x]


def _finish_and_check(cfg: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fault(monkeypatch, None)
    r = _run(cfg, out)
    run_dir = out / "t1"
    keys = [(p["task"], p["arm"], p["example_id"]) for p in _lines(run_dir / "predictions.jsonl")]
    assert len(keys) == len(set(keys)) == N_ITEMS
    grades = [(g["task"], g["example_id"], g["judge"]) for g in _lines(run_dir / "grades.jsonl")]
    assert len(grades) == len(set(grades)) == N_ITEMS
    assert (run_dir / "report.md").is_file() and r.failed == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["enospc", "eacces"])
def test_predictions_write_fails_cleanly_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, f"predictions:4:{code}")
    with pytest.raises(DiskError) as e:
        _run(cfg, tmp_path / "out")
    preds = tmp_path / "out" / "t1" / "predictions.jsonl"
    assert str(preds) in str(e.value) and "run the same command again to resume" in str(e.value)
    assert ("No space left on device" if code == "enospc" else "Permission denied") in str(e.value)
    assert len(_lines(preds)) == 3  # what was written before is whole and readable
    _finish_and_check(cfg, tmp_path / "out", monkeypatch)
    tally("faults injected", f"{code.upper()} writing predictions")


def test_disk_full_in_the_middle_of_a_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.write stores half of the 5th record, then fails with ENOSPC: the half is cut again."""
    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, None)
    real_write = os.write
    preds = tmp_path / "out" / "t1" / "predictions.jsonl"
    seen = {"n": 0}

    def filling_disk(fd: int, data: bytes) -> int:  # type: ignore[override]
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if name == str(preds):
            seen["n"] += 1
            if seen["n"] == 5:
                real_write(fd, bytes(data)[: len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(disk.os, "write", filling_disk)
    with pytest.raises(DiskError, match="No space left on device"):
        _run(cfg, tmp_path / "out")
    monkeypatch.setattr(disk.os, "write", real_write)
    raw = preds.read_bytes()
    assert raw.endswith(b"\n") and len(_lines(preds)) == 4
    _finish_and_check(cfg, tmp_path / "out", monkeypatch)
    tally("faults injected", "ENOSPC mid-record (os.write)")


def test_cache_write_fails_cleanly_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, "cache:3:enospc")
    with pytest.raises(DiskError) as e:
        _run(cfg, tmp_path / "out")
    db = Path(os.environ["RAGFT_CACHE"]) / "generations.sqlite"
    assert str(db) in str(e.value) and "No space left on device" in str(e.value)
    with sqlite3.connect(db) as con:  # the cache is intact: the puts before the failure are there
        assert con.execute("SELECT count(*) FROM gen").fetchone()[0] >= 2
    _finish_and_check(cfg, tmp_path / "out", monkeypatch)
    tally("faults injected", "ENOSPC writing the generation cache")


def test_sqlite_full_is_a_disk_error(tmp_path: Path) -> None:
    """The real SQLite error for a full database (SQLITE_FULL, via max_page_count) is a DiskError."""
    from bench.store.cache import GenerationCache
    from bench.types import Completion

    cache = GenerationCache(tmp_path / "g.sqlite")
    c = Completion(text="x" * 3000, finish_reason="stop", prompt_tokens=1, output_tokens=1, latency_s=0.0)
    cache.put("a", c)
    pages = cache.db.execute("PRAGMA page_count").fetchone()[0]
    cache.db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskError, match="full"):
        for i in range(50):
            cache.put(f"k{i}", c)
    assert cache.get("a") == c
    cache.close()
    tally("faults injected", "SQLITE_FULL")


@pytest.mark.parametrize("name", ["report.md", "report.html", "summary.json", "results.csv"])
def test_report_write_fails_and_the_old_report_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from bench.report.writer import write_reports

    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, None)
    _run(cfg, tmp_path / "out")
    run_dir = tmp_path / "out" / "t1"
    before = (run_dir / name).read_bytes()
    _fault(monkeypatch, f"{name}:1:enospc")
    with pytest.raises(DiskError, match=f"cannot write {run_dir / name}: No space left"):
        write_reports(run_dir)
    assert (run_dir / name).read_bytes() == before and not list(run_dir.glob(".*.tmp"))
    _fault(monkeypatch, None)
    write_reports(run_dir)
    tally("faults injected", "ENOSPC writing the report")


def test_read_only_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod a finished run folder read-only (or, as root, where chmod does not bind, inject EACCES):
    rewriting its report is one clear error and every file stays as it was."""
    from bench.report.writer import write_reports

    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, None)
    _run(cfg, tmp_path / "out")
    run_dir = tmp_path / "out" / "t1"
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    if os.geteuid() == 0:
        _fault(monkeypatch, "summary.json:1:eacces")
    else:
        run_dir.chmod(0o555)
    try:
        with pytest.raises(DiskError, match="Permission denied.*make the folder writable"):
            write_reports(run_dir)
    finally:
        run_dir.chmod(0o755)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    tally("faults injected", "EACCES (read-only run folder)")


def test_cli_prints_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_tasks(tmp_path / "data")
    _fault(monkeypatch, None)
    _run(cfg, tmp_path / "out")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGFT_FAULT": "report.md:1:enospc"}
    r = subprocess.run([sys.executable, "-m", "bench", "report", str(tmp_path / "out" / "t1")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    msg = " ".join(r.stderr.split())
    assert msg.startswith("error: cannot write") and "No space left on device" in msg and "free disk space" in msg
    tally("faults injected", "ENOSPC through the CLI")


def test_adapter_save_on_a_full_disk(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A LoRA adapter saved (real peft, safetensors) onto a full disk: a DiskError, no half adapter
    left that a later run would take for a finished one; saved once space is back."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from adapters.train import _save_adapter

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model)),
                           LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    out = tmp_path / "adapter"
    _fault(monkeypatch, "adapter:1:enospc")
    with pytest.raises(DiskError, match="No space left"):
        _save_adapter(model, out)
    assert not (out / "adapter_model.safetensors").exists()
    _fault(monkeypatch, None)
    _save_adapter(model, out)
    assert (out / "adapter_model.safetensors").is_file()
    tally("faults injected", "ENOSPC saving an adapter")
