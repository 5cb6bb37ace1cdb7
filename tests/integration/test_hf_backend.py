"""The real hf backend (transformers + peft) on a tiny random Llama built offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.backends import GenFailure
from bench.backends.hf import HFBackend
from bench.prompts import PromptTemplate
from bench.types import Completion, Example, GenRequest, Sampling


def reqs(n: int, sampling: Sampling, adapter: str | None = None) -> list[GenRequest]:
    tpl = PromptTemplate.for_kind("qa")
    out = []
    for i in range(n):
        ex = Example(id=f"e{i}", task="t", kind="qa", question="みなと市の手数料は" * (1 + i % 3) + "？")
        out.append(GenRequest(example_id=ex.id, task="t", arm="base", messages=tpl.messages(ex), sampling=sampling, adapter=adapter))
    return out


def test_batched_generation_counts_tokens_and_respects_limits(tiny_model: Path) -> None:
    b = HFBackend(str(tiny_model), dtype="float32", batch_size=4)
    res = b.generate(reqs(6, Sampling(max_new_tokens=7, stop=[])))
    assert len(res) == 6
    for r in res:
        assert isinstance(r, Completion)
        assert 1 <= r.output_tokens <= 7
        assert r.prompt_tokens > 10 and r.latency_s > 0
        assert r.finish_reason in ("length", "eos")
    # prompts start with BOS exactly once
    ids = b._encode(reqs(1, Sampling())[0])
    assert ids[0] == b.tokenizer.bos_token_id and ids[1] != b.tokenizer.bos_token_id


def test_greedy_is_deterministic_and_batch_order_is_preserved(tiny_model: Path) -> None:
    b = HFBackend(str(tiny_model), dtype="float32", batch_size=3)
    rs = reqs(5, Sampling(max_new_tokens=5, stop=[]))
    a = b.generate(rs)
    c = b.generate(list(reversed(rs)))
    assert [x.text for x in a] == [x.text for x in reversed(c)]  # type: ignore[union-attr]


def test_stop_strings_cut_the_text(tiny_model: Path) -> None:
    b = HFBackend(str(tiny_model), dtype="float32", batch_size=2)
    free = b.generate(reqs(2, Sampling(max_new_tokens=12, stop=[])))
    text = free[0].text  # type: ignore[union-attr]
    assert len(text) >= 2
    stop = text.strip()[1]  # a character that does occur after the first one
    cut = b.generate(reqs(2, Sampling(max_new_tokens=12, stop=[stop])))
    assert stop not in cut[0].text  # type: ignore[union-attr]
    assert cut[0].finish_reason == "stop"  # type: ignore[union-attr]


def test_too_long_prompt_is_a_counted_failure(tiny_model: Path) -> None:
    b = HFBackend(str(tiny_model), dtype="float32", batch_size=2, max_model_len=32)
    res = b.generate(reqs(1, Sampling(max_new_tokens=8)))
    assert isinstance(res[0], GenFailure) and "max_model_len" in res[0].error


def test_lora_adapter_per_request_changes_output(tiny_model: Path, tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    with torch.no_grad():
        for n, p in peft_model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 2.0)
    peft_model.save_pretrained(str(tmp_path / "ad"))
    from tests.lora_fixture import lora_spec

    spec = lora_spec(tiny_model, tmp_path / "ad", tmp_path / "reg")
    b = HFBackend(str(tiny_model), dtype="float32", batch_size=4, adapters={"ad": spec})  # type: ignore[dict-item]
    s = Sampling(max_new_tokens=6, stop=[])
    plain = b.generate(reqs(3, s))
    mixed = b.generate(reqs(3, s, adapter="ad") + reqs(3, s))
    assert [x.text for x in mixed[3:]] == [x.text for x in plain]  # type: ignore[union-attr]
    assert [x.text for x in mixed[:3]] != [x.text for x in plain]  # type: ignore[union-attr]
    with pytest.raises(Exception, match="not given"):
        b.generate(reqs(1, s, adapter="unknown"))


def test_out_of_memory_splits_the_batch(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: batches larger than 2 raise torch.OutOfMemoryError; the backend halves and retries."""
    import torch

    b = HFBackend(str(tiny_model), dtype="float32", batch_size=8)
    real = b._generate_batch
    sizes: list[int] = []

    def flaky(batch, sampling, adapter):  # type: ignore[no-untyped-def]
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return real(batch, sampling, adapter)

    monkeypatch.setattr(b, "_generate_batch", flaky)
    s = Sampling(max_new_tokens=3, stop=[])
    res = b.generate(reqs(8, s))
    assert all(isinstance(r, Completion) for r in res)
    assert sizes[0] == 8 and max(sizes[1:]) <= 4 and sizes.count(2) == 4
    expected = HFBackend(str(tiny_model), dtype="float32", batch_size=1).generate(reqs(8, s))
    assert [r.text for r in res] == [r.text for r in expected]  # type: ignore[union-attr]


def test_device_time_is_the_batch_time_shared_and_excludes_the_model_load(tiny_model: Path) -> None:
    import time

    b = HFBackend(str(tiny_model), dtype="float32", batch_size=4)
    assert b.start_seconds is None
    t0 = time.perf_counter()
    res = b.generate(reqs(4, Sampling(max_new_tokens=6, stop=[])))
    wall = time.perf_counter() - t0
    assert b.start_seconds is not None and b.start_seconds > 0  # loading the weights: a fixed cost
    done = [r for r in res if isinstance(r, Completion)]
    assert len(done) == 4
    lat = done[0].latency_s
    assert all(r.latency_s == lat for r in done)  # one padded batch: every member waited for all of it
    assert sum(r.device_s for r in done) == pytest.approx(lat, abs=1e-4)  # type: ignore[misc]
    assert lat <= wall - b.start_seconds + 1e-3  # the load is not part of the pass
