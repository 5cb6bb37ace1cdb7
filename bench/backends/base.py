"""The backend protocol: a batch of requests in, one result per request out (a completion or a failure).

Example: ``results = backend.generate(requests)``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bench.types import Completion, GenRequest


@dataclass(frozen=True)
class GenFailure:
    """A request that produced no completion, with the reason (counted as n_failed, never scored)."""

    error: str


@dataclass(frozen=True)
class GuidedRefused(GenFailure):
    """A schema-constrained request the backend could not constrain (the server rejected
    ``response_format``, the engine refused the schema): the caller may ask again in free text."""


GenResult = Completion | GenFailure


class Backend(Protocol):
    name: str

    def fingerprint(self) -> str:
        """Identifies the served weights and settings; part of every generation-cache key."""
        ...

    def render(self, request: GenRequest) -> str:
        """The exact prompt text the model sees for this request (saved with each prediction)."""
        ...

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        """One result per request, in order; ``progress(n)`` is called as items finish."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class GuidedBackend(Protocol):
    """Optional capability: JSON-schema constrained generation (vLLM structured outputs, an
    OpenAI-compatible server's ``response_format``). ``generate_json`` returns ``GuidedRefused``
    for a request it could not constrain, never an unconstrained completion."""

    supports_json_schema: bool

    def generate_json(
        self, requests: list[GenRequest], schema: dict[str, Any], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]: ...
