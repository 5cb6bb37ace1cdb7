"""Reference metrics as llm-jp-eval defines them (after NFKC), each in [0, 1].

- exact_match: normalised strings equal;
- char_f1: fuzzywuzzy ``token_sort_ratio / 100``, reproduced exactly: fuzzywuzzy's processing
  (drop U+0080..U+00FF, non-word characters to spaces, lower case, sorted tokens), the
  python-Levenshtein ratio (rapidfuzz's Indel similarity) and rounding to whole percent;
- set_f1: F1 over newline-separated items (prediction items de-duplicated);
- choice_accuracy: the first choice label found in the prediction equals the reference.

Example: ``char_f1("14日以内", "14日")``
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from rapidfuzz.distance import Indel


def normalize(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


def exact_match(pred: str, ref: str) -> float:
    return 1.0 if normalize(pred) == normalize(ref) else 0.0


# fuzzywuzzy's full_process(force_ascii=True): Latin-1 supplement removed, \W -> space, lower, strip.
_LATIN1_SUPPLEMENT = {i: None for i in range(128, 256)}
_NON_WORD = re.compile(r"(?ui)\W")


def _fuzz_sorted_tokens(s: str) -> str:
    s = _NON_WORD.sub(" ", s.translate(_LATIN1_SUPPLEMENT)).lower().strip()
    return " ".join(sorted(s.split()))


def char_f1(pred: str, ref: str) -> float:
    """llm-jp-eval's ``fuzz.token_sort_ratio(pred, ref) / 100`` (fuzzywuzzy 0.18 + python-Levenshtein)."""
    a, b = _fuzz_sorted_tokens(normalize(pred)), _fuzz_sorted_tokens(normalize(ref))
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    return int(round(100 * Indel.normalized_similarity(a, b))) / 100.0


def set_f1(pred: str, ref: str) -> float:
    true = [x.strip() for x in normalize(ref).split("\n")]
    guess = list({x.strip() for x in normalize(pred).split("\n")})
    hits = sum(1 for y in guess if y in true)
    p = hits / len(guess) if guess else 0.0
    r = hits / len(true) if true else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


_LABEL = re.compile(r"[0-9A-Za-z]")


def choice_accuracy(pred: str, ref: str) -> float:
    m = _LABEL.search(normalize(pred))
    return 1.0 if m and m.group(0).lower() == normalize(ref).lower() else 0.0


def extract_answer(text: str, pattern: str | None) -> str:
    """llm-jp-eval's ``answer_extract_pattern``: the joined groups of the first match ('' if none)."""
    if not pattern:
        return text
    m = re.search(pattern, text)
    if m is None:
        return ""
    return "".join(g for g in m.groups() if g) if m.groups() else m.group(0)


def match_label(text: str, labels: Sequence[str]) -> str:
    """The label an answer gives (a task's ``label_list``): the answer itself when it is one (after
    NFKC), else the label found first in it (the longer one at the same place; a Latin label or
    digit only where no other letter or digit touches it, so ``a`` is not found in ``answer``),
    else the answer unchanged (scored as it is).

    Example: ``match_label("答えは ２ です。", ["0", "1", "2"])  # "2"``
    """
    t = normalize(text)
    norm = {normalize(lab): lab for lab in labels}
    if t in norm:
        return norm[t]
    best: tuple[int, int, str] | None = None  # (start, -length, label)
    for n, lab in norm.items():
        if not n:
            continue
        m = re.search(r"(?<![0-9A-Za-z])" + re.escape(n) + r"(?![0-9A-Za-z])", t)
        if m is not None and (best is None or (m.start(), -len(n)) < best[:2]):
            best = (m.start(), -len(n), lab)
    return best[2] if best is not None else text


METRICS: dict[str, Callable[[str, str], float]] = {
    "exact_match": exact_match,
    "char_f1": char_f1,
    "set_f1": set_f1,
    "choice_accuracy": choice_accuracy,
}
