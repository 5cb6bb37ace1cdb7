"""The long-context window: whole documents, with their token counts, packed first-fit in a
given order into a token budget; the first document is cut after a sentence end (。！？) only
when it alone exceeds the budget. Used by the ``longctx`` arm (``bench.arms.longctx``).

Example: ``w = fill_window(blocks, tokenizer, 8000); w.docs, w.cut, w.hits``
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from retrievers.bm25 import BM25Index

log = logging.getLogger(__name__)

SEPARATOR = "\n\n"
SENTENCE_END = re.compile(r"(?<=[。！？])")


def count_tokens(tok: Any, text: str) -> int:
    return len(tok(text, add_special_tokens=False)["input_ids"])


@dataclass
class DocBlock:
    """One document as the arm lays it out, with its passages' end offsets in ``text``."""

    doc_id: str
    header: str
    text: str
    passages: list[tuple[str, int]]  # (passage id, end offset of its text in ``text``)
    tokens: int = 0

    @property
    def block(self) -> str:
        return f"{self.header}\n{self.text}"

    def passages_within(self, n_chars: int) -> list[str]:
        return [pid for pid, end in self.passages if end <= n_chars]


@dataclass
class Window:
    docs: list[str] = field(default_factory=list)
    cut: str | None = None  # the document cut at a sentence end, if any
    cut_chars: int | None = None  # characters of it kept
    context: str = ""
    context_tokens: int = 0
    budget: int = 0
    hits: list[str] = field(default_factory=list)


def cut_at_sentence(b: DocBlock, tok: Any, budget: int) -> int:
    """Characters of ``b.text`` to keep: the longest prefix of whole sentences whose block fits ``budget``."""
    ends = [m.start() for m in SENTENCE_END.finditer(b.text) if m.start() > 0]
    lo, hi, best = 0, len(ends) - 1, 0
    while lo <= hi:  # token counts grow with the prefix: binary search
        mid = (lo + hi) // 2
        if count_tokens(tok, f"{b.header}\n{b.text[: ends[mid]]}") <= budget:
            best, lo = ends[mid], mid + 1
        else:
            hi = mid - 1
    return best


def fill_window(order: list[DocBlock], tok: Any, budget: int) -> Window:
    """First-fit of whole documents in ``order`` into ``budget`` tokens (the first one cut at a
    sentence end when it alone exceeds the budget)."""
    w = Window(budget=budget)
    parts: list[str] = []
    left = budget
    sep = count_tokens(tok, SEPARATOR)
    for i, b in enumerate(order):
        need = b.tokens + (sep if parts else 0)
        if need <= left:
            parts.append(b.block)
            w.docs.append(b.doc_id)
            w.hits += [pid for pid, _ in b.passages]
            left -= need
        elif i == 0 and b.tokens > budget:
            keep = cut_at_sentence(b, tok, left)
            if keep == 0:
                log.warning("longctx: the first sentence of %s alone exceeds the budget (%d tokens)", b.doc_id, budget)
                continue
            text = b.text[:keep]
            parts.append(f"{b.header}\n{text}")
            w.docs.append(b.doc_id)
            w.cut, w.cut_chars = b.doc_id, keep
            w.hits += b.passages_within(keep)
            left -= count_tokens(tok, parts[-1])
    w.context = SEPARATOR.join(parts)
    return w


@dataclass
class LongContextState:
    """Prepared per task: the documents as laid out (with token counts) and the document BM25."""

    blocks: list[DocBlock]
    bm25: BM25Index | None
