"""Backends turn ``GenRequest``s into ``Completion``s; ``load_backend`` is the only constructor.

A process holds at most one backend per (backend kind, model, dtype, max_model_len): the runner,
the prompt search, the LLM judges and every CLI command ask ``load_backend`` for a ``[model]``
table and share the same engine (on a GPU a second engine for the same model is an out-of-memory
error, not a slowdown). Each caller gets a handle; the engine closes when the last handle does.
Adapters asked for later are added to the shared backend. The name -> class table is
``bench.registry`` (kind ``backend``), so importing this never imports torch or vllm.

Example: ``with backend_session(cfg.model) as b: b.generate(requests)``
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bench import registry
from bench.backends.base import Backend, GenFailure, GenResult, GuidedBackend, GuidedRefused
from bench.config.model import ModelSection
from bench.errors import RagftError
from bench.models import resolve_model
from bench.types import AdapterSpec, GenRequest

__all__ = [
    "Backend", "GenFailure", "GenResult", "GuidedBackend", "GuidedRefused", "SharedBackend", "backend_session",
    "constructed", "load_backend",
]

_LOCK = threading.Lock()
_POOL: dict[str, _Entry] = {}
_CONSTRUCTED: list[str] = []  # pool keys, one per backend object ever constructed (tests, diagnostics)


class _Entry:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.users = 0


class SharedBackend:
    """A handle on a pooled backend: the ``Backend`` protocol by delegation; ``close`` releases the
    handle and closes the engine when no other handle is open."""

    def __init__(self, key: str, entry: _Entry) -> None:
        self._key = key
        self._entry = entry
        self._closed = False
        self.name: str = str(entry.backend.name)

    @property
    def inner(self) -> Backend:
        return self._entry.backend

    def fingerprint(self) -> str:
        return self._entry.backend.fingerprint()

    def render(self, request: GenRequest) -> str:
        return self._entry.backend.render(request)

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        return self._entry.backend.generate(requests, progress)

    def __getattr__(self, attr: str) -> Any:  # generate_json, supports_json_schema, tokenizer, …
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._entry.backend, attr)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with _LOCK:
            self._entry.users -= 1
            last = self._entry.users <= 0
            if last and _POOL.get(self._key) is self._entry:
                del _POOL[self._key]
        if last:
            self._entry.backend.close()


def pool_key(m: ModelSection) -> str:
    """What makes two ``[model]`` tables the same engine."""
    key: dict[str, Any] = {"backend": m.backend, "model": m.id, "dtype": m.dtype, "max_model_len": m.max_model_len}
    if m.backend == "openai" and m.server is not None:
        key["server"] = m.server.model_dump(mode="json")
    return json.dumps(key, sort_keys=True)


def _construct(m: ModelSection, adapters: Mapping[str, AdapterSpec] | None, seed: int) -> Backend:
    cls = registry.load("backend", m.backend)
    common: dict[str, Any] = {
        "dtype": m.dtype, "device": m.device, "batch_size": m.batch_size, "max_model_len": m.max_model_len,
    }
    if adapters:
        common["adapters"] = dict(adapters)
    if m.backend == "openai":
        srv = m.server
        if srv is None:
            raise RagftError("backend 'openai' needs a [model.server] table with base_urls")
        # the model may live only on the server: resolve it locally only when it is local
        local = m.id.startswith("embedded:") or m.id.startswith((".", "/", "~"))
        path = resolve_model(m.id) if local else m.id
        opts = srv.model_dump()
        if opts["served_model"] is None and m.id.startswith("embedded:"):
            opts["served_model"] = path
        backend: Backend = cls(path, seed=seed, **common, **opts)
        return backend
    path = resolve_model(m.id)
    if m.backend == "vllm":
        backend = cls(
            path, seed=seed, gpu_memory_utilization=m.gpu_memory_utilization, engine_args=m.engine_args, **common,
        )
        return backend
    backend = cls(path, **common)
    return backend


def load_backend(
    m: ModelSection, *, adapters: Mapping[str, AdapterSpec] | None = None, seed: int = 0
) -> SharedBackend:
    """A handle on the process's backend for ``m`` (constructed on first use; close the handle)."""
    key = pool_key(m)
    with _LOCK:
        entry = _POOL.get(key)
        created = entry is None
        if entry is None:
            entry = _Entry(_construct(m, adapters, seed))
            _POOL[key] = entry
            _CONSTRUCTED.append(key)
        entry.users += 1
    if adapters and not created:
        add = getattr(entry.backend, "add_adapters", None)
        if add is None:
            raise RagftError(f"the {m.backend} backend cannot take LoRA adapters")
        add(dict(adapters))
    return SharedBackend(key, entry)


@contextmanager
def backend_session(
    m: ModelSection,
    *,
    given: Backend | None = None,
    adapters: Mapping[str, AdapterSpec] | None = None,
    seed: int = 0,
) -> Iterator[Backend]:
    """``given`` as is (its owner closes it), else a handle from ``load_backend`` closed at exit."""
    if given is not None:
        yield given
        return
    handle = load_backend(m, adapters=adapters, seed=seed)
    try:
        yield handle
    finally:
        handle.close()


def constructed() -> list[str]:
    """Pool keys of every backend constructed in this process, in order (for checks and tests)."""
    return list(_CONSTRUCTED)
