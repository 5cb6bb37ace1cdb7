"""The openai backend against loopback fault-injection servers (plain http.server, real HTTP).

Each request's last user message names its fault: ok, rate (429 twice), flaky (500 once),
broken (500 always), malformed (200 with a broken body), slow (beyond the timeout),
wrongmodel (answers as another model). Items must end completed or failed with a reason,
retries bounded, concurrency within the limit, keys never leaked.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.backends import GenFailure
from bench.errors import RagftError
from bench.types import Completion, GenRequest, Message, Sampling
from tests.requires import require

require("httpx")


class FaultServer:
    def __init__(self, models_body: bytes | None = None) -> None:
        self.attempts: Counter[str] = Counter()
        self.active = 0
        self.max_active = 0
        self.auth: set[str] = set()
        self.bodies: dict[str, dict[str, Any]] = {}
        self.hung_up: Counter[str] = Counter()
        # progress, not timing: with want_concurrency set, "ok" requests wait (bounded) until a
        # second one is in flight, so the concurrency check holds however loaded the machine is
        self.want_concurrency = False
        self.concurrent = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.models_body = models_body or json.dumps(
            {"data": [{"id": "fake"}, {"id": "fake-lora", "parent": "fake"}, {"id": "other-lora", "parent": "other"}]}
        ).encode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                self._send(200, server.models_body)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.auth.add(self.headers.get("Authorization", ""))
                tag = body["messages"][-1]["content"]
                server.bodies[tag] = body
                with server.lock:
                    server.attempts[tag] += 1
                    n = server.attempts[tag]
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    if server.active >= 2:
                        server.concurrent.set()
                try:
                    kind = tag.split("-")[0]
                    if kind == "ok" and server.want_concurrency:
                        server.concurrent.wait(10)
                    if kind == "slow":  # answers only once the client gave up (or the test ends)
                        server.closed.wait(60)
                        return None
                    if kind == "rate" and n <= 2:
                        return self._send(429, b'{"error": "slow down"}', {"Retry-After": "0"})
                    if (kind == "flaky" and n == 1) or kind == "broken":
                        return self._send(500, b'{"error": "boom"}')
                    if kind == "noschema" and "response_format" in body:  # a server without structured outputs
                        return self._send(400, b'{"error": "response_format is not supported"}')
                    if kind == "malformed":
                        return self._send(200, b'{"choices": [{"message": ')
                    if kind == "notutf8":  # Shift_JIS bytes where UTF-8 JSON belongs
                        return self._send(200, '{"choices": [{"message": {"content": "答え"}}]}'.encode("cp932"))
                    if kind == "huge":  # declares 1 MB
                        return self._send(200, b'{"pad": "' + b"x" * (1 << 20) + b'"}')
                    if kind in ("flood", "drip"):  # no length: endless bytes, fast or one every 20 ms
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.close_connection = True
                        try:
                            self.wfile.write(b'{"choices": [')
                            for _ in range(100_000 if kind == "flood" else 3000):  # ~ 800 MB / 60 s at most
                                self.wfile.write(b" " * 8192 if kind == "flood" else b" ")
                                self.wfile.flush()
                                if kind == "drip":
                                    time.sleep(0.02)
                        except (BrokenPipeError, ConnectionResetError):
                            server.hung_up[kind] += 1  # the client stopped reading
                        return None
                    model = "someone-else" if kind == "wrongmodel" else body["model"]
                    answer = {"model": model, "choices": [{"message": {"content": f"答え {tag}\n余分"}, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
                    self._send(200, json.dumps(answer).encode())
                finally:
                    with server.lock:
                        server.active -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FaultServer]:
    s = FaultServer()
    yield s
    s.close()


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens here any more


def req(tag: str, adapter: str | None = None) -> GenRequest:
    return GenRequest(example_id=tag, task="t", arm="lora" if adapter else "base",
                      messages=[Message(role="user", content=tag)],
                      sampling=Sampling(max_new_tokens=8, stop=["\n"]), adapter=adapter)


def backend(urls: list[str], **kw: Any) -> Any:
    from bench.backends.openai import OpenAIBackend

    # timeout_s: generous for a loaded machine; only the slow and drip faults ever reach it
    opts: dict[str, Any] = {"api": "chat", "max_concurrency": 3, "max_retries": 2, "timeout_s": 2.0, "backoff_s": 0.01}
    opts.update(kw)
    return OpenAIBackend("fake", base_urls=urls, **opts)


def test_faults_end_completed_or_failed_with_bounded_retries(server: FaultServer) -> None:
    b = backend([server.url])
    server.want_concurrency = True
    tags = [f"ok-{i}" for i in range(12)] + ["rate", "flaky", "broken", "malformed", "slow", "wrongmodel"]
    ticks: list[int] = []
    res = dict(zip(tags, b.generate([req(t) for t in tags], progress=ticks.append), strict=True))
    assert sum(ticks) == len(tags)
    for t in [f"ok-{i}" for i in range(12)] + ["rate", "flaky"]:
        c = res[t]
        assert isinstance(c, Completion), (t, c)
        assert c.text == f"答え {t}" and c.finish_reason == "stop" and c.output_tokens == 3
    assert server.attempts["rate"] == 3 and server.attempts["flaky"] == 2
    for t, why in [("broken", "HTTP 500"), ("malformed", "malformed"), ("slow", "timeout"), ("wrongmodel", "answered as")]:
        f = res[t]
        assert isinstance(f, GenFailure) and why in f.error, (t, f)
    assert server.attempts["broken"] == 3 and server.attempts["malformed"] == 3  # 1 + max_retries
    assert server.attempts["wrongmodel"] == 1  # not retried: a wrong answer is final
    assert 2 <= server.max_active <= 3  # concurrent, within the limit
    assert b.server_stats()[0]["healthy"]
    injected = sum(n for t, n in server.attempts.items() if not t.startswith("ok")) - 2  # rate, flaky succeed last
    done = sum(isinstance(r, Completion) for r in res.values())
    from tests.counters import report, tally

    tally("faults injected", "openai 429/500/malformed/timeout/wrong model", injected)
    report("openai backend faults", f"{injected} faults injected (429, 500, malformed JSON, timeouts, wrong model); "
          f"{done} items completed, {len(res) - done} failed with a reason, 0 lost; "
          f"max {server.max_active} in flight (limit 3)")


def test_huge_endless_and_non_utf8_replies_are_bounded_failures(server: FaultServer) -> None:
    """A 1 MB reply, an endless fast one, an endless slow drip (never idle long enough for a read
    timeout) and Shift_JIS bytes: each item ends as a counted failure with its reason, the huge ones
    without retrying; memory stays far below what the servers send."""
    import tracemalloc

    b = backend([server.url], max_retries=1, max_response_bytes=64 << 10)
    tags = ["ok-a", "huge", "flood", "drip", "notutf8", "ok-b"]
    tracemalloc.start()
    try:
        res = dict(zip(tags, b.generate([req(t) for t in tags]), strict=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(res["ok-a"], Completion) and isinstance(res["ok-b"], Completion)
    for t, why, attempts in [("huge", "exceeds the limit of 65,536 bytes", 1), ("flood", "exceeds the limit", 1),
                             ("drip", "timeout after 2 s", 2), ("notutf8", "not UTF-8", 2)]:
        f = res[t]
        assert isinstance(f, GenFailure) and why in f.error, (t, f)
        assert server.attempts[t] == attempts, (t, server.attempts[t])
    assert peak < 8 << 20, peak  # the flood alone would be ~800 MB if read to the end
    from tests.counters import tally

    tally("faults injected", "openai huge/endless/slow-drip/non-UTF-8 replies",
          sum(server.attempts[t] for t in ("huge", "flood", "drip", "notutf8")))


def test_requests_spread_over_servers_and_a_dead_one_is_skipped(server: FaultServer) -> None:
    second = FaultServer()
    try:
        b = backend([server.url, refused_url(), second.url], max_concurrency=2)
        res = b.generate([req(f"ok-{i}") for i in range(16)])
        assert all(isinstance(r, Completion) for r in res)
        stats = {s["url"]: s for s in b.server_stats()}
        assert not stats[b.urls[1]]["healthy"] and "unreachable" in stats[b.urls[1]]["reason"]
        assert stats[server.url]["ok"] > 0 and stats[second.url]["ok"] > 0
        assert stats[server.url]["ok"] + stats[second.url]["ok"] == 16
        assert server.max_active <= 2 and second.max_active <= 2
    finally:
        second.close()


def test_refused_and_malformed_servers_fail_every_item_without_hanging() -> None:
    b = backend([refused_url()])
    res = b.generate([req("ok-1"), req("ok-2")])
    assert all(isinstance(r, GenFailure) and "no healthy server" in r.error for r in res)
    garbage = FaultServer(models_body=b"<html>oops")
    try:
        res = backend([garbage.url]).generate([req("ok-1")])
        assert isinstance(res[0], GenFailure) and "malformed" in res[0].error
    finally:
        garbage.close()


def test_lora_by_served_name_never_falls_back_to_base(server: FaultServer) -> None:
    b = backend([server.url], adapters={"ad": "/unused/on/client"}, lora_modules={"ad": "fake-lora", "gone": "nope", "alien": "other-lora"})
    res = b.generate([req("ok-a", "ad"), req("ok-b", "gone"), req("ok-c", "alien"), req("ok-d")])
    assert isinstance(res[0], Completion) and isinstance(res[3], Completion)
    assert isinstance(res[1], GenFailure) and "not served" in res[1].error
    assert isinstance(res[2], GenFailure) and "on base 'other'" in res[2].error
    assert server.attempts["ok-b"] == 0 and server.attempts["ok-c"] == 0  # never sent to the base model
    with pytest.raises(RagftError, match="no served name"):
        b.generate([req("x", "unconfigured")])


def test_api_key_comes_from_the_environment_only(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RagftError, match="RAGFT_TEST_KEY"):
        backend([server.url], api_key_env="RAGFT_TEST_KEY")
    monkeypatch.setenv("RAGFT_TEST_KEY", "sk-test-secret")
    b = backend([server.url], api_key_env="RAGFT_TEST_KEY")
    assert isinstance(b.generate([req("ok-k")])[0], Completion)
    assert server.auth == {"Bearer sk-test-secret"}
    assert "sk-test-secret" not in b.fingerprint() + json.dumps(b.server_stats())


def test_config_section_validates_and_builds_the_backend(server: FaultServer) -> None:
    from bench.backends import load_backend
    from bench.config import ModelSection

    with pytest.raises(ValueError, match="model.server"):
        ModelSection(backend="openai")
    m = ModelSection(id="fake", backend="openai", server={"base_urls": [server.url], "api": "chat", "max_retries": 1})
    b = load_backend(m)
    assert b.name == "openai" and isinstance(b.generate([req("ok-cfg")])[0], Completion)
    b.close()


def test_api_key_never_reaches_run_dir_cache_or_logs(
    server: FaultServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole run through the openai backend with a key from the environment: the key is sent
    to the server and appears in no file the run writes (run dir, generation cache) nor in the logs."""
    import logging
    from pathlib import Path

    from bench.config import load_config
    from bench.engine.runner import Runner
    from tests.fixture_data import make_tasks

    secret = "sk-ragft-test-0123456789"
    monkeypatch.setenv("RAGFT_TEST_KEY", secret)
    cfg_path = make_tasks(tmp_path / "data")
    cfg_path.write_text(
        cfg_path.read_text().replace(
            'id = "MODEL"',
            f'id = "fake"\nbackend = "openai"\n[model.server]\nbase_urls = ["{server.url}"]\n'
            'api = "chat"\napi_key_env = "RAGFT_TEST_KEY"\nmax_retries = 1',
        )
    )
    caplog.set_level(logging.DEBUG)
    result = Runner(load_config(cfg_path), output_dir=tmp_path / "out").run()
    assert server.auth == {f"Bearer {secret}"}
    assert result.generated == 10 and result.failed == 0
    written = [p for p in Path(tmp_path).rglob("*") if p.is_file() and "data" not in p.parts]
    assert any(p.name == "predictions.jsonl" for p in written)
    for p in written:
        assert secret.encode() not in p.read_bytes(), p
    assert secret not in caplog.text


def test_json_schema_requests_send_response_format_and_a_refusal_is_guided_refused(server: FaultServer) -> None:
    from bench.backends import GuidedRefused

    b = backend([server.url])
    schema = {"type": "object", "properties": {"score": {"type": "number"}}, "required": ["score"]}
    ok, refused = b.generate_json([req("ok-json"), req("noschema")], schema)
    assert isinstance(ok, Completion)
    assert server.bodies["ok-json"]["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "judgement", "schema": schema, "strict": True}}
    assert isinstance(refused, GuidedRefused) and "HTTP 400" in refused.error and "response_format" in refused.error
    assert server.attempts["noschema"] == 1  # a 4xx is final: no retries
    (plain,) = b.generate([req("noschema")])  # the same request in free text is served
    assert isinstance(plain, Completion) and "response_format" not in server.bodies["noschema"]
    (broken,) = b.generate_json([req("wrongmodel")], schema)
    assert type(broken) is GenFailure and "answered as" in broken.error  # not a refusal: no free-text retry
