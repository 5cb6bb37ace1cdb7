"""Pure retrieval logic: tokenizers, BM25 against rank-bm25, fusion, metrics, chunking, bad input."""

from __future__ import annotations

import logging
import math

import pytest

from bench.errors import RagftError
from bench.types import Passage
from retrievers.bm25 import BM25Index
from retrievers.chunking import chunk_passages, chunk_text
from retrievers.fusion import rrf, weighted
from retrievers.japanese import BigramTokenizer, FugashiTokenizer, get_tokenizer, normalize
from retrievers.metrics import evaluate, ndcg_at_k, recall_at_k, reciprocal_rank

TEXTS = [
    "東京タワーの高さは333メートルです。",
    "スカイツリーの高さは634メートルです。",
    "みなと市の粗大ごみは予約制で、手数料は一点400円からです。",
    "住民票の写しはコンビニで取得できます。",
    "避難所は小学校の体育館です。",
    "図書館の開館時間は午前9時から午後7時までです。",
]


def passages(texts: list[str] = TEXTS) -> list[Passage]:
    return [Passage(id=f"p{i}", doc_id="d", text=t) for i, t in enumerate(texts)]


def test_fugashi_splits_japanese_into_words() -> None:
    toks = FugashiTokenizer().tokenize("東京タワーは何メートルですか")
    assert toks == ["東京", "タワー", "何", "メートル"]
    assert "東京タワーは何メートルですか".split() == ["東京タワーは何メートルですか"]  # what we avoid


def test_fugashi_nfkc_and_punctuation() -> None:
    tok = FugashiTokenizer()
    assert tok.tokenize("ＡＢＣ株式会社、２０２５年！") == tok.tokenize("abc株式会社、2025年!")
    assert tok.tokenize("。、！？…「」") == []
    assert FugashiTokenizer(drop_function_words=False).tokenize("東京は") == ["東京", "は"]


def test_bigram_tokenizer() -> None:
    assert BigramTokenizer().tokenize("東京タワー、高い") == ["東京", "京タ", "タワ", "ワー", "高い"]
    assert BigramTokenizer().tokenize("a。") == ["a"]
    assert normalize("ｶﾀｶﾅＡ") == "カタカナa"


def test_unknown_tokenizer_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown tokenizer 'mecab'"):
        get_tokenizer("mecab")


def test_bm25_finds_the_right_passage() -> None:
    idx = BM25Index(passages(), get_tokenizer("fugashi"))
    hits = idx.search("東京タワーは何メートルですか", 3)
    assert hits[0].id == "p0"
    assert all(h.score > 0 for h in hits)
    assert [h.index for h in hits] == [int(h.id[1:]) for h in hits]


def _rank_corpus() -> list[str]:
    # every term in fewer than half the documents: rank-bm25 and bm25s (robertson) share the idf
    words = ["東京", "大阪", "名古屋", "福岡", "札幌", "仙台", "広島", "京都", "神戸", "横浜", "千葉", "金沢"]
    docs = []
    for i in range(30):
        parts = [words[i % 12]] * (1 + i % 3) + [words[(i + 3) % 12], words[(7 * i + 1) % 12]]
        docs.append("と".join(parts) + "。")
    return docs


def test_bm25s_agrees_with_rank_bm25_reference() -> None:
    ps = passages(_rank_corpus())
    tok = get_tokenizer("fugashi")
    a = BM25Index(ps, tok, engine="bm25s", method="robertson")
    b = BM25Index(ps, tok, engine="rank-bm25")
    for q in ["東京と京都", "札幌", "横浜と神戸と金沢", "仙台と広島"]:
        sa, sb = a.scores(q), b.scores(q)
        assert sa is not None and sb is not None
        # bm25s leaves out rank-bm25's constant (k1 + 1) factor: same ranking, proportional scores
        assert sa * 2.5 == pytest.approx(sb, rel=1e-4, abs=1e-5)
        assert [h.id for h in a.search(q, 10)] == [h.id for h in b.search(q, 10)]


