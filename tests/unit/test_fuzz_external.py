"""Fuzzing of the readers of external sets in their distributed formats: JGLUE JSQuAD (SQuAD JSON),
JCommonsenseQA and JNLI (JSONL), lawqa_jp (JSON) and NIILC (XML). Each starts from a valid file
written by tests/external_fixtures.py, mutated structurally and byte-wise; every input ends in a
valid task or an ``InputError`` naming the file, the line or record path and the field.

Example: ``python -m pytest -q tests/unit/test_fuzz_external.py --hypothesis-profile=dev``
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import example, given
from hypothesis import strategies as st

from tests.entry_points import RagftError, jglue, lawqa, niilc
from tests.external_fixtures import ARTICLES, jcqa_rows, jnli_rows, lawqa_samples, squad_dict
from tests.fuzz_support import (
    HOSTILE,
    all_examples,
    byte_mutation,
    check_located,
    check_task,
    count,
    mutated,
    parse_json,
    put,
    run_fuzz,
    to_json,
)

SQUAD_KEYS = ("data", "title", "paragraphs", "context", "qas", "question", "id", "answers", "text",
              "answer_start", "is_impossible")
SQUAD = squad_dict(ARTICLES[:2])
SQUAD_LOADERS = [jglue.load_jsquad_qa, jglue.load_jsquad_quiz, jglue.load_jsquad_document]


def test_jsquad(tmp_path: Path) -> None:
    @given(
        doc=mutated(SQUAD, SQUAD_KEYS), ascii_only=st.booleans(), by_file=st.booleans(), train=st.booleans(),
        load=st.sampled_from(SQUAD_LOADERS), data=st.data(),
    )
    @example(doc={"data": [{"title": "t", "paragraphs": [{"context": "t [SEP] 本文", "qas": [
        {"id": "a1p0q0", "question": "q", "answers": [{"text": "本"}]}, {"id": "a1p1q0", "question": "q", "answers": []}]}]}]},
        ascii_only=False, by_file=True, train=False, load=jglue.load_jsquad_qa, data=None).via("questions of two paragraphs in one")
    def inner(doc: Any, ascii_only: bool, by_file: bool, train: bool, load: Any, data: Any) -> None:
        raw = to_json(doc, ascii_only=ascii_only)
        raw = data.draw(byte_mutation(raw)) if data is not None else raw
        folder = tmp_path / "jsquad"
        valid, train_file = put(folder / "valid-v1.3.json", raw), folder / "train-v1.3.json"
        if train and not by_file:
            put(train_file, to_json(squad_dict(ARTICLES[2:]), ascii_only=False))
        else:
            train_file.unlink(missing_ok=True)
        ok, parsed = parse_json(raw)
        try:
            check_task(load("jsquad", valid if by_file else folder))
        except RagftError as e:
            check_located(e, [valid], record=isinstance(parsed, dict), syntax=not ok, folders=[folder])
        count("jsquad")

    run_fuzz("jsquad", inner)


JCQA_KEYS = ("q_id", "question", "choice0", "choice1", "choice2", "choice3", "choice4", "label")
JNLI_KEYS = ("sentence_pair_id", "yjcaptions_id", "sentence1", "sentence2", "label")


def test_jcommonsenseqa_and_jnli(tmp_path: Path) -> None:
    @given(
        which=st.sampled_from(["jcqa", "jnli"]), ascii_only=st.booleans(), by_file=st.booleans(),
        train=st.booleans(), data=st.data(),
    )
    def inner(which: str, ascii_only: bool, by_file: bool, train: bool, data: Any) -> None:
        rows, keys = (jcqa_rows(4), JCQA_KEYS) if which == "jcqa" else (jnli_rows(4), JNLI_KEYS)
        got = data.draw(mutated(rows, keys))
        lines = [to_json(r, ascii_only=ascii_only) for r in (got if isinstance(got, list) else [got])]
        raw = data.draw(byte_mutation(b"\n".join(lines) + b"\n"))
        folder = tmp_path / which
        valid, train_file = put(folder / "valid-v1.1.json", raw), folder / "train-v1.1.json"
        if train and not by_file:
            put(train_file, b"\n".join(to_json(r, ascii_only=False) for r in rows[:2]) + b"\n")
        else:
            train_file.unlink(missing_ok=True)
        load = jglue.load_jcommonsenseqa if which == "jcqa" else jglue.load_jnli
        try:
            check_task(load(which, valid if by_file else folder))
        except RagftError as e:
            files = [valid, train_file] if train_file.exists() else [valid]
            check_located(e, files, jsonl={valid: raw}, folders=[folder])
        count("jcommonsenseqa/jnli")

    run_fuzz("jcommonsenseqa/jnli", inner)


LAWQA_KEYS = ("samples", "ファイル名", "コンテキスト", "問題文", "指示", "選択肢", "output", "references")
LAWQA = {"samples": lawqa_samples()[:3]}


def test_lawqa(tmp_path: Path) -> None:
    @given(doc=mutated(LAWQA, LAWQA_KEYS), ascii_only=st.booleans(), quiz=st.booleans(), by_file=st.booleans(), data=st.data())
    def inner(doc: Any, ascii_only: bool, quiz: bool, by_file: bool, data: Any) -> None:
        raw = data.draw(byte_mutation(to_json(doc, ascii_only=ascii_only, indent=2)))
        folder = tmp_path / "lawqa"
        f = put(folder / "selection_dev.json", raw)
        ok, parsed = parse_json(raw)
        load = lawqa.load_lawqa_quiz if quiz else lawqa.load_lawqa_qa
        try:
            task = load("lawqa", f if by_file else folder)
            check_task(task)
            assert all(e.reference in lawqa.LAWQA_LABELS for e in all_examples(task))
        except RagftError as e:
            check_located(e, [f], record=isinstance(parsed, dict), syntax=not ok, folders=[folder])
        count("lawqa_jp")

    run_fuzz("lawqa_jp", inner)


XML_TEXT = st.sampled_from(HOSTILE) | st.text(max_size=12)
question = st.fixed_dictionaries({
    "id": st.sampled_from(["NIILC-1", "NIILC-2", "NIILC-3", ""]) | XML_TEXT,
    "text": st.sampled_from(["質問は？", ""]) | XML_TEXT,
    "answers": st.lists(st.sampled_from(["答え", ""]) | XML_TEXT, max_size=3),
    "escape": st.booleans(),
})


def niilc_doc(questions: list[dict[str, Any]], root: str, encoding: str = "UTF-8") -> str:
    """A NIILC-layout XML text; a question with ``escape=False`` puts its strings in raw (maybe malformed)."""
    parts = []
    for q in questions:
        esc = escape if q["escape"] else (lambda s: s)
        attr = quoteattr(q["id"]) if q["escape"] else f'"{q["id"]}"'
        answers = "".join(f"<answer>{esc(a)}</answer>" for a in q["answers"])
        parts.append(f"<question id={attr}><text>{esc(q['text'])}</text><answers>{answers}</answers></question>")
    return f"<?xml version='1.0' encoding='{encoding}'?>\n<{root}>\n" + "\n".join(parts) + f"\n</{root}>\n"


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) + "]><questions>&i;</questions>")


def test_niilc(tmp_path: Path) -> None:
    @given(
        questions=st.lists(question, max_size=5), root=st.sampled_from(["questions"] * 5 + ["question", "x"]),
        encoding=st.sampled_from(["UTF-8"] * 6 + ["utf8", "Shift_JIS", "EUC-JP", "ascii", "UTF-16", "TF-8"]),
        by_file=st.booleans(), data=st.data(),
    )
    @example(questions=[], root="questions", encoding="UTF-8", by_file=True, data=LAUGHS).via("billion laughs")
    @example(questions=[{"id": "q", "text": "質問", "answers": ["答え"], "escape": True}], root="questions",
             encoding="Shift_JIS", by_file=True, data=None).via("a Shift_JIS declaration")
    def inner(questions: list[dict[str, Any]], root: str, encoding: str, by_file: bool, data: Any) -> None:
        text = data if isinstance(data, str) else niilc_doc(questions, root, encoding)
        raw = text.encode("utf-8", "surrogatepass")
        raw = data.draw(byte_mutation(raw)) if data is not None and not isinstance(data, str) else raw
        folder = tmp_path / "niilc"
        f = put(folder / "NIILC-ECQA2015_dev.xml", raw)
        try:
            task = niilc.load_niilc("niilc", f if by_file else folder)
            check_task(task)
            assert all(e.reference for e in all_examples(task))
        except RagftError as e:
            e = check_located(e, [f], folders=[folder])
            assert e.field is not None or e.line is not None, f"an XML problem names the element or the line: {e}"
        count("niilc xml")

    run_fuzz("niilc xml", inner)
