"""HTTP plumbing of the openai backend: the optional httpx import, the retryable and final failure
types of one attempt, ``Retry-After``, and running the async client from sync code (notebooks too).

Example: ``results = run_sync(backend._agenerate(requests, None))``
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from bench.backends.base import GenResult
from bench.errors import MissingDependencyError


class Retry(Exception):
    """A retryable failure of one attempt (429, 5xx, timeout, refused connection, malformed body)."""

    def __init__(self, reason: str, delay: float | None = None, down: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
        self.down = down  # a connection-level failure: counts toward taking the server out


class Fail(Exception):
    """A final failure of the item (4xx other than 408/429, wrong model in the answer)."""

    def __init__(self, reason: str, guided_refused: bool = False) -> None:
        super().__init__(reason)
        self.guided_refused = guided_refused  # a 4xx to a JSON-schema request: free text may work


def import_httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise MissingDependencyError("httpx", "openai", "The openai backend") from None
    return httpx


def retry_after(resp: Any) -> float | None:
    v = resp.headers.get("retry-after")
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


def run_sync(coro: Coroutine[Any, Any, list[GenResult]]) -> list[GenResult]:
    """Run a coroutine to completion, also from code that already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    value: list[GenResult] = box["value"]
    return value


