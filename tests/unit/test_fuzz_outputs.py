"""Fuzzing of what reads model output: the LLM judge's score parser on arbitrary replies, and the
report writers (summary, Markdown, HTML, CSV) on runs whose answers are hostile text — ``</script>``,
HTML, RTL marks, NUL, lone surrogates, a 1 MB answer — generated through the runner and the store
with the scripted backend, as tests/unit/test_report.py does.

Example: ``python -m pytest -q tests/unit/test_fuzz_outputs.py --hypothesis-profile=dev``
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from tests.entry_points import Runner, ScriptedBackend, load_config, parse_score
from tests.fuzz_support import HOSTILE, count, put, run_fuzz

JUDGE_ALPHABET = list("評価点数スコアscore:：=は[]{}\"' 　\n*_()「」/10０１２３４５６７８９.-+中満最終総合理由㉑⑩")
replies = st.one_of(
    st.text(max_size=200), st.text(alphabet=st.sampled_from(JUDGE_ALPHABET), max_size=80), st.sampled_from(HOSTILE),
)
scores = st.integers(min_value=0, max_value=10).map(str) | st.decimals(min_value=0, max_value=10, places=1).map(str)
FORMATS = ["評価：[[{}]]", "**評価**: [[{}]]", "Score: [[{}/10]]", "最終評価は[[{}]]"]


def test_judge_score_parser() -> None:
    @given(prefix=replies, score=scores | st.none(), fmt=st.sampled_from(FORMATS), full_width=st.booleans())
    @example(prefix="理由：" + "よい" * 500_000, score="7", fmt=FORMATS[0], full_width=False).via("a 1 MB reply")
    @example(prefix=" " * 5000 + "x", score=None, fmt=FORMATS[0], full_width=False).via("long whitespace")
    def inner(prefix: str, score: str | None, fmt: str, full_width: bool) -> None:
        reply = prefix if score is None else prefix + "\n" + fmt.format(score)
        if full_width and score is not None:
            reply = reply[: -len(fmt.format(score))] + fmt.format(score.translate(str.maketrans("0123456789.", "０１２３４５６７８９．")))
        got = parse_score(reply)
        assert isinstance(got.rationale, str) and len(got.rationale) <= 2000
        if got.score is not None:
            assert math.isfinite(got.score) and 0.0 <= got.score <= 10.0
            assert not got.clamped or got.score in (0.0, 10.0)
        if score is not None:  # a reply ending in a well-formed score gets exactly that score
            assert got.score == float(score) and not got.clamped, (reply[-80:], got)
        count("judge score parser")

    run_fuzz("judge score parser", inner, suppress=[HealthCheck.too_slow, HealthCheck.large_base_example])


# -- the report writers ---------------------------------------------------------------------------

ITEMS = 4
answer = st.sampled_from(HOSTILE) | st.text(max_size=40)  # (the 1 MB answer is an explicit example: slow)
question = (st.sampled_from([h for h in HOSTILE if h.strip() and h.encode("utf-8", "replace") == h.encode("utf-8", "surrogatepass")])
            | st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""))


def write_task(root: Path, questions: list[str]) -> Path:
    # distinct questions: identical requests are generated once, so items would share one answer
    rows = [{"id": f"i{i}", "question": f"{q} #{i}", "answer": "四百円"} for i, q in enumerate(questions)]
    put(root / "qa" / "test.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    cfg = root / "exp.toml"
    put(cfg, b'arms = ["base"]\n[run]\nid = "fz"\n[model]\nid = "M"\n[report]\nlanguage = "both"\n'
             b'[[tasks]]\nname = "qa"\nloader = "qa-jsonl"\npath = "qa"\n')
    return cfg


def expected_text(s: str) -> str:
    """What a stored answer holds: a lone surrogate cannot be written as UTF-8 and becomes U+FFFD."""
    return re.sub("[\ud800-\udfff]", "\ufffd", s)


def check_report(run_dir: Path, answers: dict[str, str], failed: set[str]) -> None:
    for name in ("summary.json", "report.md", "report.html", "results.csv"):
        (run_dir / name).read_bytes().decode("utf-8")  # written, and valid UTF-8
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    (s,) = summary["summaries"]
    assert (s["n"], s["n_failed"]) == (ITEMS, len(failed))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    # the page's own two scripts (data, code) and nothing else: no answer opens or closes a script
    assert html.count("<script") == 2 and html.lower().count("</script") == 2
    data = re.search(r'<script type="application/json" id="browser-data">(.*?)</script>', html, re.S)
    assert data is not None
    items = {it["id"]: it for it in json.loads(data.group(1))["items"]}
    assert set(items) == {f"i{i}" for i in range(ITEMS)}
    for eid, text in answers.items():
        arm = items[eid]["arms"]["base"]
        assert arm["failed"] == (eid in failed)
        if eid not in failed:
            assert arm["answer"] == expected_text(text)[:4000]
    csv.field_size_limit(sys.maxsize)
    with (run_dir / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = {r["example_id"]: r for r in csv.DictReader(f)}
    for eid, text in answers.items():
        if eid not in failed:
            assert rows[eid]["answer"] == expected_text(text)


def test_report_writers(tmp_path: Path) -> None:
    @given(
        answers=st.lists(answer, min_size=ITEMS, max_size=ITEMS), questions=st.lists(question, min_size=ITEMS, max_size=ITEMS),
        failed=st.sets(st.sampled_from([f"i{i}" for i in range(ITEMS)]), max_size=2),
    )
    @example(answers=["<!--<script></script><script>window.__pwned=1</script>", "\u202eRTL\x00NUL", "x\ud800y", "あ" * 350_000],
             questions=["<img src=x onerror=alert(1)>", "{{ run_id }}", "前\u2028後", "q"], failed=set()).via("the issue's list")
    def inner(answers: list[str], questions: list[str], failed: set[str]) -> None:
        root = Path(tempfile.mkdtemp(dir=tmp_path))  # a fresh run, data folder and generation cache
        os.environ["RAGFT_CACHE"] = str(root / "cache")  # (conftest's monkeypatch restores it after the test)
        by_id = {f"i{i}": a for i, a in enumerate(answers)}
        cfg = write_task(root, questions)
        Runner(load_config(cfg), backend=ScriptedBackend(answers=by_id, fail=set(failed)), output_dir=root / "out").run()
        check_report(root / "out" / "fz", by_id, set(failed))
        shutil.rmtree(root)
        count("report writers")

    run_fuzz("report writers", inner, suppress=SLOW)


# Each example runs the whole pipeline (config, task, generation, grading, report with three
# matplotlib plots): far slower than hypothesis expects of a test, and a 1 MB answer is large data.
SLOW = [HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large]
