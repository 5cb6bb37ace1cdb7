"""Validate user data files and report every problem (not just the first) as file:line: field: message.

Formats (README "Data formats"): corpus JSONL, qa JSONL, document JSONL (a file or a folder of
``{split}.jsonl``) and llm-jp-eval jaster JSON (a file or a ``{train,dev,test}/*.json`` folder).
The kind is detected from the keys, or forced with ``kind``.

Example: ``ragft validate tasks/data/qa --corpus tasks/data/corpus.jsonl``
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tasks.jaster import JASTER_KEYS
from tasks.loaders import (
    KNOWN_METRICS,
    NO_SURROGATES,
    TOO_DEEP,
    _looks_truncated,
    lone_surrogate_field,
)

Kind = Literal["corpus", "qa", "document", "jaster"]
KINDS: tuple[str, ...] = ("corpus", "qa", "document", "jaster")

QA_KEYS = {"id", "question", "answer", "gold_passages", "metadata"}
DOC_KEYS = {"id", "doc_id", "document", "question", "answer", "criteria", "metric", "metadata"}
CORPUS_KEYS = {"doc_id", "title", "passages"}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {self.field + ': ' if self.field is not None else ''}{self.message}"


@dataclass
class Report:
    files: list[tuple[str, Kind, int]]  # (file, kind, records)
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: Path, line: int | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(str(path), line, field, message))

    def string(self, obj: dict[str, Any], key: str, path: Path, line: int | None, *, required: bool = True,
               prefix: str = "") -> str | None:
        name = prefix + key
        if key not in obj:
            if required:
                self.add(path, line, name, "missing (expected a non-empty string)")
            return None
        v = obj[key]
        if not isinstance(v, str) or not v.strip():
            self.add(path, line, name, f"expected a non-empty string, got {_short(v)}")
            return None
        return v

    def str_list(self, obj: dict[str, Any], key: str, path: Path, line: int | None) -> list[str]:
        v = obj.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            self.add(path, line, key, f"expected a list of non-empty strings, got {_short(v)}")
            return []
        return list(v)

    def keys(self, obj: dict[str, Any], allowed: set[str], path: Path, line: int | None, prefix: str = "") -> None:
        for k in sorted(set(obj) - allowed):
            self.add(path, line, prefix + k, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _short(v: object) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:60] + "…"


def _lines(path: Path, c: _Collector) -> list[tuple[int, dict[str, Any]]]:
    """Every JSONL line that parses to an object; each bad line becomes a problem (and is skipped)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        c.add(path, None, None, f"cannot read: {e}")
        return []
    out: list[tuple[int, dict[str, Any]]] = []
    for n, bline in enumerate(raw.split(b"\n"), start=1):
        if n == 1 and bline.startswith(b"\xef\xbb\xbf"):
            bline = bline[3:]
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError as e:
            c.add(path, n, None, f"not UTF-8 (byte 0x{bline[e.start]:02x} at column {e.start + 1}; Shift_JIS? re-save as UTF-8)")
            continue
        if line.startswith("\ufeff"):
            c.add(path, n, None, "byte-order mark inside the file (only allowed at the very start)")
            line = line[1:]
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            c.add(path, n, None, f"not valid JSON: {e.msg} at column {e.colno}")
            continue
        except RecursionError:
            c.add(path, n, None, f"expected {TOO_DEEP}")
            continue
        if not isinstance(obj, dict):
            c.add(path, n, None, f"expected a JSON object, got {type(obj).__name__}")
            continue
        bad = lone_surrogate_field(obj)
        if bad is not None:
            c.add(path, n, bad, f"expected {NO_SURROGATES}")
            continue
        out.append((n, obj))
    return out


def detect_kind(path: Path) -> Kind | None:
    """Guess the format from the path and, for JSONL, the keys of the first parsable line."""
    if path.is_dir():
        if any(p.is_dir() and any(p.glob("*.json")) for p in path.iterdir()) or (path / "evaluation").is_dir():
            return "jaster"
        files = sorted(path.glob("*.jsonl"))
        return detect_kind(files[0]) if files else None
    if path.suffix == ".json":
        return "jaster"
    try:
        for line in path.read_text(encoding="utf-8-sig", errors="replace").split("\n"):
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(obj, dict):
                if "passages" in obj:
                    return "corpus"
                if {"doc_id", "document", "criteria", "metric"} & set(obj):
                    return "document"
                return "qa"
    except OSError:
        return None
    return "qa"


