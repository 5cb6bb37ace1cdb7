"""BM25 over Japanese passages: ``bm25s`` (sparse matrices) as the engine, ``rank-bm25`` as the
reference, both fed by ``retrievers.japanese`` tokens (no English stopwords, no stemming).

Only passages that share at least one term with the query are returned: a query whose tokens
are all unknown (or that has no tokens, e.g. only punctuation) gives ``[]`` and a warning,
never an all-zero ranking dressed up as a result.

Example: ``BM25Index(task.passages, get_tokenizer("fugashi")).search("粗大ごみの手数料", 3)``
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bench.errors import MissingDependencyError, RagftError
from bench.store.disk import atomic_write
from bench.types import Passage
from retrievers.base import Hit, check_corpus, check_k
from retrievers.japanese import Tokenizer

log = logging.getLogger(__name__)

Engine = Literal["bm25s", "rank-bm25"]


def passage_text(p: Passage) -> str:
    """What gets indexed: the title (when there is one) and the text."""
    return f"{p.title}\n{p.text}" if p.title else p.text


class BM25Index:
    """BM25 (k1, b) over passages with a pluggable tokenizer and engine."""

    def __init__(
        self,
        passages: list[Passage],
        tokenizer: Tokenizer,
        *,
        engine: Engine = "bm25s",
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        corpus_tokens: list[list[str]] | None = None,
    ) -> None:
        check_corpus(passages)
        if engine not in ("bm25s", "rank-bm25"):
            raise ValueError(f"unknown BM25 engine {engine!r}; choose 'bm25s' or 'rank-bm25'")
        self.passages = passages
        self.tokenizer = tokenizer
        self.engine = engine
        self.id = f"bm25-{engine}-{tokenizer.id}"
        self.corpus_tokens = corpus_tokens or [tokenizer.tokenize(passage_text(p)) for p in passages]
        if len(self.corpus_tokens) != len(passages):
            raise ValueError(f"corpus_tokens has {len(self.corpus_tokens)} entries for {len(passages)} passages")
        if not any(self.corpus_tokens):
            raise RagftError("corpus: no passage has any indexable token (only punctuation or empty text?)")
        self.vocab = {t for toks in self.corpus_tokens for t in toks}
        self._impl: Any
        if engine == "bm25s":
            try:
                import bm25s
            except ImportError:
                raise MissingDependencyError("bm25s", "rag", "BM25 retrieval") from None
            logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
            self._impl = bm25s.BM25(k1=k1, b=b, method=method)
            self._impl.index(self.corpus_tokens, show_progress=False)
        else:
            try:
                from rank_bm25 import BM25Okapi
            except ImportError:
                raise MissingDependencyError("rank-bm25", "rag", "The rank-bm25 engine") from None
            # rank-bm25 divides by zero on an empty document; give those a token nobody queries.
            toks = [t if t else ["\x00"] for t in self.corpus_tokens]
            self._impl = BM25Okapi(toks, k1=k1, b=b)

    def query_tokens(self, query: str) -> list[str]:
        return [t for t in self.tokenizer.tokenize(query) if t in self.vocab]

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every passage, or None when the query has no token the corpus knows."""
        raw = self.tokenizer.tokenize(query)
        if not raw:
            log.warning("BM25: query %r has no indexable tokens (empty or only punctuation); no results", query[:80])
            return None
        toks = [t for t in raw if t in self.vocab]
        if not toks:
            log.warning("BM25: no token of query %r occurs in the corpus %s; no results", query[:80], raw[:8])
            return None
        return np.asarray(self._impl.get_scores(toks), dtype=np.float64)

    def search(self, query: str, k: int) -> list[Hit]:
        check_k(k)
        s = self.scores(query)
        if s is None:
            return []
        k = min(k, len(s))
        top = np.argpartition(-s, k - 1)[:k]
        # stable order: score descending, then corpus position
        order = sorted(top.tolist(), key=lambda i: (-s[i], i))
        return [Hit(self.passages[i].id, float(s[i]), i) for i in order if s[i] > 0]

    def save_tokens(self, path: Path) -> None:
        atomic_write(path, json.dumps(self.corpus_tokens, ensure_ascii=False))


def load_tokens(path: Path, n: int) -> list[list[str]] | None:
    """Cached corpus tokens, or None when absent or not for ``n`` passages."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, list) or len(data) != n:
        return None
    return [list(map(str, x)) for x in data]
