"""Fuzzing of ragft's own data formats: qa/document/corpus JSONL, llm-jp-eval jaster JSON, random
bytes into every reader, and ``ragft validate``. Every input ends in a valid result or an
``InputError`` that names the file, the line or record and the field (tests/fuzz_support.py).

Example: ``python -m pytest -q tests/unit/test_fuzz_inputs.py --hypothesis-profile=dev``
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.entry_points import (
    RagftError,
    jglue,
    lawqa,
    load_config,
    load_jaster,
    loaders,
    niilc,
    validate,
)
from tests.fuzz_support import (
    byte_mutation,
    check_located,
    check_task,
    count,
    json_lines,
    mutated,
    parse_json,
    put,
    run_fuzz,
    to_json,
)

CORPUS = [
    {"doc_id": "d0", "title": "ごみ", "passages": [{"id": "d0-p0", "text": "粗大ごみは予約制です。"}, {"id": "d0-p1", "text": "手数料は四百円です。"}]},
    {"doc_id": "d1", "title": "住民票", "passages": [{"id": "d1-p0", "text": "住民票はコンビニで取れます。"}]},
]
QA = [
    {"id": "q0", "question": "手数料は？", "answer": "四百円", "gold_passages": ["d0-p1"]},
    {"id": "q1", "question": "どこで取れる？", "answer": "コンビニ", "gold_passages": ["d1-p0"], "metadata": {"src": "x"}},
]
DOCUMENT = [
    {"id": "x0", "doc_id": "d0", "question": "要点は？", "answer": "予約制", "criteria": ["予約"], "metric": "char_f1"},
    {"id": "x1", "document": "長い文書。", "question": "要約は？", "answer": "文書", "metric": "set_f1"},
]
KEYS = ("id", "question", "answer", "gold_passages", "metadata", "doc_id", "document", "criteria", "metric",
        "passages", "title", "text")


JUNK_LINE = st.sampled_from([b"", b"   ", b"[1, 2]", b'"text"', b"{", b"null", b"\xef\xbb\xbf{}"]) | st.binary(max_size=12)


@st.composite
def jsonl_file(draw: st.DrawFn, rows: list[dict[str, Any]]) -> bytes:
    """Mutated rows, one JSON object per line (ASCII-escaped or not), with junk lines spliced in."""
    got = draw(mutated(rows, KEYS))
    ascii_only = draw(st.booleans())
    lines = [to_json(r, ascii_only=ascii_only) for r in (got if isinstance(got, list) else [got])]
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(JUNK_LINE))
    return draw(byte_mutation(b"\n".join(lines) + b"\n" * draw(st.integers(0, 2))))


def _problem_located(p: Any, files: dict[Path, bytes | None], folders: set[Path]) -> None:
    """A ``validate`` problem names one of the inputs, and a line (and field, on a line holding a
    JSON object) inside a non-blank JSONL file."""
    assert Path(p.path) in set(files) | folders, str(p)
    data = files.get(Path(p.path))
    if data is not None and data.strip() and p.message != "no documents (the file is empty)":
        assert p.line is not None, f"a JSONL problem without a line: {p}"
        if isinstance(json_lines(data).get(p.line), dict):
            assert p.field is not None, f"a problem in a record without a field: {p}"
    assert str(p).startswith(p.path)


def _run_jsonl(tmp: Path, kind: str, corpus_b: bytes, task_b: bytes, use_corpus: bool) -> None:
    folder, corpus, task_file = tmp / "t", tmp / "corpus.jsonl", tmp / "t" / "test.jsonl"
    put(corpus, corpus_b)
    put(task_file, task_b)
    sources = {corpus: corpus_b, task_file: task_b}
    docs_ok = True
    try:
        docs = loaders.load_corpus(corpus)
        assert docs and all(p.text.strip() and p.id for d in docs.values() for p in d.passages)
    except RagftError as e:
        docs_ok = False
        check_located(e, [corpus], jsonl=sources)
    load = loaders.load_qa if kind == "qa" else loaders.load_document
    try:
        check_task(load(kind, folder, corpus if use_corpus else None))
        loaded = True
    except RagftError as e:
        loaded = False
        check_located(e, [corpus, task_file], jsonl=sources, folders=[folder])
    # ragft validate reports every problem, located; when it finds none, the loader accepts the data
    rep = validate.validate(folder, kind=kind, corpus=corpus if use_corpus else None)  # type: ignore[arg-type]
    for p in rep.problems:
        _problem_located(p, {corpus: corpus_b, task_file: task_b}, {folder})
    if rep.ok and use_corpus:  # (without a corpus, validate cannot check doc_id links; the loader needs them)
        assert loaded and docs_ok, "validate found no problem, but the loader refused the data"


def test_jsonl_loaders(tmp_path: Path) -> None:
    @given(
        kind=st.sampled_from(["qa", "document"]), use_corpus=st.booleans(),
        corpus_b=jsonl_file(CORPUS), data=st.data(),
    )
    @example(kind="qa", use_corpus=False, corpus_b=b"", data="前\u2028後").via("U+2028 inside a JSON string")
    @example(kind="qa", use_corpus=False, corpus_b=b"", data=["\udc00"]).via("an escaped lone surrogate")
    @example(kind="document", use_corpus=True, corpus_b=b"[" * 3000, data="x").via("nested too deep")
    def inner(kind: str, use_corpus: bool, corpus_b: bytes, data: Any) -> None:
        if isinstance(data, str | list):  # explicit examples: a value for the metadata of a valid row
            task_b = json.dumps({**QA[0], "metadata": {"k": data}}, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n"
            task_b = task_b.replace(b"\xed\xb0\x80", b"\\udc00")  # the surrogate as a JSON escape
        else:
            task_b = data.draw(jsonl_file(QA if kind == "qa" else DOCUMENT))
        _run_jsonl(tmp_path, kind, corpus_b, task_b, use_corpus)
        count("qa/document/corpus jsonl")

    run_fuzz("qa/document/corpus jsonl", inner)


JASTER = {
    "instruction": "番号で答えてください。", "output_length": 3, "metrics": ["exact_match", "char_f1"],
    "few_shots": [{"input": "問い", "output": "1"}],
    "samples": [{"input": "問0", "output": "0"}, {"input": "問1", "output": "1"}, {"input": "問2", "output": "2"}],
    "label_list": ["0", "1", "2"], "answer_extract_pattern": "(\\d)", "num_few_shots": 2,
    "custom_prompt_template": "{instruction}\n{input}",
}
JASTER_KEYS = (*sorted(JASTER), "input", "output", "metadata")


def test_jaster(tmp_path: Path) -> None:
    @given(
        doc=mutated(JASTER, JASTER_KEYS), ascii_only=st.booleans(), indent=st.sampled_from([None, 2]),
        train=st.booleans(), data=st.data(),
    )
    def inner(doc: Any, ascii_only: bool, indent: int | None, train: bool, data: Any) -> None:
        raw = data.draw(byte_mutation(to_json(doc, ascii_only=ascii_only, indent=indent)))
        root = tmp_path / "j"
        test_file, train_file = root / "test" / "x.json", root / "train" / "x.json"
        put(test_file, raw)
        if train:
            put(train_file, to_json(JASTER, ascii_only=False))
        elif train_file.exists():
            train_file.unlink()
        ok, parsed = parse_json(raw)
        try:
            check_task(load_jaster("x", root, "x"))
            loaded = True
        except RagftError as e:
            loaded = False
            check_located(e, [test_file], record=isinstance(parsed, dict), syntax=not ok)
        rep = validate.validate(test_file)
        for p in rep.problems:
            assert p.path == str(test_file), str(p)
            assert p.field is not None or p.line is not None or not isinstance(parsed, dict), str(p)
        if rep.ok:
            assert loaded, "validate found no problem, but the loader refused the file"
        count("jaster json")

    run_fuzz("jaster json", inner)


def _try(fn: Any, *args: Any) -> RagftError | None:
    try:
        fn(*args)
    except RagftError as e:
        return e
    return None


def test_random_bytes_into_every_reader(tmp_path: Path) -> None:
    """Arbitrary bytes (and near-JSON text) in the file every reader opens."""

    @given(raw=st.binary(max_size=200) | st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")))
    @example(raw=b"\xef\xbb\xbf").via("a BOM alone")
    @example(raw=b'{"a": "\\ud800"}\n').via("an escaped lone surrogate")
    def inner(raw: bytes) -> None:
        f = tmp_path / "f"
        f.mkdir(exist_ok=True)
        names = {"test.jsonl": f / "test.jsonl", "test/x.json": f / "test" / "x.json", "c.toml": f / "c.toml",
                 "valid-v1.3.json": f / "valid-v1.3.json", "selection_dev.json": f / "selection_dev.json",
                 "dev.xml": f / "dev.xml"}
        for p in names.values():
            put(p, raw)
        jsonl = {names["test.jsonl"]: raw, names["valid-v1.3.json"]: raw}
        for fn, args, files in [
            (loaders.load_corpus, (names["test.jsonl"],), [names["test.jsonl"]]),
            (loaders.load_qa, ("qa", f, None), [names["test.jsonl"]]),
            (load_jaster, ("x", f, "x"), [names["test/x.json"]]),
            (load_config, (names["c.toml"],), [names["c.toml"]]),
            (jglue.load_jsquad_qa, ("j", names["valid-v1.3.json"]), [names["valid-v1.3.json"]]),
            (jglue.load_jcommonsenseqa, ("j", names["valid-v1.3.json"]), [names["valid-v1.3.json"]]),
            (jglue.load_jnli, ("j", names["valid-v1.3.json"]), [names["valid-v1.3.json"]]),
            (lawqa.load_lawqa_qa, ("l", names["selection_dev.json"]), [names["selection_dev.json"]]),
            (niilc.load_niilc, ("n", names["dev.xml"]), [names["dev.xml"]]),
        ]:
            e = _try(fn, *args)
            if e is not None:
                check_located(e, files, jsonl=jsonl if fn in (loaders.load_corpus, loaders.load_qa) else None)
        for p in validate.validate(f).problems + validate.validate(names["test.jsonl"], kind="corpus").problems:
            assert Path(p.path) in {f, *names.values()}, str(p)
        count("random bytes")

    run_fuzz("random bytes", inner)


LAYOUT = ["test.jsonl", "train.jsonl", "corpus.jsonl", "x.json", "test/x.json", "dev/x.json", "evaluation/test/x.json", "notes.txt"]


@st.composite
def data_file(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["qa", "document", "corpus", "jaster", "junk"]))
    if kind == "jaster":
        return draw(byte_mutation(to_json(draw(mutated(JASTER, JASTER_KEYS)), ascii_only=draw(st.booleans()))))
    if kind == "junk":
        return draw(st.binary(max_size=60))
    return draw(jsonl_file({"qa": QA, "document": DOCUMENT, "corpus": CORPUS}[kind]))


def test_validate(tmp_path: Path) -> None:
    """``ragft validate`` on a folder of arbitrary files (format detected or forced, with or without
    a corpus): it reports problems, never raises, and every problem names one of the files (with a
    line inside a JSONL file) or, for a problem of the whole folder, the folder."""

    @given(
        files=st.dictionaries(st.sampled_from(LAYOUT), data_file(), min_size=1, max_size=3),
        kind=st.sampled_from([None, "qa", "document", "corpus", "jaster"]), corpus=st.sampled_from([None, "corpus.jsonl"]),
        target=st.sampled_from([None, *LAYOUT]),
    )
    def inner(files: dict[str, bytes], kind: str | None, corpus: str | None, target: str | None) -> None:
        root = Path(tempfile.mkdtemp(dir=tmp_path))  # (a new folder is cheaper than emptying one)
        written = {put(root / name, raw): raw for name, raw in files.items()}
        path = root / target if target else root
        corpus_path = root / corpus if corpus and (root / corpus).exists() else None
        rep = validate.validate(path, kind=kind, corpus=corpus_path)  # type: ignore[arg-type]
        folders = {root, path, root / "evaluation", *(p.parent for p in written)}
        for p in rep.problems:
            assert Path(p.path) in set(written) | folders, str(p)
            raw = written.get(Path(p.path))
            if raw is not None and p.line is not None:
                assert 1 <= p.line <= raw.count(b"\n") + 1, str(p)
            assert str(p).startswith(p.path)
        count("validate")

    run_fuzz("validate", inner)
