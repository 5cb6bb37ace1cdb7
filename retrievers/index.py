"""Build (or load from the cache) the BM25, dense and hybrid retrievers for a set of passages.

Cached under ``$RAGFT_CACHE/retrieval/``: BM25 corpus tokens keyed by (corpus hash, tokenizer)
and passage embeddings keyed by (corpus hash, embedder); a change of either rebuilds only that
part. Within a process, stacks are also memoised per (corpus hash, settings). The first build's
time is kept beside them (``builds/``) and reported as the index's build cost when a later run
loads them.

Example: ``stack = build_stack(task.passages, cfg.retrieval); stack.get("hybrid").search(q, 3)``
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config.retrieval import RetrievalSection
from bench.store.disk import checkpoint
from bench.types import Passage
from retrievers.base import Hit, Retriever, check_corpus, corpus_hash
from retrievers.bm25 import BM25Index, load_tokens
from retrievers.dense import DenseIndex, get_embedder
from retrievers.fusion import HybridRetriever
from retrievers.japanese import get_tokenizer

log = logging.getLogger(__name__)

RETRIEVERS = ("bm25", "dense", "hybrid")


def retrieval_cache() -> Path:
    from bench.models import cache_dir

    return cache_dir() / "retrieval"


@dataclass
class RetrievalStack:
    """The three retrievers over one set of passages."""

    passages: list[Passage]
    bm25: BM25Index
    dense: DenseIndex
    hybrid: HybridRetriever
    # the seconds the first build of these indexes took (tokenizing, embedding, indexing), kept
    # beside the cached parts so that a run loading them reports the build, not the load
    build_seconds: float = 0.0
    build_device: str = "cpu"
    loaded: bool = False  # True when this process found the build record (the indexes were cached)

    def get(self, name: str) -> Retriever:
        if name == "bm25":
            return self.bm25
        if name == "dense":
            return self.dense
        if name == "hybrid":
            return self.hybrid
        raise ValueError(f"unknown retriever {name!r}; choose one of {RETRIEVERS}")

    def search_all(self, query: str, k: int, within: set[str] | None = None) -> dict[str, list[Hit]]:
        """Each retriever's top ``k`` (the hybrid fuses the two parts' lists), optionally only
        among the passages whose ids are in ``within`` (e.g. one document's passages)."""
        n = max(k, self.hybrid.k_each)
        if within is None:
            b = self.bm25.search(query, n)
            d = self.dense.search(query, n)
        else:
            full = len(self.passages)
            b = [h for h in self.bm25.search(query, full) if h.id in within][:n]
            d = [h for h in self.dense.search(query, full) if h.id in within][:n]
        return {"bm25": b[:k], "dense": d[:k], "hybrid": self.hybrid.fuse(b, d, k)}


_MEMO: dict[tuple[str, str], RetrievalStack] = {}


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", s)[:120]


def build_stack(
    passages: list[Passage],
    rc: RetrievalSection,
    *,
    cache: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    what: str = "corpus",
) -> RetrievalStack:
    check_corpus(passages, what)
    h = corpus_hash(passages)
    memo_key = (h, rc.model_dump_json())
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    t0 = time.perf_counter()
    cache = cache if cache is not None else retrieval_cache()
    tok = get_tokenizer(rc.tokenizer)
    tok_path = cache / "bm25" / f"{h}-{_safe(tok.id)}.json"
    tokens = load_tokens(tok_path, len(passages))
    if progress:
        progress("tokenize", 0, len(passages))
    bm25 = BM25Index(passages, tok, engine=rc.engine, corpus_tokens=tokens)
    if tokens is None:
        bm25.save_tokens(tok_path)
    checkpoint("index")  # between the bm25 and the dense index (kill tests; no-op in normal use)
    if progress:
        progress("tokenize", len(passages), len(passages))
    emb = get_embedder(rc.embedder)
    dense = DenseIndex(
        passages, emb, cache=cache, index_kind=rc.index,
        progress=(lambda i, n: progress("embed", i, n)) if progress else None,
    )
    hybrid = HybridRetriever(bm25, dense, rc.fusion, rc.k_each)
    stack = RetrievalStack(passages, bm25, dense, hybrid)
    record = cache / "builds" / f"{h}-{_build_key(tok.id, rc)}.json"
    built = _read_build(record)
    if built is None:
        built = (time.perf_counter() - t0, _device())
        _write_build(record, *built)
    else:
        stack.loaded = True
    stack.build_seconds, stack.build_device = built
    _MEMO[memo_key] = stack
    return stack


def _build_key(tokenizer_id: str, rc: RetrievalSection) -> str:
    """What the built parts depend on (not k, fusion or k_each, which only change the search)."""
    parts = [tokenizer_id, rc.engine, rc.embedder, rc.index]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def _device() -> str:
    from bench.store.costs import current_device

    return current_device()


def _read_build(path: Path) -> tuple[float, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return float(data["seconds"]), str(data["device"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_build(path: Path, seconds: float, device: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"seconds": round(seconds, 3), "device": device}), encoding="utf-8")
    tmp.replace(path)
