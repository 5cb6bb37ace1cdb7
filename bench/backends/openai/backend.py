"""The ``openai`` backend: any OpenAI-compatible server (``vllm serve``, llama.cpp server, hosted APIs).

Requests go out concurrently (``max_concurrency`` in flight per server) over one or more
servers; each server is probed first (``GET /models``: is it up, does it serve the model
and the LoRA names?) and is dropped after repeated connection errors, its work moving to the
others. 429, 5xx, timeouts, refused connections and malformed bodies are retried with
exponential backoff up to ``max_retries``; after that the item is a counted ``GenFailure``
with the reason. Nothing waits forever: every attempt has a timeout.

A LoRA arm is addressed by its served model name (``vllm serve BASE --enable-lora
--lora-modules NAME=PATH``); a request for an adapter that no server lists, or an answer
that names another model, fails the item rather than returning a base-model answer.

``api = "completions"`` sends the prompt as token ids rendered exactly like the ``hf``
backend (``render_prompt`` + ``ensure_bos``), so every backend sees identical inputs;
``api = "chat"`` sends the messages and lets the server apply its chat template (for hosted
chat-only APIs). API keys come only from the environment variable named by ``api_key_env``.

``generate_json`` sends ``response_format`` with a JSON schema (OpenAI structured outputs; ``vllm
serve`` takes it on both APIs); a server that answers such a request with a 4xx gives
``GuidedRefused`` for it (the LLM judge then asks again in free text and records the fallback).

Example: ``OpenAIBackend("Qwen/Qwen2.5-7B-Instruct", base_urls=["http://gpu1:8000/v1"], api="chat")``
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from bench.backends.base import GenFailure, GenResult, GuidedRefused
from bench.backends.openai.encode import request_body
from bench.backends.openai.http import Fail, Retry, import_httpx, retry_after, run_sync
from bench.backends.openai.pool import UNHEALTHY_AFTER, Item, ServerState, probe
from bench.backends.timing import busy_seconds, share_by_tokens
from bench.errors import RagftError
from bench.models import fingerprint_model
from bench.prompts import apply_stops, ensure_bos, render_completion, render_prompt
from bench.types import AdapterSpec, Completion, GenRequest

log = logging.getLogger(__name__)

class OpenAIBackend:
    name = "openai"
    supports_json_schema = True

    def __init__(
        self,
        model_path: str,
        *,
        base_urls: list[str],
        dtype: str = "auto",
        device: str = "auto",
        batch_size: int = 64,
        max_model_len: int = 8192,
        adapters: Mapping[str, AdapterSpec] | None = None,
        api: str = "completions",
        served_model: str | None = None,
        lora_modules: dict[str, str] | None = None,
        api_key_env: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        tokenizer: str | None = None,
        seed: int = 0,
        max_response_bytes: int = 16 << 20,
    ) -> None:
        import_httpx()
        if not base_urls:
            raise RagftError("the openai backend needs at least one server URL (model.server.base_urls)")
        if api not in ("completions", "chat"):
            raise RagftError(f"model.server.api must be 'completions' or 'chat', got {api!r}")
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise RagftError(
                f"bad openai backend limits: max_concurrency={max_concurrency}, max_retries={max_retries}, timeout_s={timeout_s}"
            )
        self.urls = [u.rstrip("/") for u in base_urls]
        bad = [u for u in self.urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise RagftError(f"model.server.base_urls expected http(s) URLs such as http://host:8000/v1, got {bad}")
        self.api = api
        self.served_model = served_model or model_path
        self.model_path = model_path
        self.max_model_len = max_model_len
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_response_bytes = max_response_bytes
        self._rng = random.Random(seed)
        # adapter name -> served model name; adapters without an explicit mapping are served under their own name
        self.lora_modules: dict[str, str] = {name: name for name in (adapters or {})}
        self.lora_modules.update(lora_modules or {})
        self._explicit_lora_modules = dict(lora_modules or {})
        self._headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise RagftError(f"model.server.api_key_env names ${api_key_env}, which is not set")
            self._headers["Authorization"] = f"Bearer {key}"
        self.tokenizer: Any = None
        tok_src = tokenizer or model_path
        if api == "completions" or Path(tok_src).expanduser().is_dir():
            from transformers import AutoTokenizer

            try:
                self.tokenizer = AutoTokenizer.from_pretrained(tok_src)
            except (OSError, ValueError) as e:
                if api == "completions":
                    raise RagftError(
                        f"the openai backend with api='completions' renders prompts itself and needs the "
                        f"tokenizer of '{tok_src}' ({e}); set model.server.tokenizer to a local folder or use api='chat'"
                    ) from None
        self.servers = [ServerState(url=u) for u in self.urls]
        self._probed = False
        local = Path(model_path).expanduser()
        ident = fingerprint_model(str(local)) if local.is_dir() else self.served_model
        self._fingerprint = f"openai:{self.served_model}:{ident}:{api}"

    # -- protocol -----------------------------------------------------------------
    def fingerprint(self) -> str:
        return self._fingerprint

    def render(self, request: GenRequest) -> str:
        if self.tokenizer is not None:
            return render_prompt(request.messages, self.tokenizer)
        return render_completion(request.messages)

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        return run_sync(self._agenerate(requests, progress))

    def generate_json(
        self, requests: list[GenRequest], schema: dict[str, Any], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        """Like ``generate`` with ``response_format`` = ``schema``; ``GuidedRefused`` where a server
        rejects it (HTTP 4xx)."""
        return run_sync(self._agenerate(requests, progress, schema))

    def add_adapters(self, adapters: Mapping[str, AdapterSpec]) -> None:
        """More adapters, addressed by their served names (``lora_modules``, else their own name)."""
        for name in adapters:
            self.lora_modules.setdefault(name, self._explicit_lora_modules.get(name, name))

    def close(self) -> None:
        for s in self.servers:
            if s.requests:
                log.info(
                    "server %s: %s, %d requests, %d ok, %d errors, max %d in flight",
                    s.url, "healthy" if s.healthy else f"down ({s.reason})", s.requests, s.ok, s.errors, s.max_in_flight,
                )

    def server_stats(self) -> list[dict[str, Any]]:
        return [
            {"url": s.url, "healthy": s.healthy, "reason": s.reason, "requests": s.requests, "ok": s.ok,
             "errors": s.errors, "max_in_flight": s.max_in_flight}
            for s in self.servers
        ]

    # -- async core ---------------------------------------------------------------
    async def _agenerate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None,
        schema: dict[str, Any] | None = None,
    ) -> list[GenResult]:
        httpx = import_httpx()
        results: list[GenResult | None] = [None] * len(requests)
        limits = httpx.Limits(max_connections=self.max_concurrency * len(self.servers) + len(self.servers))
        async with httpx.AsyncClient(timeout=self.timeout_s, limits=limits, headers=self._headers) as client:
            # probe every server on the first call, and the ones that were down on later calls
            await asyncio.gather(*(probe(client, s, self.served_model, self.timeout_s) for s in self.servers if not (self._probed and s.healthy)))
            self._probed = True
            queue: asyncio.Queue[Item] = asyncio.Queue()
            for i, r in enumerate(requests):
                res = self._precheck(r)
                if isinstance(res, GenFailure):
                    results[i] = res
                    continue
                model, ids = res
                queue.put_nowait(Item(index=i, request=r, model=model, prompt_ids=ids, schema=schema))
            remaining = queue.qsize()
            if progress and remaining < len(requests):
                progress(len(requests) - remaining)
            state = {"remaining": remaining}
            done = asyncio.Event()
            if remaining == 0:
                done.set()

            spans: dict[int, tuple[str, float, float]] = {}

            def finish(item: Item, res: GenResult) -> None:
                results[item.index] = res
                if isinstance(res, Completion) and item.span is not None:
                    spans[item.index] = item.span
                state["remaining"] -= 1
                if progress:
                    progress(1)
                if state["remaining"] == 0:
                    done.set()

            async def worker(server: ServerState) -> None:
                while not done.is_set() and server.healthy:
                    try:
                        item = await asyncio.wait_for(queue.get(), 0.05)
                    except TimeoutError:
                        if not any(s.healthy for s in self.servers):
                            return
                        continue
                    if server.url in item.avoid and any(
                        s.healthy and s.url not in item.avoid for s in self.servers
                    ):
                        queue.put_nowait(item)
                        await asyncio.sleep(0.01)
                        continue
                    wait = item.not_before - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    await self._attempt(client, server, item, queue, finish)

            workers = [worker(s) for s in self.servers for _ in range(self.max_concurrency)]
            await asyncio.gather(*workers)
            while not queue.empty():  # every server went down with work left
                item = queue.get_nowait()
                down = "; ".join(f"{s.url}: {s.reason}" for s in self.servers)
                finish(item, GenFailure(f"no healthy server left ({down}); last error: {item.last_error}"))
        charge_device_time(results, spans)
        return [r if r is not None else GenFailure("not generated") for r in results]

    def _precheck(self, r: GenRequest) -> tuple[str, list[int] | None] | GenFailure:
        model = self.served_model
        if r.adapter is not None:
            if r.adapter not in self.lora_modules:
                raise RagftError(
                    f"adapter '{r.adapter}' was requested but the openai backend has no served name for it "
                    "(model.server.lora_modules)"
                )
            model = self.lora_modules[r.adapter]
            listed = [s for s in self.servers if s.healthy and (s.models is None or model in s.models)]
            if not listed:
                return GenFailure(
                    f"adapter '{r.adapter}' (served name '{model}') is not served by any healthy server "
                    f"({', '.join(s.url for s in self.servers)}); start them with --enable-lora --lora-modules {model}=PATH"
                )
            for s in listed:
                parent = (s.models or {}).get(model)
                if parent is not None and parent != self.served_model:
                    return GenFailure(
                        f"adapter '{r.adapter}' is served by {s.url} on base '{parent}', not on '{self.served_model}'"
                    )
        ids: list[int] | None = None
        if self.api == "completions":
            text = self.render(r)
            ids = ensure_bos(list(self.tokenizer(text, add_special_tokens=False)["input_ids"]), self.tokenizer)
            if len(ids) + r.sampling.max_new_tokens > self.max_model_len:
                return GenFailure(
                    f"prompt of {len(ids)} tokens + {r.sampling.max_new_tokens} new tokens exceeds "
                    f"max_model_len {self.max_model_len}"
                )
        if not any(s.healthy for s in self.servers):
            down = "; ".join(f"{s.url}: {s.reason}" for s in self.servers)
            return GenFailure(f"no healthy server ({down})")
        return model, ids

    async def _read_bounded(self, resp: Any) -> bytes:
        """The reply body, at most ``max_response_bytes`` (a larger one fails the item: memory stays bounded)."""
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise Fail(f"reply of {int(declared):,} bytes exceeds the limit of {self.max_response_bytes:,} bytes")
        buf = bytearray()
        async for chunk in resp.aiter_bytes():
            buf += chunk
            if len(buf) > self.max_response_bytes:
                raise Fail(f"reply exceeds the limit of {self.max_response_bytes:,} bytes; stopped reading")
        return bytes(buf)

    async def _attempt(
        self, client: Any, server: ServerState, item: Item, queue: asyncio.Queue[Item],
        finish: Callable[[Item, GenResult], None],
    ) -> None:
        httpx = import_httpx()
        path = "/completions" if self.api == "completions" else "/chat/completions"
        item.attempts += 1
        server.requests += 1
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        t0 = time.perf_counter()
        try:
            try:
                # the whole attempt has one deadline: httpx's timeout is per read, and a server that
                # drips a byte now and then would never trip it
                async with asyncio.timeout(self.timeout_s):
                    async with client.stream("POST", f"{server.url}{path}", json=request_body(item, self.api)) as resp:
                        raw = await self._read_bounded(resp)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                raise Retry(f"connection refused or unreachable: {type(e).__name__}: {e}", down=True) from None
            except (httpx.TimeoutException, TimeoutError):
                raise Retry(f"timeout after {self.timeout_s:g} s") from None
            except httpx.HTTPError as e:
                raise Retry(f"connection error: {type(e).__name__}: {e}", down=True) from None
            t1 = time.perf_counter()
            latency = t1 - t0
            text_head = raw[:300].decode("utf-8", "replace")
            if resp.status_code == 429:
                raise Retry("HTTP 429 (rate limited)", retry_after(resp))
            if resp.status_code == 408 or resp.status_code >= 500:
                raise Retry(f"HTTP {resp.status_code}: {text_head[:200]}", retry_after(resp))
            if resp.status_code >= 400 and item.schema is not None:
                raise Fail(f"{server.url} refused the JSON-schema request (response_format): "
                           f"HTTP {resp.status_code}: {text_head[:300]}", guided_refused=True)
            if resp.status_code >= 400:
                raise Fail(f"HTTP {resp.status_code} from {server.url}: {text_head}")
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise Retry(f"malformed response: not UTF-8 (byte 0x{raw[e.start]:02x} at {e.start})") from None
            try:
                data = json.loads(decoded)
                choice = data["choices"][0]
                text = choice["text"] if self.api == "completions" else choice["message"]["content"]
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
                finish_reason = str(choice.get("finish_reason") or "")
                stop_reason = choice.get("stop_reason")
                usage = data.get("usage") or {}
                token_ids = choice.get("token_ids")
                if token_ids is not None:
                    token_ids = [int(t) for t in token_ids]
            except (ValueError, KeyError, IndexError, TypeError, RecursionError) as e:
                raise Retry(f"malformed response: {type(e).__name__}: {decoded[:120]!r}") from None
            latency = server_latency(data.get("metrics")) or latency
            answered = data.get("model")
            if isinstance(answered, str) and answered not in (item.model, Path(item.model).name):
                raise Fail(f"asked {server.url} for model '{item.model}' but it answered as '{answered}'")
        except Retry as e:
            server.errors += 1
            item.last_error = f"{server.url}: {e.reason}"
            if e.down:
                server.consecutive_errors += 1
                if server.consecutive_errors >= UNHEALTHY_AFTER and server.healthy:
                    server.healthy, server.reason = False, e.reason
                    log.warning("server %s taken out of rotation: %s", server.url, e.reason)
            if len(self.servers) > 1:
                item.avoid.add(server.url)  # try another server next time, if one is healthy
            if item.attempts > self.max_retries:
                finish(item, GenFailure(f"failed after {item.attempts} attempts; last: {item.last_error}"))
            else:
                delay = e.delay if e.delay is not None else self.backoff_s * 2 ** (item.attempts - 1) * (0.5 + self._rng.random())
                item.not_before = time.monotonic() + min(delay, 30.0)
                queue.put_nowait(item)
            return
        except Fail as e:
            server.errors += 1
            server.consecutive_errors = 0
            finish(item, GuidedRefused(str(e)) if e.guided_refused else GenFailure(str(e)))
            return
        finally:
            server.in_flight -= 1
        server.consecutive_errors = 0
        server.ok += 1
        sampling = item.request.sampling
        n_out = int(usage.get("completion_tokens") or 0)
        if token_ids is not None and self.tokenizer is not None:
            text = str(self.tokenizer.decode(token_ids, skip_special_tokens=True))
            n_out = len(token_ids)
        cut, found = apply_stops(text, sampling.stop)
        if found and not item.use_stops and token_ids is not None and self.tokenizer is not None:
            for k in range(1, len(token_ids) + 1):  # count tokens up to where the hf backend stops
                if apply_stops(str(self.tokenizer.decode(token_ids[:k], skip_special_tokens=True)), sampling.stop)[1]:
                    n_out = k
                    break
        if (
            item.use_stops and sampling.stop and not found and finish_reason == "stop"
            and not cut and stop_reason != 0 and (stop_reason is None or isinstance(stop_reason, str))
        ):
            # the server stopped at a stop string inside leading whitespace, where the hf
            # backend would go on: ask again without server-side stops and cut here
            item.use_stops = False
            item.attempts -= 1
            queue.put_nowait(item)
            return
        if found or (finish_reason == "stop" and isinstance(stop_reason, str)):
            reason = "stop"
        elif finish_reason == "length":
            reason = "length"
        else:
            reason = "eos"
        n_prompt = len(item.prompt_ids) if item.prompt_ids is not None else int(usage.get("prompt_tokens") or 0)
        item.span = (server.url, t0, t1)
        finish(item, Completion(
            text=cut, finish_reason=reason, prompt_tokens=n_prompt,  # type: ignore[arg-type]
            output_tokens=n_out, latency_s=round(latency, 4),
        ))


def server_latency(metrics: Any) -> float | None:
    """A request's time inside the server from its reported timings (vLLM's
    ``--enable-per-request-metrics``: queue + first token + generation, in ms), else None."""
    if not isinstance(metrics, dict):
        return None
    parts = [metrics.get(k) for k in ("queue_time_ms", "time_to_first_token_ms", "generation_time_ms")]
    if parts[1] is None or not all(isinstance(x, int | float) for x in parts if x is not None):
        return None
    return sum(float(x) for x in parts if x is not None) / 1000


def charge_device_time(results: list[GenResult | None], spans: dict[int, tuple[str, float, float]]) -> None:
    """Each server's busy time in this call (the union of its requests' send -> answer spans, so
    requests served concurrently share it) split over its completions by tokens (``device_s``)."""
    by_server: dict[str, list[int]] = {}
    for i, (url, _, _) in spans.items():
        by_server.setdefault(url, []).append(i)
    for idxs in by_server.values():
        busy = busy_seconds([spans[i][1:] for i in idxs])
        done = [cast(Completion, results[i]) for i in idxs]
        shares = share_by_tokens(busy, [(c.prompt_tokens, c.output_tokens) for c in done])
        for i, c, sh in zip(idxs, done, shares, strict=True):
            results[i] = c.model_copy(update={"device_s": round(sh, 6)})


__all__ = ["OpenAIBackend", "ServerState"]
