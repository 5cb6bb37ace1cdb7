"""What a GPU box set up from ``make gpu-wheels`` lacks: matplotlib (report.html without plots)
and, before the wheels are installed, the packages the check names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from tests.fixture_data import make_tasks


def test_report_without_matplotlib_has_no_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    cfg = make_tasks(tmp_path / "data")
    Runner(load_config(cfg), backend=ScriptedBackend(), output_dir=tmp_path / "out").run()
    html = (tmp_path / "out" / "t1" / "report.html").read_text(encoding="utf-8")
    assert "data:image/png" not in html and "<table" in html
    assert (tmp_path / "out" / "t1" / "report.md").is_file()


def test_gpu_check_names_missing_packages(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import bench.benchmarks.gpu_check as gc

    monkeypatch.setattr(gc, "have", lambda m: m not in ("pydantic", "scipy"))
    assert gc.main(["--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "missing packages pydantic, scipy" in err and "make gpu-wheels" in err
