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
import unicodedata
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
        title = _str(obj, "title", path, n, required=False)
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


def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


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


def _jaster_samples(data: dict[str, Any], key: str, path: Path) -> list[tuple[str, str]]:
    raw = data.get(key, [])
    if not isinstance(raw, list):
        raise InputError(str(path), key, "a list of {input, output}", got=type(raw).__name__)
    out: list[tuple[str, str]] = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            raise InputError(str(path), f"{key}[{i}]", "an object {input, output}", got=s)
        extra = sorted(set(s) - {"input", "output", "metadata"})
        if extra:
            raise InputError(str(path), f"{key}[{i}].{extra[0]}", "only the keys input, output (unknown key)")
        inp = s.get("input", "")
        out_ = s.get("output")
        if not isinstance(inp, str):
            raise InputError(str(path), f"{key}[{i}].input", "a string", got=inp)
        if not isinstance(out_, str):
            raise InputError(str(path), f"{key}[{i}].output", "a string", got=out_)
        out.append((inp, out_))
    return out


@dataclass
class JasterFile:
    """One llm-jp-eval evaluation file, checked."""

    instruction: str
    output_length: int
    metrics: list[str]
    few_shots: list[tuple[str, str]]
    samples: list[tuple[str, str]]
    label_list: list[str] | None = None
    answer_extract_pattern: str | None = None
    num_few_shots: int | None = None
    custom_prompt_template: str | None = None
    sample_metadata: list[dict[str, Any]] = field(default_factory=list)  # per sample ({} when absent)


JASTER_KEYS = {
    "instruction", "output_length", "metrics", "few_shots", "samples", "label_list",
    "answer_extract_pattern", "num_few_shots", "custom_prompt_template",
}


def read_jaster_file(path: Path) -> JasterFile:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(str(path), None, "a JSON object with 'instruction' and 'samples'", got=type(data).__name__)
    _check_keys(data, JASTER_KEYS, path, None)
    instruction = _str(data, "instruction", path, None)
    ol = data.get("output_length")
    if not isinstance(ol, int) or isinstance(ol, bool) or ol < 1:
        raise InputError(str(path), "output_length", "a positive integer", got=ol)
    ms = data.get("metrics")
    if not isinstance(ms, list) or not ms or not all(isinstance(m, str) for m in ms):
        raise InputError(str(path), "metrics", "a non-empty list of metric names", got=ms)
    jf = JasterFile(
        instruction=instruction, output_length=ol, metrics=list(ms),
        few_shots=_jaster_samples(data, "few_shots", path), samples=_jaster_samples(data, "samples", path),
    )
    for i, s in enumerate(data.get("samples", [])):
        m = s.get("metadata", {})
        if not isinstance(m, dict):
            raise InputError(str(path), f"samples[{i}].metadata", "an object", got=m)
        jf.sample_metadata.append(m)
    ll = data.get("label_list")
    if ll is not None:
        if not isinstance(ll, list) or not ll or not all(isinstance(x, str) and x for x in ll):
            raise InputError(str(path), "label_list", "a non-empty list of label strings", got=ll)
        jf.label_list = list(ll)
        for key, rows in (("samples", jf.samples), ("few_shots", jf.few_shots)):
            for i, (_inp, out) in enumerate(rows):
                if out not in ll:
                    raise InputError(str(path), f"{key}[{i}].output", f"one of label_list {ll}", got=out)
    pat = data.get("answer_extract_pattern")
    if pat is not None:
        if not isinstance(pat, str) or not pat:
            raise InputError(str(path), "answer_extract_pattern", "a regular expression string", got=pat)
        try:
            re.compile(pat)
        except re.error as e:
            raise InputError(str(path), "answer_extract_pattern", f"a valid regular expression ({e})", got=pat) from None
        jf.answer_extract_pattern = pat
    nfs = data.get("num_few_shots")
    if nfs is not None:
        if not isinstance(nfs, int) or isinstance(nfs, bool) or nfs < 0:
            raise InputError(str(path), "num_few_shots", "a non-negative integer", got=nfs)
        jf.num_few_shots = nfs
    tpl = data.get("custom_prompt_template")
    if tpl is not None:
        if not isinstance(tpl, str) or "input" not in tpl:
            raise InputError(
                str(path), "custom_prompt_template", "a template string with an {input} placeholder", got=tpl
            )
        jf.custom_prompt_template = tpl
    return jf


def jaster_root(root: Path) -> Path:
    """Accept ``{version}/evaluation``, ``{version}`` (with an ``evaluation`` folder) or a split folder's parent."""
    if (root / "evaluation").is_dir():
        return root / "evaluation"
    return root


def load_jaster(name: str, root: Path, dataset: str) -> Task:
    """llm-jp-eval layout ``root/{train,dev,test}/{dataset}.json`` -> a quiz task.

    ``root`` may also be the version folder that holds ``evaluation/``. Few-shot examples come
    from the train split; when there is none, the file's own ``few_shots`` become the train split.
    """
    root = jaster_root(root)
    splits: dict[str, list[Example]] = {}
    files: dict[str, JasterFile] = {}
    paths: dict[str, Path] = {}
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        path = split_dir / f"{dataset}.json"
        if path.is_file():
            files[split_dir.name] = read_jaster_file(path)
            paths[split_dir.name] = path
    if not files:
        raise InputError(str(root), "dataset", f"files {{split}}/{dataset}.json under this folder", got=dataset)
    main_split = "test" if "test" in files else next(iter(files))
    main = files[main_split]
    extract = main.answer_extract_pattern
    for split, jf in files.items():
        splits[split] = [
            Example(
                id=f"{dataset}-{split}-{i:04d}", task=name, kind="quiz", question=inp, reference=out,
                choices=jf.label_list,
                metadata={
                    **(jf.sample_metadata[i] if i < len(jf.sample_metadata) else {}),
                    "split": split, **({"answer_extract_pattern": extract} if extract else {}),
                },
            )
            for i, (inp, out) in enumerate(jf.samples)
        ]
    notes: list[str] = []
    if "train" not in splits and main.few_shots:
        splits["train"] = [
            Example(
                id=f"{dataset}-fewshot-{i:04d}", task=name, kind="quiz", question=inp, reference=out,
                choices=main.label_list, metadata={"split": "train"},
            )
            for i, (inp, out) in enumerate(main.few_shots)
        ]
        notes.append("no train split: the file's few_shots are used as the train split")
    unknown = [m for m in main.metrics if m not in KNOWN_METRICS]
    usable = [m for m in main.metrics if m in KNOWN_METRICS]
    if not usable:
        raise InputError(str(paths[main_split]), "metrics", f"at least one of {list(KNOWN_METRICS)}", got=unknown)
    if unknown:
        notes.append(f"metrics not computed by ragft: {unknown}")
        log.warning("%s: metrics %s are not computed by ragft; using %s", name, unknown, usable)
    return Task(
        name=name, kind="quiz", metrics=usable, splits=splits, instruction=main.instruction,
        output_length=main.output_length, source=str(root), label_list=main.label_list,
        answer_extract_pattern=extract, num_few_shots=main.num_few_shots,
        custom_prompt_template=main.custom_prompt_template, notes=notes,
    )