@pytest.mark.parametrize("engine", ["bm25s", "rank-bm25"])
@pytest.mark.parametrize("query", ["", "   ", "。、！？", "the quick brown fox"])
def test_bm25_bad_queries_give_no_results_with_warning(
    engine: str, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    idx = BM25Index(passages(), get_tokenizer("fugashi"), engine=engine)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        assert idx.search(query, 5) == []
    assert "no results" in caplog.text


def test_bm25_never_returns_zero_score_hits() -> None:
    idx = BM25Index(passages(), get_tokenizer("fugashi"))
    hits = idx.search("東京", 6)
    assert [h.id for h in hits] == ["p0"]


def test_bm25_bad_corpora() -> None:
    tok = get_tokenizer("fugashi")
    with pytest.raises(RagftError, match="empty corpus"):
        BM25Index([], tok)
    dup = [Passage(id="x", doc_id="d", text="東京"), Passage(id="x", doc_id="d", text="大阪")]
    with pytest.raises(RagftError, match="unique.*'x'"):
        BM25Index(dup, tok)
    with pytest.raises(RagftError, match="no passage has any indexable token"):
        BM25Index([Passage(id="a", doc_id="d", text="。。。")], tok)
    with pytest.raises(ValueError, match="engine 'lucene'"):
        BM25Index(passages(), tok, engine="lucene")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        BM25Index(passages(), tok).search("東京", 0)


def test_rrf() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d"]], k=60)
    assert [d for d, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert rrf([]) == []
    assert [d for d, _ in rrf([["x", "y"], ["y", "x"]])] == ["x", "y"]  # ties: first seen
    with pytest.raises(ValueError):
        rrf([["a"]], weights=[1.0, 2.0])


def test_weighted_fusion() -> None:
    fused = weighted([[("a", 10.0), ("b", 5.0), ("c", 0.0)], [("c", 0.9), ("b", 0.8), ("a", 0.1)]], [0.5, 0.5])
    # a and c tie at 0.5: first-seen order breaks the tie
    assert [d for d, _ in fused] == ["b", "a", "c"]
    assert dict(fused)["a"] == pytest.approx(0.5) and dict(fused)["c"] == pytest.approx(0.5)
    assert dict(fused)["b"] == pytest.approx(0.25 + 0.5 * (0.7 / 0.8))
    assert weighted([[], [("a", 1.0)]]) == [("a", 0.5)]


def test_metrics() -> None:
    assert recall_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert recall_at_k(["a", "b", "c"], {"c", "a"}, 3) == 1.0
    assert reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a"], {"z"}) == 0.0
    assert ndcg_at_k(["g", "x"], {"g"}, 2) == 1.0
    assert ndcg_at_k(["x", "g"], {"g"}, 2) == pytest.approx(1 / math.log2(3))
    m = evaluate([(["a", "b"], ["b"]), (["c"], ["c"]), (["z"], [])], ks=(1,))
    assert m["n"] == 2 and m["recall@1"] == 0.5 and m["mrr"] == 0.75
    with pytest.raises(ValueError):
        recall_at_k(["a"], set(), 1)


def test_chunking_is_stable_and_overlapping() -> None:
    text = "".join(f"これは{i}番目の文です。" for i in range(60))
    a = chunk_text("doc", text, size=100, overlap=20)
    b = chunk_text("doc", text, size=100, overlap=20)
    assert [p.id for p in a] == [f"doc-c{i:03d}" for i in range(1, len(a) + 1)]
    assert a == b
    assert all(len(p.text) <= 100 for p in a)
    assert all(p.text.endswith("。") for p in a[:-1])  # cut at sentence ends
    assert a[1].text[:5] in a[0].text  # overlap
    assert "".join(p.text for p in a).count("59番目") >= 1
    assert chunk_text("d", "短い") == [Passage(id="d-c001", doc_id="d", text="短い")]
    assert chunk_text("d", "   ") == []
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_text("d", text, size=50, overlap=50)


def test_chunks_carry_the_passages_they_overlap() -> None:
    ps = [Passage(id=f"d-p{i}", doc_id="d", text=f"{k}{k}{k}。" * 7) for i, k in enumerate("甲乙丙丁戊己")]
    chunks = chunk_passages("d", ps, size=50, overlap=10, title="T")
    text = "\n".join(p.text for p in ps)
    assert [c.id for c in chunks] == [c.id for c in chunk_text("d", text, size=50, overlap=10)]
    assert [c.text for c in chunks] == [c.text for c in chunk_text("d", text, size=50, overlap=10)]
    for c in chunks:
        assert c.doc_id == "d" and c.title == "T" and c.source_passages
        # exactly the passages whose (distinct) characters the chunk holds
        want = [p.id for p in ps if p.text[0] in c.text]
        assert c.source_passages == want, (c.text, c.source_passages)
    assert {s for c in chunks for s in c.source_passages} == {p.id for p in ps}
    assert any(len(c.source_passages) >= 2 for c in chunks)


def test_metrics_score_chunks_at_their_source_passages() -> None:
    sources = {"c1": ["p1"], "c2": ["p1", "p2"], "c3": ["p3"], "c4": ["p4"]}
    assert recall_at_k(["c3", "c2"], {"p2"}, 1, sources) == 0.0
    assert recall_at_k(["c3", "c2"], {"p2"}, 2, sources) == 1.0
    assert recall_at_k(["c2"], {"p1", "p2", "p4"}, 1, sources) == pytest.approx(2 / 3)
    assert recall_at_k(["c2"], {"p2"}, 1) == 0.0  # without the map a chunk id never matches a passage id
    assert reciprocal_rank(["c4", "c3", "c1"], {"p1"}, sources) == pytest.approx(1 / 3)
    assert reciprocal_rank(["c4"], {"p1"}, sources) == 0.0
    # p1 is in two chunks: the ideal ranking has both on top
    assert ndcg_at_k(["c1", "c2"], {"p1"}, 2, sources) == pytest.approx(1.0)
    assert ndcg_at_k(["c1", "c3"], {"p1"}, 2, sources) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    m = evaluate([(["c3", "c2"], ["p2"]), (["c4"], ["p1"])], ks=(1, 2), sources=sources)
    assert m["recall@1"] == 0.0 and m["recall@2"] == 0.5 and m["mrr"] == pytest.approx(0.25)


def test_retrieval_config_section() -> None:
    from bench.config import config_from_dict
    from bench.errors import InputError

    base = {"tasks": [{"name": "q", "loader": "qa-jsonl", "path": "bundled:qa", "corpus": "bundled:corpus.jsonl"}]}
    cfg = config_from_dict({**base, "arms": ["base", "rag", "oracle"], "retrieval": {"k": 5, "fusion": "weighted"}})
    assert cfg.retrieval.k == 5 and cfg.retrieval.retriever == "hybrid"
    with pytest.raises(InputError, match="retrieval.k"):
        config_from_dict({**base, "retrieval": {"k": 0}})
    with pytest.raises(InputError, match="retrieval.topk.*no such key"):
        config_from_dict({**base, "retrieval": {"topk": 3}})
    with pytest.raises(InputError, match="retrieval.embedder"):
        config_from_dict({**base, "retrieval": {"embedder": "openai"}})
    with pytest.raises(InputError, match="chunk_overlap"):
        config_from_dict({**base, "retrieval": {"chunk_size": 100, "chunk_overlap": 100}})
