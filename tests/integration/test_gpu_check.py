"""``make gpu-check`` at tiny size on CPU: the same path a GPU box runs (tiny model built offline,
LoRA training then serving in one process, the hf run, the report, the table, the exit code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.benchmarks.gpu_check import main

pytestmark = pytest.mark.slow


def test_gpu_check_runs_the_hf_path_on_cpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--device", "cpu", "--no-vllm", "--items", "2", "--steps", "2", "--new-tokens", "6",
               "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "asked for CPU: running the same path on CPU" in out and "PASS" in out
    lines = {ln.split()[1]: ln for ln in out.splitlines() if ln.startswith("cpu ")}
    assert set(lines) == {"train", "hf"} and " yes " in lines["hf"] and "0 failed" in lines["hf"]
    rate = lines["hf"].split()[2]
    assert float(rate) > 0
    reports = list((tmp_path / "reports").glob("*/report.md"))
    assert len(reports) == 1 and "lora" in reports[0].read_text(encoding="utf-8")


def test_gpu_check_fails_loudly_when_generations_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # every prompt is longer than the model's context: each item is a counted failure, the check exits 1
    rc = main(["--device", "cpu", "--no-vllm", "--items", "1", "--steps", "1", "--new-tokens", "4",
               "--max-model-len", "32", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL" in out and " NO " in out


def test_gpu_check_refuses_cuda_without_a_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    with pytest.raises(SystemExit, match="no CUDA GPU"):
        main(["--device", "cuda"])
