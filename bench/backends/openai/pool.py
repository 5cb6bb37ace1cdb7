"""The servers of the openai backend: per-server health and counters, the queued work item, and the
``GET /models`` probe that takes a server out of rotation when it is down or serves another model.

Example: ``await probe(client, ServerState(url="http://gpu1:8000/v1"), "Qwen/Qwen2.5-7B", 30.0)``
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from bench.backends.openai.http import import_httpx
from bench.types import GenRequest

log = logging.getLogger(__name__)

PROBE_MAX_BYTES = 4 << 20  # a model listing is a few kB
UNHEALTHY_AFTER = 3  # consecutive refused/broken connections that take a server out of rotation


@dataclass
class ServerState:
    """Per-server health and counters (shown in the log at close and by ``server_stats``)."""

    url: str
    healthy: bool = True
    reason: str = ""
    models: dict[str, str | None] | None = None  # served name -> parent (None: not listed / unknown)
    consecutive_errors: int = 0
    requests: int = 0
    ok: int = 0
    errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class Item:
    index: int
    request: GenRequest
    model: str
    prompt_ids: list[int] | None
    schema: dict[str, Any] | None = None  # JSON schema for ``response_format`` (guided judging)
    use_stops: bool = True
    attempts: int = 0
    not_before: float = 0.0
    last_error: str = ""
    avoid: set[str] = field(default_factory=set)
    span: tuple[str, float, float] | None = None  # (server, sent, answered) of the attempt that succeeded


async def probe(client: Any, s: ServerState, served_model: str, timeout_s: float) -> None:
    """``GET /models``: refused or broken -> unhealthy; a listing must include the base model."""
    httpx = import_httpx()
    s.healthy, s.reason, s.consecutive_errors = True, "", 0
    limit = min(timeout_s, 30.0)
    try:
        async with asyncio.timeout(limit):  # one deadline for the whole reply (a slow drip too)
            async with client.stream("GET", f"{s.url}/models", timeout=limit) as resp:
                raw = bytearray()
                async for chunk in resp.aiter_bytes():
                    raw += chunk
                    if len(raw) > PROBE_MAX_BYTES:
                        raise ValueError(f"the model listing exceeds {PROBE_MAX_BYTES:,} bytes")
    except (httpx.HTTPError, TimeoutError, ValueError) as e:
        why = f"no full reply within {limit:g} s" if isinstance(e, TimeoutError) else f"{type(e).__name__}: {e}"
        s.healthy, s.reason = False, f"unreachable: {why}"
        log.warning("server %s is down: %s", s.url, s.reason)
        return
    if resp.status_code in (404, 405, 501):
        return  # no model listing on this server: requests will tell
    if resp.status_code >= 400:
        s.healthy, s.reason = False, f"GET /models answered HTTP {resp.status_code}"
        log.warning("server %s is down: %s", s.url, s.reason)
        return
    try:
        data = json.loads(bytes(raw).decode("utf-8"))["data"]
        s.models = {str(m["id"]): (str(m["parent"]) if m.get("parent") else None) for m in data}
    except (ValueError, KeyError, TypeError) as e:
        s.healthy, s.reason = False, f"GET /models returned malformed JSON ({type(e).__name__})"
        return
    if served_model not in s.models:
        s.healthy = False
        s.reason = f"does not serve '{served_model}' (serves {sorted(s.models)}); set model.server.served_model"
        log.warning("server %s: %s", s.url, s.reason)

