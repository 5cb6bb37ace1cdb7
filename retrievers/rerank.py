"""Reranking: a cross-encoder (sentence-transformers ``CrossEncoder``, any local model folder)
re-scores (question, passage) pairs of a first-stage ranking, best first.

Example: ``CrossEncoderReranker("models/my-reranker").rerank(q, hits, passages)``
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.errors import MissingDependencyError, RagftError
from bench.types import Passage
from retrievers.base import Hit
from retrievers.bm25 import passage_text

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores each (query, title + text) pair with a cross-encoder; ties keep the first-stage order."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 32, max_length: int = 512) -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise MissingDependencyError("sentence-transformers", "rag", "The cross-encoder reranker") from None
        p = Path(model).expanduser()
        if not p.is_dir():
            raise RagftError(
                f"retrieval.reranker '{model}' is not a model folder (a sentence-transformers CrossEncoder or a "
                "transformers sequence-classification model with one label; nothing is downloaded)"
            )
        try:
            self.model: Any = CrossEncoder(str(p), device=device, max_length=max_length)
        except (OSError, ValueError) as e:
            raise RagftError(f"retrieval.reranker: cannot load a cross-encoder from {p}: {e}") from None
        self.id = f"cross-encoder-{p.name}"
        self.batch_size = batch_size

    def scores(self, query: str, passages: list[Passage]) -> list[float]:
        if not passages:
            return []
        pairs = [(query, passage_text(p)) for p in passages]
        out = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        return [float(x) for x in out.reshape(len(passages), -1)[:, 0]]

    def rerank(self, query: str, hits: list[Hit], passages: list[Passage]) -> list[Hit]:
        """``hits`` (indexes into ``passages``) re-ordered by the cross-encoder's score, best first."""
        s = self.scores(query, [passages[h.index] for h in hits])
        order = sorted(range(len(hits)), key=lambda i: (-s[i], i))
        return [Hit(hits[i].id, s[i], hits[i].index) for i in order]


@lru_cache(maxsize=2)
def get_reranker(model: str, device: str | None = None) -> CrossEncoderReranker:
    return CrossEncoderReranker(model, device=device)
