"""The ``[model]`` table: which model, through which backend, with which serving settings.

The same table describes the evaluated model and every LLM judge's model (``[[judges]] model``),
so one constructor (``bench.backends.load_backend``) builds all of them and a judge naming the
run's model shares its engine.

Example (TOML)::

    [model]
    id = "embedded:gemma-3-270m"
    backend = "hf"          # hf | vllm | openai
    dtype = "float32"
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from bench.config.base import Section


class ServerSection(Section):
    """OpenAI-compatible servers for ``model.backend = "openai"`` (see bench/backends/openai.py)."""

    base_urls: list[str] = Field(min_length=1)  # e.g. ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    api: Literal["completions", "chat"] = "completions"
    served_model: str | None = None  # the base model's name on the server; default model.id
    lora_modules: dict[str, str] = Field(default_factory=dict)  # adapter -> served name (default: same)
    api_key_env: str | None = None  # name of the environment variable holding the key
    tokenizer: str | None = None  # local tokenizer folder for api="completions"; default model.id
    max_concurrency: int = Field(default=8, ge=1, le=1024)  # requests in flight per server
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_retries: int = Field(default=4, ge=0, le=20)


class ModelSection(Section):
    id: str = "embedded:gemma-3-270m"
    backend: Literal["hf", "vllm", "openai"] = "hf"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    batch_size: int = Field(default=8, ge=1, le=4096)
    max_model_len: int = Field(default=8192, ge=16)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)  # vllm
    engine_args: dict[str, Any] = Field(default_factory=dict)  # vllm: extra vllm.LLM arguments
    server: ServerSection | None = None  # openai

    @model_validator(mode="after")
    def _server_for_openai(self) -> ModelSection:
        if self.backend == "openai" and self.server is None:
            raise ValueError("backend 'openai' needs a [model.server] table with base_urls")
        return self
