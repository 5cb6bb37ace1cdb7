"""A tiny random Llama with a byte-level BPE tokenizer trained on Japanese lines, built offline
(no model files, no downloads): the tests' model and the GPU check's.

Example: ``path = build_tiny_model(Path("/tmp/tiny"), hidden=256, layers=4)``
"""

from __future__ import annotations

from pathlib import Path

JA_LINES = [
    "みなと市の粗大ごみは予約制です。手数料は一点四百円からです。",
    "住民票の写しはコンビニで取得できます。マイナンバーカードが必要です。",
    "申請期限は令和八年五月三十一日です。窓口は市民課です。",
    "以下は、タスクを説明する指示と、入力の組み合わせです。要求を適切に満たす応答を書きなさい。",
    "### 指示:\n質問に答えてください。\n\n### 質問:\n東京タワーは何メートルですか？\n\n### 応答:\n三百三十三メートル",
    "避難所は小学校の体育館です。備蓄は三日分を目安にしてください。",
    "0 1 2 3 4 選択肢 回答 文書 質問 応答 指示",
]


def build_tiny_model(root: Path, *, hidden: int = 128, layers: int = 2, heads: int = 2) -> Path:
    """A Llama of ``layers`` layers (head_dim 64) with a 600-token BPE tokenizer, saved with
    ``save_pretrained`` (float32 safetensors) into ``root``."""
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
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.save_pretrained(str(root))
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, head_dim=64, max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(cfg)  # type: ignore[no-untyped-call]
    model.save_pretrained(str(root), safe_serialization=True)
    return root
