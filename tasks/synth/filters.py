"""Filters of generated items, each a pure function so that each count in the report can be tested:

- ``support_score``: is the answer in its passage? 1.0 when the normalised answer occurs in the
  passage, else the share of its character bigrams that do (numbers and names must match);
- ``find_near_duplicates``: character n-gram Jaccard overlap between questions; the later of
  two near-identical questions is dropped (the driver compares the questions of each document,
  across kinds, so that no test question has a reworded twin in training);
- ``answerable_without_context``: the generator's closed-book answer already contains the
  reference (``require_context``: such items test memory, not the documents);
- ``parse_yes_no``: the optional LLM support check's verdict (None when the reply says neither).

Example: ``support_score("500円", "自己負担額は500円です。")  # 1.0``
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tasks.ingest.text import nfkc_safe

_DROP = re.compile(r"[\s。、,.・:;!?「」『』()\[\]【】〔〕\"'`~〜ー\-]+")
_DONT_KNOW = ("分かりません", "わかりません", "不明", "知りません", "答えられません", "i don't know")


def _norm(text: str) -> str:
    return _DROP.sub("", nfkc_safe(text).lower())


def _grams(text: str, n: int) -> set[str]:
    if len(text) <= n:
        return {text} if text else set()
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def support_score(answer: str, source: str) -> float:
    """How much of ``answer`` is found in ``source`` (0–1), after normalisation."""
    a, src = _norm(answer), _norm(source)
    if not a:
        return 0.0
    if a in src:
        return 1.0
    grams = _grams(a, 2)
    have = _grams(src, 2)
    return sum(g in have for g in grams) / len(grams)


def is_supported(answer: str, source: str, threshold: float) -> bool:
    return support_score(answer, source) >= threshold


def jaccard(a: str, b: str, n: int = 3) -> float:
    ga, gb = _grams(_norm(a), n), _grams(_norm(b), n)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


def find_near_duplicates(texts: Sequence[str], n: int = 3, threshold: float = 0.7) -> dict[int, int]:
    """``{index: index of the earlier text it nearly repeats}`` for every text to drop."""
    grams = [_grams(_norm(t), n) for t in texts]
    index: dict[str, list[int]] = {}
    out: dict[int, int] = {}
    for i, g in enumerate(grams):
        counts: dict[int, int] = {}
        for gram in g:
            for j in index.get(gram, ()):
                counts[j] = counts.get(j, 0) + 1
        for j, inter in sorted(counts.items()):
            union = len(g) + len(grams[j]) - inter
            if union and inter / union >= threshold:
                out[i] = j
                break
        if i not in out:
            for gram in g:
                index.setdefault(gram, []).append(i)
    return out


def says_dont_know(answer: str) -> bool:
    a = nfkc_safe(answer).strip().lower()
    return not a or any(a.startswith(x) for x in _DONT_KNOW)


def answerable_without_context(reference: str, closed_book_answer: str, threshold: float = 0.8) -> bool:
    """True when the answer given without the passage already contains the reference."""
    if says_dont_know(closed_book_answer):
        return False
    return support_score(reference, closed_book_answer) >= threshold


def parse_yes_no(reply: str) -> bool | None:
    """The LLM support check's verdict: はい -> True, いいえ -> False, anything else -> None."""
    s = nfkc_safe(reply).strip().strip("「」\"'*").lower()
    if s.startswith(("いいえ", "no")):
        return False
    if s.startswith(("はい", "yes")):
        return True
    return None
