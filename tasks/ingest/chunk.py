"""Split a document's blocks into passages: a new passage at every heading, paragraphs packed up to
a size limit, long paragraphs cut at sentence ends (。！？), a sentence longer than the limit cut
at a comma or, failing that, at the limit.

Every passage of a section starts with the section's heading (so a retrieved passage says what
it is about) and keeps the page of its first block.

Example: ``split_passages([Block("申込方法", heading=True), Block("申込みは電話で受け付けます。")], max_chars=400)``
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.ingest.text import CLOSERS, SENTENCE_END

_SENTENCE = re.compile(f"[^{SENTENCE_END}]*(?:[{SENTENCE_END}]+[{re.escape(CLOSERS)}]*|$)")


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph as read from a file, with its page (PDF) when known."""

    text: str
    heading: bool = False
    page: int | None = None


@dataclass(frozen=True)
class Piece:
    """A passage before it has an id."""

    text: str
    page: int | None
    heading: str


def sentences(text: str) -> list[str]:
    """Sentences ending in 。！？ (closing brackets stay with their sentence); the rest is one piece."""
    return [s for s in (m.group() for m in _SENTENCE.finditer(text)) if s.strip()]


def _hard_cut(sentence: str, limit: int) -> list[str]:
    out: list[str] = []
    while len(sentence) > limit:
        cut = max(sentence.rfind("、", 0, limit), sentence.rfind(",", 0, limit), sentence.rfind(" ", 0, limit))
        cut = cut + 1 if cut >= limit // 2 else limit
        out.append(sentence[:cut])
        sentence = sentence[cut:]
    if sentence:
        out.append(sentence)
    return out


def _units(text: str, limit: int) -> list[str]:
    """A paragraph as pieces no longer than ``limit``: itself, or its sentences (long ones cut)."""
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    for s in sentences(text):
        out.extend(_hard_cut(s, limit))
    return out


def split_passages(blocks: list[Block], max_chars: int = 400) -> list[Piece]:
    """Passages of at most ``max_chars`` characters (heading included); never across headings."""
    if max_chars < 40:
        raise ValueError(f"passage size must be at least 40 characters, got {max_chars}")
    pieces: list[Piece] = []
    heading = ""
    buf: list[str] = []  # paragraphs start with "\n"; sentences of a cut paragraph do not
    page: int | None = None

    def flush() -> None:
        nonlocal buf, page
        body = "".join(buf).strip()
        if body:
            text = f"{heading}\n{body}" if heading else body
            pieces.append(Piece(text=text, page=page, heading=heading))
        buf, page = [], None

    for b in blocks:
        text = b.text.strip()
        if not text:
            continue
        if b.heading:
            flush()
            heading = text[: max_chars // 4]
            continue
        room = max_chars - (len(heading) + 1 if heading else 0)
        for i, unit in enumerate(_units(text, room)):
            piece = unit if i else "\n" + unit
            if buf and sum(map(len, buf)) + len(piece) > room:
                flush()
            if not buf:
                page = b.page
            buf.append(piece)
    flush()
    return pieces
