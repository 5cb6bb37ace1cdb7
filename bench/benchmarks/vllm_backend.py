"""Benchmark: the vllm backend against hf and against a bare ``LLM.generate`` loop, same prompts, one run.

Prints three things, all measured in this run on the same prompts:

1. parity — greedy token sequences of hf and vllm, base and with one LoRA (a random adapter
   built here with peft), identical or within the other backend's top-5 (``bench.parity``);
2. vllm vs hf — tokens/s of ``VLLMBackend.generate`` vs ``HFBackend.generate`` (batched);
3. harness overhead — tokens/s of ``VLLMBackend.generate`` vs a bare ``LLM.generate`` on the
   same engine, token ids and sampling parameters (aim: ratio >= 0.9).

Example: ``python -m bench.benchmarks.vllm_backend --model embedded:gemma-3-270m --n 16 --new-tokens 32``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.backends.base import GenFailure, GenResult
from bench.benchmarks.hf_batching import QUESTIONS
from bench.models import resolve_model
from bench.prompts import PromptTemplate
from bench.types import Example, GenRequest, Sampling


def build_requests(n: int, sampling: Sampling, adapter: str | None = None) -> list[GenRequest]:
    tpl = PromptTemplate.for_kind("qa")
    return [
        GenRequest(
            example_id=str(i), task="bench", arm="lora" if adapter else "base", sampling=sampling, adapter=adapter,
            messages=tpl.messages(Example(id=str(i), task="bench", kind="qa", question=QUESTIONS[i % len(QUESTIONS)])),
        )
        for i in range(n)
    ]


def random_lora(model_path: str, out: Path, rank: int = 8) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    torch.manual_seed(0)
    model = get_peft_model(base, LoraConfig(r=rank, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    model.save_pretrained(str(out))
    return out


def tokens(results: list[GenResult]) -> int:
    return sum(r.output_tokens for r in results if not isinstance(r, GenFailure))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="embedded:gemma-3-270m")
    ap.add_argument("--n", type=int, default=16, help="prompts per pass")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--hf-batch", type=int, default=16)
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.35)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per side (median reported)")
    ap.add_argument("--parity-n", type=int, default=8, help="prompts per arm for parity (0: skip)")
    ap.add_argument("--skip-hf", action="store_true", help="only the harness-overhead comparison")
    ap.add_argument("--run-dir", type=Path, default=None, help="record the parity result as a caveat of this run")
    a = ap.parse_args()

    from vllm.inputs import TokensPrompt

    from bench.backends.hf import HFBackend
    from bench.backends.parity import compare, summary
    from bench.backends.vllm import VLLMBackend

    path = resolve_model(a.model)
    s = Sampling(max_new_tokens=a.new_tokens, stop=[])  # no stops, fixed budget: every side generates alike
    reqs = build_requests(a.n, s)
    with tempfile.TemporaryDirectory() as tmp:
        from adapters.identity import spec_for_folder
        from adapters.registry import Registry

        lora = spec_for_folder(random_lora(path, Path(tmp) / "lora"), path, prefix="bench",
                               registry=Registry(Path(tmp) / "registry"))
        # hf first: vLLM's worker processes keep polling the CPU while idle, which would slow hf down
        hf = HFBackend(path, dtype=a.dtype, batch_size=a.hf_batch, adapters={"bench": lora})
        hf_rate = 0.0
        if not a.skip_hf:
            hf.generate(reqs[:2])  # warm-up (loads weights)
            t0 = time.perf_counter()
            n_hf = tokens(hf.generate(reqs))
            hf_rate = n_hf / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        vl = VLLMBackend(path, dtype=a.dtype, max_model_len=2048, adapters={"bench": lora},
                         gpu_memory_utilization=a.gpu_memory_utilization)
        vl.generate(build_requests(2, Sampling(max_new_tokens=4, stop=[])))
        print(f"model {a.model} dtype {a.dtype}; vLLM engine up in {time.perf_counter() - t0:.0f} s")
        params = vl.sampling_params(s)
        prompts = [TokensPrompt(prompt_token_ids=vl.encode(r)) for r in reqs]
        t_ours: list[float] = []
        t_bare: list[float] = []
        n_ours = n_bare = 0
        for _ in range(a.repeats):  # alternate, so load changes hit both sides alike
            t0 = time.perf_counter()
            outs = vl.llm.generate(prompts, params, use_tqdm=False)
            t_bare.append(time.perf_counter() - t0)
            n_bare = sum(len(o.outputs[0].token_ids) for o in outs)
            t0 = time.perf_counter()
            n_ours = tokens(vl.generate(reqs))
            t_ours.append(time.perf_counter() - t0)
        ours = n_ours / statistics.median(t_ours)
        bare = n_bare / statistics.median(t_bare)
        best_ours, best_bare = n_ours / min(t_ours), n_bare / min(t_bare)
        print(f"{a.n} prompts x {a.new_tokens} new tokens, greedy:")
        print(f"  bare LLM.generate : {bare:7.1f} tok/s median, {best_bare:7.1f} best of {a.repeats}")
        print(f"  ragft vllm backend: {ours:7.1f} tok/s median, {best_ours:7.1f} best of {a.repeats}")
        print(f"ratio vllm-backend / bare LLM.generate: median {ours / bare:.3f}, best {best_ours / best_bare:.3f} "
              f"(harness overhead {100 * (1 - best_ours / best_bare):.1f}% on best times)")
        if hf_rate:
            print(f"  ragft hf backend  : {hf_rate:7.1f} tok/s (batch {a.hf_batch}, measured before vLLM started)")
            print(f"ratio vllm / hf: {ours / hf_rate:.2f}x")

        # parity, base and LoRA in one mixed vLLM pass
        if a.parity_n > 0:
            pairs = compare(hf, vl, build_requests(a.parity_n, s, "bench") + build_requests(a.parity_n, s),
                            new_tokens=a.new_tokens, k=5)
            for arm in ("bench", None):
                sub = [r for r in pairs if r.adapter == arm]
                bad = [(r.example_id, r.outside_top_k) for r in sub if not r.ok]
                print(f"parity {'lora' if arm else 'base'}: {summary(sub)}" + (f"; outside top-5: {bad}" if bad else ""))
            if a.run_dir is not None:
                from bench.backends.parity import record_parity

                print(f"parity caveats recorded in {a.run_dir}: {len(record_parity(a.run_dir, pairs, k=5))}")
        vl.close()


if __name__ == "__main__":
    main()
