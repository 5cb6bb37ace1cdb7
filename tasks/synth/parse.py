"""Parse generator replies into items: JSON, JSON inside ``` fences or after a preamble, a bare list
or a single object; prose (or a reply cut before its JSON ends) is unparseable, with the reason.

Each item is then checked for its kind (fields present and typed, distractors distinct, passage
ids among those shown to the generator); a bad item is rejected alone, with the reason.

Example: ``items = parse_reply('```json\\n{"items": [...]}\\n```')``
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tasks.ingest.text import nfkc_safe
from tasks.synth.records import Unit

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
MAX_QUESTION = 300
MAX_SHORT_ANSWER = 100
MAX_CHOICE = 60


class ParseFailure(ValueError):
    """A reply with no usable JSON; ``reason`` says what was found instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ItemProblem:
    """Why one item of a parseable reply was rejected."""

    reason: str  # "invalid" | "unknown_passage"
    detail: str


def _items_of(obj: Any) -> list[Any] | None:
    if isinstance(obj, dict):
        if isinstance(obj.get("items"), list):
            return list(obj["items"])
        if "question" in obj:
            return [obj]
        lists = [v for v in obj.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        return list(lists[0]) if len(lists) == 1 else None
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
        return list(obj)
    return None


def parse_reply(text: str, finish_reason: str | None = None) -> list[Any]:
    """The list of raw items in a reply; ``ParseFailure`` when there is none."""
    body = _THINK.sub("", text).strip()
    if not body:
        raise ParseFailure("empty reply")
    candidates = [m.group(1) for m in _FENCE.finditer(body)] + [body]
    decoder = json.JSONDecoder()
    saw_json_start = False
    for cand in candidates:
        cand = cand.strip()
        try:
            items = _items_of(json.loads(cand))
            if items is not None:
                return items
        except json.JSONDecodeError:
            pass
        for m in list(re.finditer(r"[{\[]", cand))[:50]:
            saw_json_start = True
            try:
                obj, _ = decoder.raw_decode(cand, m.start())
            except json.JSONDecodeError:
                continue
            items = _items_of(obj)
            if items is not None:
                return items
    cut = " (the reply was cut at max_new_tokens: raise synth max_new_tokens)" if finish_reason == "length" else ""
    if saw_json_start:
        raise ParseFailure("JSON that does not parse or has no 'items' list" + cut)
    raise ParseFailure(f"no JSON in the reply (prose: {body[:40]!r}…)" + cut)


def _s(obj: dict[str, Any], key: str, limit: int) -> str:
    v = obj.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and key == "answer":
        v = str(v)
    if not isinstance(v, str) or not v.strip():
        raise _Bad("invalid", f"'{key}' must be a non-empty string, got {str(v)[:40]!r}")
    if len(v) > limit:
        raise _Bad("invalid", f"'{key}' is {len(v)} characters (limit {limit})")
    return v.strip()


def _str_list(obj: dict[str, Any], key: str) -> list[str]:
    v = obj.get(key)
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x.strip() for x in v):
        raise _Bad("invalid", f"'{key}' must be a non-empty list of strings, got {str(v)[:60]!r}")
    return [x.strip() for x in v]


class _Bad(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = ItemProblem(reason, detail)


def _key(s: str) -> str:
    return re.sub(r"\s+", "", nfkc_safe(s)).lower()


def check_item(raw: Any, unit: Unit) -> dict[str, Any] | ItemProblem:
    """The item's fields for its kind, or why it is rejected."""
    try:
        if not isinstance(raw, dict):
            raise _Bad("invalid", f"an item must be a JSON object, got {type(raw).__name__}")
        out: dict[str, Any] = {"question": _s(raw, "question", MAX_QUESTION)}
        if unit.kind == "document":
            ans = raw.get("answer")
            if isinstance(ans, list):
                lines = _str_list(raw, "answer")
                out.update(answer="\n".join(lines), metric="set_f1")
            else:
                out.update(answer=_s(raw, "answer", 2000), metric="char_f1")
            out["criteria"] = _str_list(raw, "criteria")
            return out
        out["answer"] = _s(raw, "answer", MAX_SHORT_ANSWER if unit.kind == "qa" else MAX_CHOICE)
        ev = raw.get("evidence")
        out["evidence"] = ev.strip() if isinstance(ev, str) else ""
        ids = raw.get("passage_ids", unit.passage_ids)
        if isinstance(ids, str):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            raise _Bad("invalid", f"'passage_ids' must be a list of ids, got {str(ids)[:60]!r}")
        unknown = [x for x in ids if x not in unit.passage_ids]
        if unknown:
            raise _Bad("unknown_passage", f"passage id {unknown[0]!r} names no passage given to the generator "
                                          f"({', '.join(unit.passage_ids)})")
        out["passage_ids"] = list(ids) or list(unit.passage_ids)
        if unit.kind == "quiz":
            distractors = _str_list(raw, "distractors")
            if any(len(d) > MAX_CHOICE for d in distractors):
                raise _Bad("invalid", f"a distractor is longer than {MAX_CHOICE} characters")
            keys = [_key(out["answer"])] + [_key(d) for d in distractors]
            if len(distractors) != 4:
                raise _Bad("invalid", f"4 distractors expected, got {len(distractors)}")
            if len(set(keys)) != len(keys):
                raise _Bad("invalid", "the choices repeat (a distractor equals the answer or another distractor)")
            out["distractors"] = distractors
        return out
    except _Bad as e:
        return e.problem
