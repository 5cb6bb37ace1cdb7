"""Benchmark: cost per query of one task's base and rag arms under the hf and the vllm backend,
same model, items, prompts and sampling, in one run of this script (fresh generations each time).

Prints, per backend and arm: mean prompt and output tokens, latency p50, device seconds per query
(each answer's share of its pass, engine start excluded) and the engine start, then the ratios
rag/base within a backend and vllm/hf per arm.

Example: ``python -m bench.benchmarks.cost_per_query --items 8 --new-tokens 32``
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any


def config(backend: str, model: str, items: int, new_tokens: int) -> dict[str, Any]:
    m: dict[str, Any] = {"id": model, "backend": backend, "dtype": "float32", "batch_size": 8, "max_model_len": 4096}
    if backend == "vllm":
        m.update(batch_size=64, gpu_memory_utilization=0.2)
    return {
        "arms": ["base", "rag"], "model": m, "run": {"output_dir": "reports", "seed": 0},
        "sampling": {"max_new_tokens": new_tokens, "temperature": 0.0},
        "tasks": [{"name": "minato_qa", "loader": "qa-jsonl", "path": "bundled:qa", "corpus": "bundled:corpus.jsonl",
                   "split": "test", "limit": items}],
        "retrieval": {"k": 3},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="embedded:gemma-3-270m")
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--backends", nargs="+", default=["hf", "vllm"])
    a = ap.parse_args()

    from bench.config import CostSection, config_from_dict
    from bench.engine.runner import Runner
    from bench.models import cache_dir
    from bench.report.costs import arm_costs
    from bench.report.results import load_rows
    from bench.report.rundata import RunData

    shared = cache_dir()
    got: dict[tuple[str, str], Any] = {}
    starts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ragft-cost-") as tmp:
        # a fresh generation cache (every answer generated now); models and indexes shared
        cache = Path(tmp) / "cache"
        cache.mkdir()
        for sub in ("models", "retrieval"):
            (shared / sub).mkdir(parents=True, exist_ok=True)
            (cache / sub).symlink_to(shared / sub)
        os.environ["RAGFT_CACHE"] = str(cache)
        for backend in a.backends:
            cfg = config_from_dict(config(backend, a.model, a.items, a.new_tokens))
            res = Runner(cfg, output_dir=Path(tmp) / backend).run()
            rd = RunData.load(res.run_dir)
            costs = arm_costs(rd.costs, load_rows(rd), CostSection(), rd.device())
            starts[backend] = sum(e.seconds for e in rd.costs.fixed if e.kind == "engine_start")
            for (_, arm), c in costs.items():
                got[(backend, arm)] = c
    print(f"\nminato_qa, {a.items} items, {a.model}, greedy, {a.new_tokens} new tokens max")
    print(f"{'backend':<8} {'arm':<5} {'prompt tok':>10} {'out tok':>8} {'lat p50 s':>10} {'device s/q':>11} {'engine start s':>15}")
    for (backend, arm), c in sorted(got.items()):
        print(f"{backend:<8} {arm:<5} {c.prompt_tokens_mean:10.0f} {c.output_tokens_mean:8.1f} {c.latency_p50_s:10.3f} "
              f"{c.device_s_per_query:11.4f} {starts[backend]:15.1f}")
    for backend in a.backends:
        b, r = got.get((backend, "base")), got.get((backend, "rag"))
        if b and r and b.device_s_per_query and r.device_s_per_query:
            print(f"{backend}: rag/base device s per query {r.device_s_per_query / b.device_s_per_query:.2f}x "
                  f"(prompt tokens {r.prompt_tokens_mean / b.prompt_tokens_mean:.2f}x)")
    if "hf" in a.backends and "vllm" in a.backends:
        for arm in ("base", "rag"):
            h, v = got.get(("hf", arm)), got.get(("vllm", arm))
            if h and v and h.device_s_per_query and v.device_s_per_query:
                print(f"{arm}: vllm/hf device s per query {v.device_s_per_query / h.device_s_per_query:.2f}x")


if __name__ == "__main__":
    main()
