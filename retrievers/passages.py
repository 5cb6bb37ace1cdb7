"""Retrieval units from a task: its corpus passages, or size-based chunks of its documents, and
the prompt layout of retrieved passages (``[id] title:`` then the text).

Example: ``passages = corpus_passages(task, cfg.retrieval)``
"""

from __future__ import annotations

from bench.config.retrieval import RetrievalSection
from bench.types import Passage
from retrievers.chunking import chunk_passages
from tasks.loaders import Task


def format_passages(passages: list[Passage]) -> str:
    """``[id] title: text`` blocks separated by blank lines."""
    out = []
    for p in passages:
        head = f"[{p.id}] {p.title}:" if p.title else f"[{p.id}]"
        out.append(f"{head}\n{p.text}")
    return "\n\n".join(out)


def corpus_passages(task: Task, rc: RetrievalSection) -> list[Passage]:
    """A task's retrieval units: its corpus passages, or size-based chunks of its documents (each
    chunk naming the passages it overlaps)."""
    if rc.chunk_size is None:
        return task.passages
    out: list[Passage] = []
    for d in task.documents.values():
        out += chunk_passages(d.doc_id, d.passages, size=rc.chunk_size, overlap=rc.chunk_overlap, title=d.title)
    return out


def unit_sources(passages: list[Passage]) -> dict[str, list[str]]:
    """Retrieval unit id -> the corpus passage ids it stands for (a chunk's sources, else itself)."""
    return {p.id: list(p.source_passages) or [p.id] for p in passages}
