"""The one batched, cached generation loop: the runner, the prompt search's dev evaluator, the LLM
judges and ``ragft synth`` all generate through ``generate_cached``.

For a list of requests it looks every request up in the generation cache (key = the request's
content hash under the backend's fingerprint), generates each distinct missing request once
(identical requests — "twins" — share the completion, marked cached), shortest prompts first in
batches of ``batch_size``, stores new completions in the cache, and reports each outcome as soon
as it exists (``on_result``), so callers write results as they are produced.

Example: ``outs = generate_cached(backend, requests, cache=cache, batch_size=8)``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from bench.backends.base import Backend, GenFailure, GenResult, GuidedBackend
from bench.types import Completion, GenRequest

Source = Literal["generated", "cache", "twin"]


class CacheLike(Protocol):
    def get(self, key: str) -> Completion | None: ...

    def put(self, key: str, c: Completion) -> None: ...


@dataclass(frozen=True)
class GenOutcome:
    """One request's result: a completion (``cached=True`` unless generated now) or a failure."""

    request: GenRequest
    key: str
    result: GenResult
    source: Source

    @property
    def ok(self) -> bool:
        return isinstance(self.result, Completion)


def prompt_chars(r: GenRequest) -> int:
    return sum(len(m.content) for m in r.messages)


def generate_cached(
    backend: Backend,
    requests: Sequence[GenRequest],
    *,
    cache: CacheLike | None,
    batch_size: int,
    fingerprint: str | None = None,
    json_schema: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    on_result: Callable[[GenOutcome], None] | None = None,
) -> list[GenOutcome]:
    """Outcomes for ``requests``, in their order.

    ``on_result`` sees cache hits first (in request order), then each generated completion
    followed by its twins, batch by batch; ``progress(n)`` advances by finished requests.
    ``json_schema`` asks a ``GuidedBackend`` for schema-constrained output."""
    fp = fingerprint if fingerprint is not None else backend.fingerprint()
    keys = [r.key(fp) for r in requests]
    out: list[GenOutcome | None] = [None] * len(requests)

    def emit(i: int, o: GenOutcome) -> None:
        out[i] = o
        if on_result is not None:
            on_result(o)

    missing: list[int] = []
    for i, (r, k) in enumerate(zip(requests, keys, strict=True)):
        hit = cache.get(k) if cache is not None else None
        if hit is None:
            missing.append(i)
        else:
            emit(i, GenOutcome(r, k, hit.model_copy(update={"cached": True}), "cache"))
    if progress and len(missing) < len(requests):
        progress(len(requests) - len(missing))
    twins: dict[str, list[int]] = {}
    unique: list[int] = []
    for i in missing:
        if keys[i] in twins:
            twins[keys[i]].append(i)
        else:
            twins[keys[i]] = []
            unique.append(i)
    unique.sort(key=lambda i: prompt_chars(requests[i]))
    step = max(1, batch_size)
    for start in range(0, len(unique), step):
        part = unique[start : start + step]
        batch = [requests[i] for i in part]
        if json_schema is not None:
            results = cast(GuidedBackend, backend).generate_json(batch, json_schema)
        else:
            results = backend.generate(batch)
        done = 0
        for i, res in zip(part, results, strict=True):
            if isinstance(res, Completion) and cache is not None:
                cache.put(keys[i], res)
            emit(i, GenOutcome(requests[i], keys[i], res, "generated"))
            for j in twins[keys[i]]:
                twin: GenResult = res.model_copy(update={"cached": True}) if isinstance(res, Completion) else res
                emit(j, GenOutcome(requests[j], keys[j], twin, "twin"))
            done += 1 + len(twins[keys[i]])
        if progress:
            progress(done)
    return [o if o is not None else GenOutcome(r, k, GenFailure("not generated"), "generated")
            for o, r, k in zip(out, requests, keys, strict=True)]
