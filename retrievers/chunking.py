"""Passages from documents: windows of ``size`` characters overlapping by ``overlap``, cut after
a sentence end (。！？ or a newline) when one lies in the window's last third; ids are stable
(``<doc_id>-c001``, …) for the same text and settings.

A chunk of a corpus document (``chunk_passages``) carries its document id and the ids of the
corpus passages its text overlaps (``Passage.source_passages``), so retrieval is scored against
gold passages at the source (``retrievers.metrics``).

Example: ``chunk_text("d01", long_text, size=300, overlap=50)``
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.types import Passage

SENTENCE_ENDS = "。！？!?\n"


def _windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of each non-blank window of ``text`` (offsets into ``text``)."""
    if size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"chunk_overlap must be in [0, chunk_size), got {overlap} for size {size}")
    out: list[tuple[int, int]] = []
    lead = len(text) - len(text.lstrip())
    stop = len(text.rstrip())
    start = lead
    while start < stop:
        end = min(stop, start + size)
        if end < stop:
            floor = start + (2 * size) // 3
            cut = max(text.rfind(c, floor, end) for c in SENTENCE_ENDS)
            if cut >= floor:
                end = cut + 1
        if text[start:end].strip():
            out.append((start, end))
        if end >= stop:
            break
        start = max(start + 1, end - overlap)
    return out


def _has_word(piece: str) -> bool:
    return any(ch.isalnum() for ch in piece)


def chunk_text(doc_id: str, text: str, *, size: int = 300, overlap: int = 50, title: str = "") -> list[Passage]:
    return [
        Passage(id=f"{doc_id}-c{k:03d}", doc_id=doc_id, title=title, text=text[a:b].strip())
        for k, (a, b) in enumerate(_windows(text, size, overlap), start=1)
    ]


def chunk_passages(
    doc_id: str, passages: Sequence[Passage], *, size: int = 300, overlap: int = 50, title: str = ""
) -> list[Passage]:
    """Chunks of a document made of ``passages`` (joined by newlines, as ``Document.text``), each
    with the ids of the passages it overlaps (by characters; an overlap of only punctuation or
    spaces, such as the sentence end before a window's start, does not count)."""
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for p in passages:
        spans.append((pos, pos + len(p.text), p.id))
        pos += len(p.text) + 1
    text = "\n".join(p.text for p in passages)
    out = []
    for k, (a, b) in enumerate(_windows(text, size, overlap), start=1):
        src = [pid for s, e, pid in spans if s < b and a < e and _has_word(text[max(a, s) : min(b, e)])]
        out.append(Passage(id=f"{doc_id}-c{k:03d}", doc_id=doc_id, title=title, text=text[a:b].strip(),
                           source_passages=src))
    return out
