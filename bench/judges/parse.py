"""Parsing a judge's reply: the LAST 0–10 score in any common form (評価：７, [[7]], Score: 7,
{"score": 7}, full-width digits, decimals), clamped to 0–10; no score means unscored (None), never 0.

Example: ``parse_score("理由：正確です。\n評価：[[8]]").score  # 8.0``
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

_NUM = r"([+-]?\d+(?:\.\d+)?)"
_LABEL = r"(?:評価|評点|点数|得点|総合評価|最終評価|スコア|score|rating|grade|final score|overall score)"
_PATTERNS = [
    # {"score": 7}  /  'score': "7.5"
    re.compile(r"[\"']score[\"']\s*:\s*[\"']?" + _NUM, re.IGNORECASE),
    # [[7]]  [[7/10]]
    re.compile(r"\[\[\s*" + _NUM + r"\s*(?:/\s*10\s*)?(?:点\s*)?\]\]"),
    # 10点満点中7点 / 10点中7点 / out of 10: 7
    re.compile(r"10\s*点\s*(?:満点\s*)?中\s*[:は]?\s*" + _NUM),
    # 評価：7 / **評価**: [7] / Score: 7/10 / 評価は7点 / スコア = 7
    re.compile(
        _LABEL + r"[ \t*_]*(?:\([^)\n]{0,20}\)[ \t*_]*)?(?::|=|は)[ \t*_\[「(]*" + _NUM + r"(?!\d)",
        re.IGNORECASE,
    ),
]


@dataclass(frozen=True)
class ParsedScore:
    score: float | None
    rationale: str
    clamped: bool = False


def parse_score(reply: str) -> ParsedScore:
    """The LAST score in a judge reply, clamped to 0–10; ``score=None`` when there is none."""
    text = unicodedata.normalize("NFKC", reply or "")
    best: tuple[int, str, int] | None = None  # (end, number, start)
    for pat in _PATTERNS:
        for m in pat.finditer(text):
            if best is None or m.end() > best[0]:
                best = (m.end(), m.group(1), m.start())
    rationale = _rationale(text, best[2] if best else len(text))
    if best is None:
        return ParsedScore(None, rationale)
    value = float(best[1])
    if not math.isfinite(value):
        return ParsedScore(None, rationale)
    clamped = min(10.0, max(0.0, value))
    return ParsedScore(round(clamped, 4), rationale, clamped != value)


_LABEL_AT_END = re.compile(r"(?:最終|総合)?" + _LABEL + r"?\Z", re.IGNORECASE)


def _rstrip(text: str, chars: str) -> str:
    """``text`` without trailing whitespace (as regex ``\\s``) and trailing ``chars``."""
    i = len(text)
    while i and (text[i - 1].isspace() or text[i - 1] in chars):
        i -= 1
    return text[:i]


def _strip_score_label(head: str) -> str:
    """Drop what introduces the score at the end of ``head`` (``**評価**: [[``): brackets,
    separator and label. Stripped from the right in steps, so it takes linear time whatever the
    reply (a single regex anchored at ``$`` backtracked for minutes on a few hundred spaces)."""
    h = _rstrip(head, "*_(「[")
    if h.endswith((":", "=", "は")):
        h = h[:-1]
    h = _rstrip(h, "*_")
    tail = h[-40:]
    m = _LABEL_AT_END.search(tail)
    if m is not None:
        h = h[: len(h) - len(tail) + m.start()]
    return _rstrip(h, "*_(「[")


def _rationale(text: str, end: int) -> str:
    head = _strip_score_label(text[:end])
    m = re.search(r"(?:理由|rationale|reason)\s*[:：]\s*", head, re.IGNORECASE)
    if m:
        head = head[m.end() :]
    try:  # guided JSON replies (a grammar may let raw control characters into the strings)
        obj = json.loads(text, strict=False)
        if isinstance(obj, dict) and isinstance(obj.get("rationale"), str):
            head = obj["rationale"]
    except ValueError:
        pass
    return head.strip()[:2000]
