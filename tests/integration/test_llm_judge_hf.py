"""The llm judge end to end through the real hf backend with a tiny random model (replies mostly unscorable).

Runs the CLI in subprocesses: ``ragft run`` with a ``[[judges]]`` table, ``ragft grade`` with a
second judge (repeats, no regeneration), and ``ragft judge-check`` on Japanese MT-Bench when
the shared data is present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.judges.llm import UNPARSEABLE
from bench.judges.parse import parse_score
from tests.conftest import shared_data_or_skip
from tests.fixture_data import make_tasks

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def ragft(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def judge_toml(model: Path, name: str, extra: str = "") -> str:
    return (
        f'[[judges]]\nname = "{name}"\nkind = "llm"\n{extra}\n'
        f'[judges.model]\nid = "{model}"\nbackend = "hf"\nbatch_size = 4\nmax_model_len = 4096\n'
        f"[judges.sampling]\nmax_new_tokens = 8\n"
    )


def test_run_with_llm_judge_then_regrade_without_regeneration(tiny_model: Path, tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    text = cfg.read_text().replace('id = "MODEL"', f'id = "{tiny_model}"\nbatch_size = 4')
    cfg.write_text(text + "\n[sampling]\nmax_new_tokens = 6\n\n" + judge_toml(tiny_model, "tiny", 'tasks = ["qa", "doc"]'))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGFT_CACHE": str(tmp_path / "cache")}
    r = ragft("run", str(cfg), "--output-dir", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    run_dir = tmp_path / "out" / "t1"
    grades = [json.loads(x) for x in (run_dir / "grades.jsonl").read_text().splitlines()]
    llm = [g for g in grades if g["judge"].startswith("llm:tiny@")]
    assert len(llm) == 4 + 1  # qa and doc only
    assert all(g["judge_version"].startswith("ja-v1#") for g in llm)
    for g in llm:  # each grade is the parse of its kept raw reply: scored, or unscored as unparseable
        assert g["raw"], g
        assert g["score"] == parse_score(g["raw"]).score, g
        assert (g["error"] == UNPARSEABLE) == (g["score"] is None), g
    summary = json.loads((run_dir / "summary.json").read_text())["summaries"]
    row = next(s for s in summary if s["task"] == "qa" and s["judge"].startswith("llm:tiny@"))
    n_none = sum(1 for g in llm if g["task"] == "qa" and g["score"] is None)
    assert row["n"] == 4 and row["n_unscored"] == n_none
    rel = json.loads((run_dir / "judge_reliability.json").read_text())
    (jr,) = rel["judges"].values()
    assert jr["n_graded"] == 5 and jr["replies"] == 5 and jr["n_generation_failed"] == 0
    assert jr["replies_unparsed"] == sum(1 for g in llm if g["score"] is None)
    # guided = true (the default) on hf: free-text fallback, recorded per grade and counted
    assert all(g["metrics"]["guided"] == 0.0 for g in llm)
    assert jr["guided"] and jr["n_guided"] == 0 and jr["n_free_text"] == 5
    assert jr["guided_fallback"] == ["the hf backend has no JSON-schema decoding"]
    assert "## LLM judge" in (run_dir / "report.md").read_text()

    # re-grade with another judge (repeats with sampling): predictions untouched, judges side by side
    preds = (run_dir / "predictions.jsonl").read_text()
    jfile = tmp_path / "judge2.toml"
    jfile.write_text(judge_toml(tiny_model, "tiny2", 'repeats = 2\ntasks = ["qa"]').replace(
        "max_new_tokens = 8\n", "max_new_tokens = 8\ntemperature = 0.8\n"))
    r2 = ragft("grade", str(run_dir), "--judge", str(jfile), cwd=tmp_path, env=env)
    assert r2.returncode == 0, r2.stderr
    assert (run_dir / "predictions.jsonl").read_text() == preds
    grades = [json.loads(x) for x in (run_dir / "grades.jsonl").read_text().splitlines()]
    g2 = [g for g in grades if g["judge"].startswith("llm:tiny2@")]
    assert len(g2) == 4 and all("replies_unparsed" in g["metrics"] for g in g2)
    assert all(len(json.loads(g["raw"])["replies"]) == 2 for g in g2)
    judges = {s["judge"].split("@")[0] for s in json.loads((run_dir / "summary.json").read_text())["summaries"]}
    assert {"llm:tiny", "llm:tiny2", "reference"} <= judges
    rel = json.loads((run_dir / "judge_reliability.json").read_text())
    assert len(rel["judges"]) == 2 and rel["pairwise"]

    # a bad judge file is one clear line
    bad = tmp_path / "bad.toml"
    bad.write_text('[[judges]]\nname = "x"\nrepeats = 3\n')
    r3 = ragft("grade", str(run_dir), "--judge", str(bad), cwd=tmp_path, env=env)
    assert r3.returncode == 2 and "Traceback" not in r3.stderr and "temperature" in r3.stderr


@pytest.mark.shared_data
def test_judge_check_on_mt_bench(tiny_model: Path, tmp_path: Path) -> None:
    data = shared_data_or_skip("mt_bench_ja")
    jfile = tmp_path / "j.toml"
    jfile.write_text(judge_toml(tiny_model, "tiny", "max_answer_chars = 300\ncontext_chars = 0"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGFT_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "check.json"
    r = ragft("judge-check", "--judge", str(jfile), "--data", str(data), "--limit", "5", "--output", str(out),
              cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(out.read_text())
    assert res["n_questions"] == 5 and set(res["variants"]) == {"reference", "truncated", "off_topic", "wrong_language"}
    assert all(v["n"] == 5 and v["scored"] + v["unscored"] == 5 for v in res["variants"].values())
    assert len(res["items"]) == 20 and "Verdict" in r.stdout
    # every score is the parse of the judge's reply, and the verdict follows from the scored pairs
    by = {(it["variant"], it["example_id"]): it["score"] for it in res["items"]}
    assert all(it["score"] == parse_score(it["reply"]).score for it in res["items"])
    ids = {e for _, e in by}
    for v in ("truncated", "off_topic", "wrong_language"):
        pairs = sum(1 for e in ids if by[(v, e)] is not None and by[("reference", e)] is not None)
        assert res["separation"][v]["pairs"] == pairs
    sep = res["separation"].values()
    fewest = min(int(s["pairs"]) for s in sep)
    if fewest < 5:
        assert res["verdict"] == f"not enough scored pairs (fewest {fewest} < 5): cannot tell"
    else:
        good = all((s["win_rate"] or 0) >= 0.8 and (s["mean_gap"] or 0) >= 2 for s in sep)
        assert res["verdict"].startswith("separates" if good else "does NOT separate")
