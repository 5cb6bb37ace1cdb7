"""Judge credibility measured end to end through the real hf backend with a tiny random model:
``ragft run`` with a ``[[judges]]`` table, then ``ragft judge-check --run-dir`` on an MT-Bench-shaped
folder written here. The tiny judge's replies are mostly unscorable, so its label must come out
of its numbers as "not credible" and reach the recommendation as a caveat."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fixture_data import make_tasks
from tests.integration.test_llm_judge_hf import ROOT, judge_toml, ragft
from tests.unit.test_judge_check import write_mt_bench

pytestmark = pytest.mark.slow


def test_judge_check_run_dir_measures_credibility(tiny_model: Path, tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    text = cfg.read_text().replace('id = "MODEL"', f'id = "{tiny_model}"\nbatch_size = 4')
    cfg.write_text(text + "\n[sampling]\nmax_new_tokens = 6\n\n" + judge_toml(tiny_model, "tiny", 'tasks = ["qa"]'))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAGFT_CACHE": str(tmp_path / "cache")}
    r = ragft("run", str(cfg), "--output-dir", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    run_dir = tmp_path / "out" / "t1"
    (jid, st), = json.loads((run_dir / "judge_reliability.json").read_text())["judges"].items()
    assert st["credibility"] in ("not credible", "unmeasured") and st["discrimination"] == {}
    jfile = tmp_path / "j.toml"
    jfile.write_text(judge_toml(tiny_model, "tiny", 'tasks = ["qa"]'))
    r = ragft("judge-check", "--judge", str(jfile), "--data", str(write_mt_bench(tmp_path / "mt", n=6)),
              "--output", str(tmp_path / "check.json"), "--run-dir", str(run_dir), cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert (run_dir / "judge_check.json").is_file()
    st = json.loads((run_dir / "judge_reliability.json").read_text())["judges"][jid]
    assert set(st["discrimination"]) == {"truncated", "off_topic", "wrong_language"}  # the check was matched
    assert st["parse_failure_rate"] > 0.1 and st["credibility"] == "not credible"  # random weights: no verdicts
    assert any(x.startswith("parse-failure rate") for x in st["credibility_reasons"])
    report = (run_dir / "report.md").read_text()
    assert "| discrimination (win rate / gap) | credibility |" in report and "A judge is **credible** when" in report
    assert f"**Not a credible judge:** `{jid}`" in report
    caveats = json.loads((run_dir / "caveats.json").read_text())["caveats"]
    assert [c["data"]["judge"] for c in caveats if c["source"] == "judge"] == [jid]
    summary = json.loads((run_dir / "summary.json").read_text())
    rec, qa = summary["recommendation"], summary["recommendation"].split("**doc**")[0]
    assert "judge:" not in rec.split("**doc**")[1].split("**Overall**")[0]  # doc: the reference metrics decide
    row = next(s for s in summary["summaries"] if s["task"] == "qa" and s["judge"] == jid)
    if row["n_unscored"] < row["n"]:  # the judge scored some qa items: it decides qa, its caveat shows there
        assert f"Deciding judge: `{jid}`" in report and f"judge: {jid} is not a credible judge" in qa
    else:  # it scored none: the reference metrics decide, and a judge that decides nothing adds no caveat
        assert "Deciding judge: `reference@" in report and "judge:" not in qa
