"""Config of the alternatives to rag: [longctx], retrieval.reranker, lora.raft (errors name file and key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import load_config
from bench.errors import InputError, RagftError
from bench.registry import arm_parts, is_diagnostic

MINIMAL = """
arms = ["rag", "longctx", "rag+lora", "rag+raft"]
[[tasks]]
name = "qa"
loader = "qa-jsonl"
path = "bundled:qa"
corpus = "bundled:corpus.jsonl"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_keep_todays_behaviour(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.retrieval.reranker is None and cfg.lora[0].raft is False
    assert cfg.longctx.order == "bm25" and cfg.longctx.max_context_tokens is None
    assert arm_parts("rag+raft") == ["rag", "raft"] and not is_diagnostic("longctx")
    assert "raft" not in cfg.lora[0].training_identity()  # adapters trained before keep their cache key


@pytest.mark.parametrize(("extra", "key", "words"), [
    ("[longctx]\norder = \"random\"\n", "longctx.order", "bm25"),
    ("[longctx]\nmax_context_tokens = 3\n", "longctx.max_context_tokens", "16"),
    ("[retrieval]\nreranker = \"x\"\nk = 5\nrerank_top_n = 3\n", "retrieval", "rerank_top_n"),
    ("[lora]\nraft_distractors = -1\n", "lora.raft_distractors", "0"),
])
def test_bad_values_name_the_key(tmp_path: Path, extra: str, key: str, words: str) -> None:
    p = write(tmp_path, MINIMAL + extra)
    with pytest.raises(InputError) as e:
        load_config(p)
    assert str(p) in str(e.value) and key in str(e.value) and words in str(e.value)


def test_raft_items_need_retrieved_passages(tmp_path: Path) -> None:
    from adapters.data import build_training_items

    cfg = load_config(write(tmp_path, MINIMAL + "[lora]\nraft = true\n"))
    with pytest.raises(RagftError, match="retrieved passages"):
        build_training_items(cfg, tokenizer=object())