def _check_corpus(path: Path, c: _Collector) -> tuple[int, set[str], set[str]]:
    rows = _lines(path, c)
    pids: dict[str, int] = {}
    docs: dict[str, int] = {}
    for n, obj in rows:
        c.keys(obj, CORPUS_KEYS, path, n)
        doc_id = c.string(obj, "doc_id", path, n)
        if doc_id is not None:
            if doc_id in docs:
                c.add(path, n, "doc_id", f"'{doc_id}' repeats (first on line {docs[doc_id]})")
            docs.setdefault(doc_id, n)
        if "title" in obj and not isinstance(obj["title"], str):
            c.add(path, n, "title", f"expected a string, got {_short(obj['title'])}")
        ps = obj.get("passages")
        if not isinstance(ps, list) or not ps:
            c.add(path, n, "passages", f"expected a non-empty list of {{id, text}}, got {_short(ps)}")
            continue
        for j, p in enumerate(ps):
            pre = f"passages[{j}]."
            if not isinstance(p, dict):
                c.add(path, n, f"passages[{j}]", f"expected an object {{id, text}}, got {_short(p)}")
                continue
            c.keys(p, {"id", "text", "source", "page"}, path, n, prefix=pre)
            pid = c.string(p, "id", path, n, prefix=pre)
            c.string(p, "text", path, n, prefix=pre)
            if "source" in p and not isinstance(p["source"], str):
                c.add(path, n, pre + "source", f"expected a string (the source file), got {_short(p['source'])}")
            pg = p.get("page")
            if pg is not None and (not isinstance(pg, int) or isinstance(pg, bool) or pg < 1):
                c.add(path, n, pre + "page", f"expected a page number >= 1, got {_short(pg)}")
            if pid is not None:
                if pid in pids:
                    c.add(path, n, pre + "id", f"passage id '{pid}' repeats (first on line {pids[pid]})")
                pids.setdefault(pid, n)
    if not rows and not c.problems:
        c.add(path, None, None, "no documents (the file is empty)")
    return len(rows), set(docs), set(pids)


def _check_examples(path: Path, kind: Kind, c: _Collector, ids: dict[str, str],
                    docs: set[str] | None, pids: set[str] | None) -> int:
    rows = _lines(path, c)
    for n, obj in rows:
        c.keys(obj, QA_KEYS if kind == "qa" else DOC_KEYS, path, n)
        eid = c.string(obj, "id", path, n)
        if eid is not None:
            here = f"{path.name}:{n}"
            if eid in ids:
                c.add(path, n, "id", f"'{eid}' repeats (first at {ids[eid]})")
            ids.setdefault(eid, here)
        c.string(obj, "question", path, n)
        c.string(obj, "answer", path, n)
        if "metadata" in obj and not isinstance(obj["metadata"], dict):
            c.add(path, n, "metadata", f"expected an object, got {_short(obj['metadata'])}")
        if kind == "qa":
            gold = c.str_list(obj, "gold_passages", path, n)
            if pids is not None:
                for g in gold:
                    if g not in pids:
                        c.add(path, n, "gold_passages", f"passage id '{g}' is not in the corpus")
        else:
            c.str_list(obj, "criteria", path, n)
            if "document" in obj:
                c.string(obj, "document", path, n)
            elif "doc_id" not in obj:
                c.add(path, n, "doc_id", "missing (expected a corpus doc_id, or an inline 'document')")
            else:
                d = c.string(obj, "doc_id", path, n)
                if d is not None and docs is not None and d not in docs:
                    c.add(path, n, "doc_id", f"'{d}' is not in the corpus")
                elif d is not None and docs is None:
                    pass  # no corpus given: cannot check the link
            m = obj.get("metric", "char_f1")
            if m not in KNOWN_METRICS:
                c.add(path, n, "metric", f"expected one of {', '.join(KNOWN_METRICS)}, got {_short(m)}")
    return len(rows)


