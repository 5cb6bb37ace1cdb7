"""Shared fixtures: a tiny random Llama + a BPE tokenizer trained on Japanese lines, built offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# ../shared/data next to the checkout; RAGFT_SHARED_DATA points elsewhere (e.g. from a worktree)
SHARED_DATA = Path(os.environ.get("RAGFT_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")

JA_LINES = [
    "みなと市の粗大ごみは予約制です。手数料は一点四百円からです。",
    "住民票の写しはコンビニで取得できます。マイナンバーカードが必要です。",
    "申請期限は令和八年五月三十一日です。窓口は市民課です。",
    "以下は、タスクを説明する指示と、入力の組み合わせです。要求を適切に満たす応答を書きなさい。",
    "### 指示:\n質問に答えてください。\n\n### 質問:\n東京タワーは何メートルですか？\n\n### 応答:\n三百三十三メートル",
    "避難所は小学校の体育館です。備蓄は三日分を目安にしてください。",
    "0 1 2 3 4 選択肢 回答 文書 質問 応答 指示",
]


# Hypothesis profiles (select with --hypothesis-profile=NAME). "ci" is the default, so `make test`
# runs the full fuzz budget of tests/fuzz_support.py (>= 10,000 inputs); "dev" runs a tenth of it
# for quick iterations and "deep" ten times it for a bug hunt. No deadline: a per-example time
# limit is a timed assertion that fails on a loaded machine, not on a wrong result.
settings.register_profile("ci", max_examples=1000, deadline=None, print_blob=True)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=100)
settings.register_profile("deep", settings.get_profile("ci"), max_examples=10_000)
settings.load_profile("ci")


def build_tiny_model(root: Path) -> Path:
    """A 2-layer Llama (head_dim 64) with a byte-level BPE tokenizer, saved with save_pretrained."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    root.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(JA_LINES * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.save_pretrained(str(root))
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(fast), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, head_dim=64, max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(str(root), safe_serialization=True)
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own generation cache; the embedded model cache is shared (read-only use)."""
    if "RAGFT_TEST_SHARED_CACHE" not in os.environ:
        monkeypatch.setenv("RAGFT_CACHE", str(tmp_path / "cache"))


def shared_data_or_skip(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent (shared data is not part of a clean clone)")
    return p


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.counters import REPORTS

    if REPORTS:
        terminalreporter.section("robustness counts")
        for name, line in sorted(REPORTS.items()):
            terminalreporter.write_line(f"{name}: {line}")
