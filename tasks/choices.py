"""The options of a multiple-choice question inside its text, and the same question with the
options in another order (for the position-bias check, ``shuffle_choices``).

An option block follows the last ``選択肢`` marker: each label of the task's label list, in order,
at the start of the block, of a line or after a comma, then an optional ``.``/``:``/``)`` and the
option text (JCommonsenseQA ``選択肢：0.犬,1.猫,…``; lawqa_jp ``選択肢：\\na …\\nb …``). Rotating
moves every option's text one label down (the last to the first): labels and layout stay, every
option changes position.

Example: ``rotate_options("選択肢：0.犬,1.猫,2.鳥", ["0", "1", "2"])  # '選択肢：0.鳥,1.犬,2.猫'``
"""

from __future__ import annotations

import re
import unicodedata

MARKER = "選択肢"


def option_spans(text: str, labels: list[str]) -> list[tuple[int, int]] | None:
    """(start, end) of each option's text, in label order; None when the block is not found whole
    (a label missing or out of order, an empty or repeated option)."""
    at = text.rfind(MARKER)
    if at < 0 or len(labels) < 2:
        return None
    pos = at + len(MARKER)
    heads: list[tuple[int, int]] = []  # (label start, text start)
    for lab in labels:
        m = re.compile(rf"(?:(?<=[\n,、：:])|(?<=^))[ \t]*{re.escape(lab)}[ \t]*[.．:：)）]?[ \t]*").search(text, pos)
        if m is None or m.end() == m.start():
            return None
        heads.append((m.start(), m.end()))
        pos = m.end()
    spans: list[tuple[int, int]] = []
    for i, (_s, start) in enumerate(heads):
        if i + 1 < len(heads):
            end = heads[i + 1][0] - 1  # the separator before the next label
        else:
            nl = text.find("\n", start)
            end = len(text) if nl < 0 else nl
        if end <= start or not text[start:end].strip():
            return None
        spans.append((start, end))
    texts = [text[s:e].strip() for s, e in spans]
    return spans if len(set(texts)) == len(texts) else None


def rotate_options(text: str, labels: list[str]) -> str | None:
    """``text`` with option i's text under label i+1 (the last under the first); None when the
    options cannot be found (see ``option_spans``)."""
    spans = option_spans(text, labels)
    if spans is None:
        return None
    contents = [text[s:e] for s, e in spans]
    moved = contents[-1:] + contents[:-1]
    out = []
    last = 0
    for (s, e), c in zip(spans, moved, strict=True):
        out.append(text[last:s])
        out.append(c)
        last = e
    out.append(text[last:])
    return "".join(out)


def chosen_label(answer: str, labels: list[str]) -> int | None:
    """Index of the first label ``answer`` names (NFKC, case-insensitive, whole token), else None."""
    t = unicodedata.normalize("NFKC", answer).strip().lower()
    best: tuple[int, int] | None = None
    for i, lab in enumerate(labels):
        low = unicodedata.normalize("NFKC", lab).strip().lower()
        if not low:
            continue
        m = re.search(rf"(?<![0-9a-z]){re.escape(low)}(?![0-9a-z])", t)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), i)
    return None if best is None else best[1]
