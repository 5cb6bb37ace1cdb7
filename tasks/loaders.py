"""Readers for ragft's JSONL task formats and llm-jp-eval "jaster" JSON, with file:line:field errors.

Formats (see README "Data formats"):
- corpus JSONL: ``{"doc_id", "title", "passages": [{"id", "text", "source"?, "page"?}]}`` per line;
- ``qa-jsonl``: a folder of ``{split}.jsonl`` with ``{"id", "question", "answer", "gold_passages"}``;
- ``document-jsonl``: ``{"id", "doc_id" | "document", "question", "answer", "criteria", "metric"}``;
- ``jaster``: ``{split}/{dataset}.json`` with ``instruction, output_length, metrics, few_shots, samples``.

Example: ``load_corpus(Path("tasks/data/corpus.jsonl"))``
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import InputError
from bench.types import Example, Passage, TaskKind

log = logging.getLogger(__name__)

KNOWN_METRICS = ("exact_match", "char_f1", "set_f1", "choice_accuracy")
TOO_DEEP = "JSON nested less deeply (brackets opened about a thousand levels deep: a damaged file?)"


@dataclass
class Document:
    doc_id: str
    title: str
    passages: list[Passage]

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.passages)


@dataclass
class Task:
    """A named set of examples of one kind, by split, with its metrics and optional corpus."""

    name: str
    kind: TaskKind
    metrics: list[str]
    splits: dict[str, list[Example]]
    instruction: str | None = None
    output_length: int | None = None
    documents: dict[str, Document] = field(default_factory=dict)
    source: str = ""
    # llm-jp-eval (jaster) fields of newer files; None when the source does not set them.
    label_list: list[str] | None = None
    answer_extract_pattern: str | None = None
    num_few_shots: int | None = None
    custom_prompt_template: str | None = None
    notes: list[str] = field(default_factory=list)  # how splits were made, skipped records, …

    @property
    def passages(self) -> list[Passage]:
        return [p for d in self.documents.values() for p in d.passages]

    def split(self, name: str) -> list[Example]:
        if name not in self.splits:
            raise InputError(
                self.source, "split", f"one of {sorted(self.splits)}", got=name
            )
        return self.splits[name]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(str(path), None, "a readable file", got=str(e)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            str(path), None,
            f"UTF-8 text throughout (byte 0x{raw[e.start]:02x} at offset {e.start} is not UTF-8; "
            "is this line in Shift_JIS/CP932? re-save the file as UTF-8)",
            line=line,
        ) from None


NO_SURROGATES = "valid Unicode text (a lone surrogate escape such as \\ud800 cannot be stored as UTF-8)"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def lone_surrogate_field(obj: Any) -> str | None:
    """The record path (``samples[2].input``) of the first key or string holding a lone surrogate,
    else None. JSON can escape one (``"\\ud800"``); it cannot be written back as UTF-8."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:  # a loop, not recursion: parsed JSON may be nested almost to the recursion limit
        where, v = stack.pop()
        if isinstance(v, str) and _unencodable(v):
            return where or "(top level)"
        items = enumerate(v) if isinstance(v, list) else v.items() if isinstance(v, dict) else ()
        for k, x in items:
            key = f"{where}[{k}]" if isinstance(v, list) else f"{where}.{k}" if where else str(k)
            if isinstance(k, str) and _unencodable(k):
                return key
            stack.append((key, x))
    return None


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def iter_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a bad line is an error naming it.

    Lines end at LF only: U+2028, U+0085 and the like are legal inside JSON strings."""
    out: list[tuple[int, dict[str, Any]]] = []
    for n, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(str(path), None, f"one JSON object per line ({e.msg})", line=n) from None
        except RecursionError:
            raise InputError(str(path), None, TOO_DEEP, line=n) from None
        if not isinstance(obj, dict):
            raise InputError(str(path), None, "a JSON object", line=n, got=type(obj).__name__)
        bad = lone_surrogate_field(obj) if _SURROGATE_ESCAPE.search(line) else None
        if bad is not None:
            raise InputError(str(path), bad, NO_SURROGATES, line=n)
        out.append((n, obj))
    return out


def _str(obj: dict[str, Any], key: str, path: Path, line: int | None, *, required: bool = True) -> str:
    v = obj.get(key)
    if v is None and not required:
        return ""
    if not isinstance(v, str) or not v.strip():
        raise InputError(str(path), key, "a non-empty string", line=line, got=v)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
        raise InputError(str(path), key, "valid Unicode text (no lone surrogates)", line=line)
    return v


def _str_list(obj: dict[str, Any], key: str, path: Path, line: int | None) -> list[str]:
    v = obj.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise InputError(str(path), key, "a list of non-empty strings", line=line, got=v)
    return list(v)


def _check_keys(obj: dict[str, Any], allowed: set[str], path: Path, line: int | None) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise InputError(
            str(path), extra[0], f"only the keys {sorted(allowed)} (unknown key)", line=line
        )


def _unique(ids: list[tuple[str, int]], path: Path, what: str) -> None:
    _unique_in_files([(i, line, path) for i, line in ids], what)


def _unique_in_files(ids: list[tuple[str, int, Path]], what: str) -> None:
    """Ids unique across files: a repeat names its file and line, and where the id was first seen."""
    seen: dict[str, tuple[int, Path]] = {}
    for i, line, path in ids:
        if i in seen:
            first, first_path = seen[i]
            at = f"line {first}" if first_path == path else f"{first_path.name}:{first}"
            raise InputError(str(path), what, f"unique ids ('{i}' first seen on {at})", line=line)
        seen[i] = (line, path)


def load_corpus(path: Path) -> dict[str, Document]:
    docs: dict[str, Document] = {}
    pids: list[tuple[str, int]] = []
    for n, obj in iter_jsonl(path):
        _check_keys(obj, {"doc_id", "title", "passages"}, path, n)
        doc_id = _str(obj, "doc_id", path, n)
        # an empty or blank title is no title (ragft validate accepts it too); a non-string is an error
        t = obj.get("title")
        title = "" if isinstance(t, str) and not t.strip() else _str(obj, "title", path, n, required=False)
        raw = obj.get("passages")
        if not isinstance(raw, list) or not raw:
            raise InputError(str(path), "passages", "a non-empty list of {id, text}", line=n, got=raw)
        passages: list[Passage] = []
        for j, p in enumerate(raw):
            if not isinstance(p, dict):
                raise InputError(str(path), f"passages[{j}]", "an object {id, text}", line=n, got=p)
            pid = _str(p, "id", path, n)
            source = p.get("source")
            if source is not None and not isinstance(source, str):
                raise InputError(str(path), f"passages[{j}].source", "a string (the source file)", line=n, got=source)
            page = p.get("page")
            if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
                raise InputError(str(path), f"passages[{j}].page", "a page number >= 1", line=n, got=page)
            passages.append(Passage(id=pid, doc_id=doc_id, title=title, text=_str(p, "text", path, n),
                                    source=source, page=page))
            pids.append((pid, n))
        if doc_id in docs:
            raise InputError(str(path), "doc_id", f"unique document ids ('{doc_id}' repeats)", line=n)
        docs[doc_id] = Document(doc_id=doc_id, title=title, passages=passages)
    if not docs:
        raise InputError(str(path), None, "at least one document")
    _unique(pids, path, "passages.id")
    return docs


def _split_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(str(folder), None, "a folder of {split}.jsonl files")
    files = {p.stem: p for p in sorted(folder.glob("*.jsonl"))}
    if not files:
        raise InputError(str(folder), None, "at least one {split}.jsonl file (e.g. test.jsonl)")
    return files


def load_qa(name: str, folder: Path, corpus: Path | None) -> Task:
    docs = load_corpus(corpus) if corpus else {}
    known = {p.id for d in docs.values() for p in d.passages}
    splits: dict[str, list[Example]] = {}
    all_ids: list[tuple[str, int, Path]] = []
    for split, path in _split_files(folder).items():
        exs: list[Example] = []
        for n, obj in iter_jsonl(path):
            _check_keys(obj, {"id", "question", "answer", "gold_passages", "metadata"}, path, n)
            gold = _str_list(obj, "gold_passages", path, n)
            missing = [g for g in gold if docs and g not in known]
            if missing:
                raise InputError(str(path), "gold_passages", "passage ids present in the corpus", line=n, got=missing)
            eid = _str(obj, "id", path, n)
            all_ids.append((eid, n, path))
            exs.append(
                Example(
                    id=eid, task=name, kind="qa", question=_str(obj, "question", path, n),
                    reference=_str(obj, "answer", path, n), gold_passages=gold,
                    metadata={"split": split, **_meta(obj, path, n)},
                )
            )
        splits[split] = exs
    _unique_in_files(all_ids, "id")
    return Task(name=name, kind="qa", metrics=["char_f1", "exact_match"], splits=splits, documents=docs, source=str(folder))


def _meta(obj: dict[str, Any], path: Path, n: int) -> dict[str, Any]:
    m = obj.get("metadata", {})
    if not isinstance(m, dict):
        raise InputError(str(path), "metadata", "an object", line=n, got=m)
    return m


def load_document(name: str, folder: Path, corpus: Path | None) -> Task:
    docs = load_corpus(corpus) if corpus else {}
    splits: dict[str, list[Example]] = {}
    all_ids: list[tuple[str, int, Path]] = []
    for split, path in _split_files(folder).items():
        exs: list[Example] = []
        for n, obj in iter_jsonl(path):
            _check_keys(
                obj, {"id", "doc_id", "document", "question", "answer", "criteria", "metric", "metadata"}, path, n
            )
            if "document" in obj:
                text = _str(obj, "document", path, n)
                doc_id = str(obj.get("doc_id", ""))
            else:
                doc_id = _str(obj, "doc_id", path, n)
                if doc_id not in docs:
                    raise InputError(
                        str(path), "doc_id", "a doc_id present in the corpus (or an inline 'document')", line=n, got=doc_id
                    )
                text = docs[doc_id].text
            metric = obj.get("metric", "char_f1")
            if metric not in KNOWN_METRICS:
                raise InputError(str(path), "metric", f"one of {list(KNOWN_METRICS)}", line=n, got=metric)
            eid = _str(obj, "id", path, n)
            all_ids.append((eid, n, path))
            gold = [p.id for p in docs[doc_id].passages] if doc_id in docs else []
            exs.append(
                Example(
                    id=eid, task=name, kind="document", question=_str(obj, "question", path, n),
                    context=text, reference=_str(obj, "answer", path, n),
                    criteria=_str_list(obj, "criteria", path, n), gold_passages=gold,
                    metadata={"split": split, "doc_id": doc_id, "metrics": [metric], **_meta(obj, path, n)},
                )
            )
        splits[split] = exs
    _unique_in_files(all_ids, "id")
    return Task(name=name, kind="document", metrics=["char_f1"], splits=splits, documents=docs, source=str(folder))


def _looks_truncated(text: str, e: json.JSONDecodeError) -> bool:
    """The parser stopped at the end of the text, or inside a string that never closes."""
    return e.pos >= len(text.rstrip()) or (e.msg.startswith("Unterminated string") and "\n" not in text[e.pos :].rstrip())


def read_json(path: Path) -> Any:
    """Parse a JSON file (UTF-8, BOM allowed); a syntax error names the line and column."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        what = "valid JSON (the file ends early: truncated?)" if _looks_truncated(text, e) else "valid JSON"
        raise InputError(str(path), None, f"{what}: {e.msg} at column {e.colno}", line=e.lineno) from None
    except RecursionError:
        raise InputError(str(path), None, TOO_DEEP) from None
    bad = lone_surrogate_field(data) if _SURROGATE_ESCAPE.search(text) else None
    if bad is not None:
        raise InputError(str(path), bad, NO_SURROGATES)
    return data
