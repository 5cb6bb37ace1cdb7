"""The HTML report opened in a real browser: headless Chromium (Debian's ``chromium``) loads the
``report.html`` of a run whose questions, answers and error messages are hostile strings, and the
DevTools protocol (driven by playwright) checks that no script from the data runs, that the item
browser lists every item, that the console has no errors and that the page makes no network request.

Chromium absent: the test skips, except with ``CI=true`` (a CI machine without the browser fails).
Example: ``python -m pytest -q tests/unit/test_report_browser.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.types import GenRequest
from tests.counters import report
from tests.entry_points import GenFailure, Runner, ScriptedBackend, find_chromium, load_config

# Each would run a script, load something or break the page if the report put data into HTML.
HOSTILE = [
    "<script>window.__pwned = 1</script>",
    "</script><script>window.__pwned = 2</script>",
    '<img src=x onerror="window.__pwned = 3">',
    '<svg onload="window.__pwned = 4"></svg>',
    "<!--<script>",
    '<iframe src="javascript:parent.__pwned = 5"></iframe>',
    '"><script>window.__pwned = 6</script><a href="',
    '<a href="http://example.invalid/a">link</a><link rel="stylesheet" href="//example.invalid/s.css">',
    "<style>@import url(http://example.invalid/i.css);</style>",
    "{{ 7 * 7 }} {% raw %} ${7*7}",
    "\u202eRTL\u2066 mark\u2069 and NUL \x00 and U+2028 \u2028 end",
    "lone surrogate \ud800 here",
]
FAILED = {"i03": '<img src=x onerror="window.__pwned = 7">', "i07": "</script><script>window.__pwned = 8</script>"}
LONG = "長" * 350_000  # about 1 MB of UTF-8
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


class HostileBackend(ScriptedBackend):
    """Scripted answers, and failures whose error message is hostile too."""

    def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[Any]:
        out = super().generate(requests, progress)
        return [GenFailure(error=FAILED[r.example_id]) if r.example_id in FAILED else o for r, o in zip(requests, out, strict=True)]


def build_run(root: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A run of one task with an item per hostile string (in its question and its answer) and a
    1 MB answer; returns the report, the answers and the questions by item id."""
    answers = {f"i{i:02d}": h for i, h in enumerate(HOSTILE)} | {f"i{len(HOSTILE):02d}": LONG}
    questions = {eid: f"質問 {eid}: {HOSTILE[(i + 3) % len(HOSTILE)].replace(chr(0xD800), '?')}" for i, eid in enumerate(answers)}
    (root / "qa").mkdir(parents=True)
    (root / "qa" / "test.jsonl").write_text(
        "".join(json.dumps({"id": eid, "question": q, "answer": "四百円"}, ensure_ascii=False) + "\n" for eid, q in questions.items()),
        encoding="utf-8")
    cfg = root / "exp.toml"
    cfg.write_text('[run]\nid = "browser"\n[model]\nid = "M<script>window.__pwned = 9</script>"\n[report]\nlanguage = "both"\n'
                   '[[tasks]]\nname = "qa"\nloader = "qa-jsonl"\npath = "qa"\n', encoding="utf-8")
    os.environ["RAGFT_CACHE"] = str(root / "cache")  # (conftest's monkeypatch restores it after the test)
    Runner(load_config(cfg), backend=HostileBackend(answers=answers), output_dir=root / "out").run()
    return root / "out" / "browser" / "report.html", answers, questions


def _browser_or_skip() -> str:
    exe = find_chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        exe = None
    if exe is None:
        why = "no Chromium (apt-get install -y chromium) or no playwright (pip install -e '.[dev]')"
        report("browser check", f"not run: {why}")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {why}: the report is not checked in a browser")
        pytest.skip(why)
    return exe


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    exe = _browser_or_skip()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    html, answers, questions = build_run(tmp_path / "run")
    url = html.resolve().as_uri()
    n = len(answers)
    # what the search box must keep: items with "pwned" in the question or a (not failed) answer
    searched = sum(1 for e in answers if "pwned" in questions[e] or (e not in FAILED and "pwned" in answers[e]))
    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:  # record, and never let it reach the network
            requests.append(r.request.url)
            r.abort()

    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="ragft-profile-") as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=exe, headless=True, args=FLAGS)
        try:
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url == url else requests.append(r.url))
            page.goto(url, wait_until="load")
            try:
                page.wait_for_function("document.getElementById('f-count').textContent.length > 0", timeout=15_000)
            except PlaywrightTimeout:
                pytest.fail(f"the item browser never rendered; page errors {errors}, console {console}")
            state = page.evaluate("""() => ({
                pwned: window.__pwned === undefined ? null : String(window.__pwned),
                items: document.querySelectorAll('#item-list .item').length,
                count: document.getElementById('f-count').textContent,
                scripts: document.scripts.length,
                styles: document.querySelectorAll('style').length,
                foreign: document.querySelectorAll('iframe, svg, object, embed, link, a[href]').length,
                imgs: Array.from(document.images).map(i => i.src.slice(0, 22)),
                handlers: Array.from(document.querySelectorAll('*')).filter(
                    e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
                text: document.getElementById('item-list').textContent,
            })""")
            page.fill("#f-q", "pwned")  # the search box still works on hostile text
            page.wait_for_function(f"document.getElementById('f-count').textContent === '{searched} items'", timeout=10_000)
        finally:
            ctx.close()

    assert state["pwned"] is None, f"a script from the data ran (window.__pwned = {state['pwned']})"
    assert requests == [], f"the page requested {requests}"
    assert errors == [] and [c for c in console if c.startswith("error")] == [], (errors, console)
    assert state["items"] == n and state["count"] == f"{n} items", state["count"]
    assert (state["scripts"], state["styles"], state["handlers"], state["foreign"]) == (2, 1, 0, 0), state
    assert state["imgs"] and all(src.startswith("data:image/png") for src in state["imgs"]), state["imgs"]
    for eid, text in answers.items():  # every answer (or failure message) is shown, as text
        assert FAILED.get(eid, text).replace("\ud800", "\ufffd")[:4000] in state["text"], eid
        assert questions[eid] in state["text"], eid
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip() or exe
    report("browser check", f"report.html in {version}: {n} of {n} items listed, no script from the data ran, "
           "0 console errors, 0 network requests")
