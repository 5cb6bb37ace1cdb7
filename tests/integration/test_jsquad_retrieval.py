"""BM25 on the real JSQuAD v1.3 valid paragraphs (skipped when ../shared/data is absent)."""

from __future__ import annotations

import pytest

from bench.benchmarks.jsquad_retrieval import load_jsquad
from retrievers.bm25 import BM25Index
from retrievers.japanese import get_tokenizer
from retrievers.metrics import evaluate
from tests.conftest import shared_data_or_skip

pytestmark = pytest.mark.shared_data


def test_bm25_recall_on_jsquad_valid() -> None:
    path = shared_data_or_skip("jglue", "jsquad-v1.3", "valid-v1.3.json")
    passages, questions = load_jsquad(path)
    assert len(passages) == 1145 and len(questions) == 4442
    assert len({p.id for p in passages}) == len(passages)
    assert questions[0][0].startswith(questions[0][2] + "q")
    idx = BM25Index(passages, get_tokenizer("fugashi"))
    sample = questions[::20]
    runs = [([h.id for h in idx.search(q, 10)], [g]) for _, q, g in sample]
    m = evaluate(runs, ks=(1, 5, 10))
    assert m["recall@5"] > 0.85 and m["mrr"] > 0.75
    # whitespace splitting (one token per clause) is far worse: the reason for morphological tokens
    class Split:
        id = "split"

        def tokenize(self, text: str) -> list[str]:
            return text.split()

    ws = BM25Index(passages, Split())
    runs_ws = [([h.id for h in ws.search(q, 10)], [g]) for _, q, g in sample]
    assert evaluate(runs_ws, ks=(5,))["recall@5"] < m["recall@5"] - 0.3


def test_chunked_jsquad_is_scored_at_the_gold_paragraphs() -> None:
    """chunk_size on JSQuAD: chunks cut across paragraphs carry the paragraphs they overlap, so
    recall is measured against the gold paragraph (chunk ids alone never match: recall 0)."""
    import re

    from bench.config.retrieval import RetrievalSection
    from retrievers.passages import corpus_passages, unit_sources
    from tasks.jglue import load_jsquad_qa

    path = shared_data_or_skip("jglue", "jsquad-v1.3")
    task = load_jsquad_qa("jsquad", path)
    chunks = corpus_passages(task, RetrievalSection(chunk_size=200, chunk_overlap=30))
    assert len(chunks) > len(task.passages) // 2 and all(c.id.split("-c")[0] == c.doc_id for c in chunks)
    by_id = {p.id: p for p in task.passages}
    word = re.compile(r"\w")
    for c in chunks:  # the letters and digits of a chunk all come from the paragraphs it names
        assert c.source_passages and all(by_id[s].doc_id == c.doc_id for s in c.source_passages)
        src = "".join(word.findall("".join(by_id[s].text for s in c.source_passages)))
        assert "".join(word.findall(c.text)) in src, c.id
    assert sum(len(c.source_passages) > 1 for c in chunks) > len(chunks) // 10  # many span two paragraphs
    idx = BM25Index(chunks, get_tokenizer("fugashi"))
    sample = [e for s in task.splits.values() for e in s][::20]
    runs = [([h.id for h in idx.search(e.question, 10)], e.gold_passages) for e in sample]
    m = evaluate(runs, ks=(1, 5, 10), sources=unit_sources(chunks))
    assert m["recall@5"] > 0.8 and m["mrr"] > 0.65 and 0 < m["ndcg@5"] <= 1
    assert evaluate(runs, ks=(5,))["recall@5"] == 0.0  # what chunking did before: ids never match