def _check_jaster_file(path: Path, c: _Collector) -> int:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        c.add(path, None, None, f"not UTF-8 (undecodable byte at offset {e.start}); re-save as UTF-8")
        return 0
    except OSError as e:
        c.add(path, None, None, f"cannot read: {e}")
        return 0
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        end = " (the file ends early: truncated?)" if _looks_truncated(text, e) else ""
        c.add(path, e.lineno, None, f"not valid JSON: {e.msg} at column {e.colno}{end}")
        return 0
    except RecursionError:
        c.add(path, None, None, f"expected {TOO_DEEP}")
        return 0
    if not isinstance(data, dict):
        c.add(path, None, None, f"expected a JSON object with instruction, samples…, got {type(data).__name__}")
        return 0
    bad = lone_surrogate_field(data)
    if bad is not None:
        c.add(path, None, bad, f"expected {NO_SURROGATES}")
        return 0
    c.keys(data, JASTER_KEYS, path, None)
    c.string(data, "instruction", path, None)
    ol = data.get("output_length")
    if not isinstance(ol, int) or isinstance(ol, bool) or ol < 1:
        c.add(path, None, "output_length", f"expected a positive integer, got {_short(ol)}")
    ms = data.get("metrics")
    if not isinstance(ms, list) or not ms or not all(isinstance(m, str) for m in ms):
        c.add(path, None, "metrics", f"expected a non-empty list of metric names, got {_short(ms)}")
    elif not any(m in KNOWN_METRICS for m in ms):
        c.add(path, None, "metrics", f"none of {ms} is computed by ragft ({', '.join(KNOWN_METRICS)})")
    labels = data.get("label_list")
    if labels is not None and (not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels)):
        c.add(path, None, "label_list", f"expected a non-empty list of label strings, got {_short(labels)}")
        labels = None
    pat = data.get("answer_extract_pattern")
    if pat is not None and (not isinstance(pat, str) or not pat):
        c.add(path, None, "answer_extract_pattern", f"expected a regular expression string, got {_short(pat)}")
    elif pat is not None:
        try:
            re.compile(pat)
        except re.error as e:
            c.add(path, None, "answer_extract_pattern", f"not a valid regular expression ({e})")
    nfs = data.get("num_few_shots")
    if nfs is not None and (not isinstance(nfs, int) or isinstance(nfs, bool) or nfs < 0):
        c.add(path, None, "num_few_shots", f"expected a non-negative integer, got {_short(nfs)}")
    tpl = data.get("custom_prompt_template")
    if tpl is not None and (not isinstance(tpl, str) or "input" not in tpl):
        c.add(path, None, "custom_prompt_template", "expected a template string with an {input} placeholder")
    n = 0
    for key in ("few_shots", "samples"):
        rows = data.get(key, [] if key == "few_shots" else None)
        if not isinstance(rows, list):
            c.add(path, None, key, f"expected a list of {{input, output}}, got {_short(rows)}")
            continue
        for i, s in enumerate(rows):
            where = f"{key}[{i}]"
            if not isinstance(s, dict):
                c.add(path, None, where, f"expected an object {{input, output}}, got {_short(s)}")
                continue
            c.keys(s, {"input", "output", "metadata"}, path, None, prefix=where + ".")
            meta = s.get("metadata")
            if key == "samples" and meta is not None and not isinstance(meta, dict):
                c.add(path, None, where + ".metadata", f"expected an object, got {_short(meta)}")
            if not isinstance(s.get("input", ""), str):
                c.add(path, None, where + ".input", f"expected a string, got {_short(s.get('input'))}")
            out = s.get("output")
            if not isinstance(out, str):
                c.add(path, None, where + ".output", f"expected a string, got {_short(out)}")
            elif labels is not None and out not in labels:
                c.add(path, None, where + ".output", f"'{out}' is not in label_list {labels}")
            n += key == "samples"
    return n


def validate(path: Path, kind: Kind | None = None, corpus: Path | None = None) -> Report:
    """Check ``path`` (a file or folder) and return every problem found."""
    c = _Collector()
    files: list[tuple[str, Kind, int]] = []
    for given in (path, corpus):
        try:
            found = given is None or given.exists()
        except OSError as e:  # e.g. a name longer than the file system allows
            c.add(given, None, None, f"unusable path ({e.strerror})")  # type: ignore[arg-type]
            return Report(files, c.problems)
        if not found:
            c.add(given, None, None, "no such file or folder")  # type: ignore[arg-type]
            return Report(files, c.problems)
    kind = kind or detect_kind(path)
    if kind is None:
        c.add(path, None, None, "cannot tell the format (no .jsonl or jaster .json files); pass --kind")
        return Report(files, c.problems)
    docs: set[str] | None = None
    pids: set[str] | None = None
    if corpus is not None:
        n, docs, pids = _check_corpus(corpus, c)
        files.append((str(corpus), "corpus", n))
    if kind == "jaster":
        root = path / "evaluation" if (path / "evaluation").is_dir() else path
        targets = [path] if path.is_file() else sorted(root.glob("*/*.json")) + sorted(root.glob("*.json"))
        if not targets:
            c.add(path, None, None, "no jaster files ({split}/{dataset}.json)")
        for f in targets:
            files.append((str(f), "jaster", _check_jaster_file(f, c)))
    elif kind == "corpus":
        targets = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
        for f in targets:
            files.append((str(f), "corpus", _check_corpus(f, c)[0]))
    else:
        targets = [path] if path.is_file() else sorted(path.glob("*.jsonl"))
        if not targets:
            c.add(path, None, None, "no {split}.jsonl files")
        ids: dict[str, str] = {}
        for f in targets:
            files.append((str(f), kind, _check_examples(f, kind, c, ids, docs, pids)))
    return Report(files, c.problems)
