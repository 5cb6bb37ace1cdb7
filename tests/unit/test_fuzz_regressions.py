"""Inputs the fuzz tests found that once ended in a traceback or a wrong location, kept as plain
regression tests (each names the fuzz target that found it).

Example: ``python -m pytest -q tests/unit/test_fuzz_regressions.py``
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.entry_points import (
    InputError,
    Runner,
    ScriptedBackend,
    jglue,
    load_config,
    load_jaster,
    loaders,
    niilc,
    parse_score,
    validate,
)
from tests.external_fixtures import jcqa_rows, squad_dict, write_jsonl


def test_line_separator_inside_a_jsonl_string_is_not_a_line_break(tmp_path: Path) -> None:
    """qa/document/corpus jsonl: U+2028 is legal inside a JSON string; the loader split lines on it."""
    f = tmp_path / "qa" / "test.jsonl"
    f.parent.mkdir()
    rows = [{"id": "a", "question": "前\u2028後\x85末", "answer": "答え"}, {"id": "b", "question": "q", "answer": 3}]
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    lines = loaders.iter_jsonl(f)
    assert [n for n, _ in lines] == [1, 2] and lines[0][1]["question"] == "前\u2028後\x85末"
    (p,) = validate.validate(f.parent, kind="qa").problems
    assert (p.line, p.field) == (2, "answer")


def test_an_empty_key_is_named_in_the_message(tmp_path: Path) -> None:
    """qa/document/corpus jsonl: an unknown key "" gave a message naming no field at all."""
    f = tmp_path / "qa" / "test.jsonl"
    f.parent.mkdir()
    f.write_text('{"id": "a", "question": "q", "answer": "x", "": 1}\n', encoding="utf-8")
    try:
        loaders.load_qa("qa", f.parent, None)
    except InputError as e:
        assert e.field == "" and str(e).startswith(f"{f}:1: field '' expected only the keys")
    else:
        raise AssertionError("an unknown key was accepted")
    (p,) = validate.validate(f.parent, kind="qa").problems
    assert str(p) == f"{f}:1: : unknown key (allowed: answer, gold_passages, id, metadata, question)"


def test_jaster_metrics_error_names_the_file(tmp_path: Path) -> None:
    """jaster json: no usable metric was reported against the folder, not the file that lists them."""
    f = tmp_path / "test" / "x.json"
    f.parent.mkdir()
    f.write_text(json.dumps({"instruction": "i", "output_length": 1, "metrics": ["bleu"],
                             "samples": [{"input": "a", "output": "b"}]}), encoding="utf-8")
    try:
        load_jaster("x", tmp_path, "x")
    except InputError as e:
        assert e.path == str(f) and e.field == "metrics" and str(e).startswith(f"{f}: field 'metrics'")
    else:
        raise AssertionError("a file without a usable metric was accepted")


def test_validate_refuses_what_the_jaster_loader_refuses(tmp_path: Path) -> None:
    """jaster json: validate passed a non-string answer_extract_pattern and an empty label_list,
    which the run then refused."""
    f = tmp_path / "test" / "x.json"
    f.parent.mkdir()
    base = {"instruction": "i", "output_length": 1, "metrics": ["exact_match"], "samples": [{"input": "a", "output": "b"}]}
    for key, bad in (("answer_extract_pattern", ["(\\d)"]), ("answer_extract_pattern", ""), ("label_list", [])):
        f.write_text(json.dumps({**base, key: bad}), encoding="utf-8")
        try:
            load_jaster("x", tmp_path, "x")
        except InputError as e:
            assert e.field == key
        else:
            raise AssertionError(f"{key}={bad!r} was accepted")
        (p,) = validate.validate(f).problems
        assert p.field == key and p.path == str(f)


def test_deeply_nested_brackets_are_an_input_error(tmp_path: Path) -> None:
    """random bytes: a damaged file of many '[' made json.loads / tomllib raise RecursionError (a traceback)."""
    deep = "[" * 100_000
    jsonl = tmp_path / "qa" / "test.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text('{"id": "a", "question": "q", "answer": "x"}\n' + deep + "\n", encoding="utf-8")
    jaster = tmp_path / "j" / "test" / "x.json"
    jaster.parent.mkdir(parents=True)
    jaster.write_text(deep, encoding="utf-8")
    toml = tmp_path / "c.toml"
    toml.write_text("a = " + deep, encoding="utf-8")
    for fn, args, path, line in (
        (loaders.load_qa, ("qa", jsonl.parent, None), jsonl, 2),
        (load_jaster, ("x", jaster.parent.parent, "x"), jaster, None),
        (load_config, (toml,), toml, None),
    ):
        try:
            fn(*args)  # type: ignore[operator]
        except InputError as e:
            assert (e.path, e.line) == (str(path), line) and "nested less deeply" in str(e)
        else:
            raise AssertionError(f"{path} was accepted")
    assert [(p.line, "nested" in p.message) for p in validate.validate(jsonl.parent, kind="qa").problems] == [(2, True)]
    assert ["nested" in p.message for p in validate.validate(jaster).problems] == [True]
    assert validate.detect_kind(jsonl) == "qa"


def test_an_escaped_lone_surrogate_is_an_input_error(tmp_path: Path) -> None:
    """qa/document/corpus jsonl, jaster json: "\\ud800" in a field the loaders did not check (metadata,
    gold_passages, jaster input) reached the run, which then failed to write it as UTF-8."""
    jsonl = tmp_path / "qa" / "test.jsonl"
    jsonl.parent.mkdir()
    jsonl.write_text('{"id": "a", "question": "q", "answer": "x"}\n'
                     '{"id": "b", "question": "q", "answer": "x", "metadata": {"k": ["ok", "\\udc00"]}}\n', encoding="utf-8")
    jaster = tmp_path / "j" / "test" / "x.json"
    jaster.parent.mkdir(parents=True)
    jaster.write_text('{"instruction": "i", "output_length": 1, "metrics": ["exact_match"], '
                      '"samples": [{"input": "a", "output": "b"}, {"input": "\\ud800", "output": "b"}]}', encoding="utf-8")
    for fn, args, path, line, field in (
        (loaders.load_qa, ("qa", jsonl.parent, None), jsonl, 2, "metadata.k[1]"),
        (load_jaster, ("x", jaster.parent.parent, "x"), jaster, None, "samples[1].input"),
    ):
        try:
            fn(*args)  # type: ignore[operator]
        except InputError as e:
            assert (e.path, e.line, e.field) == (str(path), line, field) and "surrogate" in str(e)
        else:
            raise AssertionError(f"{path} was accepted")
    assert [(p.line, p.field) for p in validate.validate(jsonl.parent, kind="qa").problems] == [(2, "metadata.k[1]")]
    assert [p.field for p in validate.validate(jaster).problems] == ["samples[1].input"]


def test_a_repeated_id_names_the_file_not_the_folder(tmp_path: Path) -> None:
    """qa/document/corpus jsonl: a repeated example id was reported as 'FOLDER:LINE', which names no file."""
    folder = tmp_path / "qa"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"id": "a", "question": "q", "answer": "x"}\n', encoding="utf-8")
    (folder / "test.jsonl").write_text('{"id": "b", "question": "q", "answer": "x"}\n{"id": "a", "question": "q", "answer": "x"}\n', encoding="utf-8")
    try:
        loaders.load_qa("qa", folder, None)
    except InputError as e:
        # files are read in name order: test.jsonl, then train.jsonl
        assert (e.path, e.line, e.field) == (str(folder / "train.jsonl"), 1, "id") and "first seen on test.jsonl:2" in str(e)
    else:
        raise AssertionError("a repeated id was accepted")


def test_jsquad_repeated_question_id_is_refused(tmp_path: Path) -> None:
    """jsquad: a question id given twice was loaded twice, and the run keeps one prediction per id."""
    doc = squad_dict()
    qas = doc["data"][0]["paragraphs"][0]["qas"]
    qas.append(dict(qas[0]))
    f = tmp_path / "valid-v1.3.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    try:
        jglue.load_jsquad_qa("jsq", f)
    except InputError as e:
        assert (e.path, e.field) == (str(f), "data[0].paragraphs[0].qas[1].id") and "a100p0q0" in str(e)
    else:
        raise AssertionError("a repeated question id was accepted")


def test_jcommonsenseqa_repeated_id_names_the_file(tmp_path: Path) -> None:
    """jcommonsenseqa/jnli: a repeated q_id in a data set folder was reported as 'FOLDER:LINE'."""
    rows = jcqa_rows(4)
    rows[3]["q_id"] = rows[1]["q_id"]
    valid = write_jsonl(tmp_path / "jcqa" / "valid-v1.1.json", rows)
    try:
        jglue.load_jcommonsenseqa("jcqa", valid.parent)
    except InputError as e:
        assert (e.path, e.field) == (str(valid), "id") and e.line in (2, 4)
    else:
        raise AssertionError("a repeated q_id was accepted")


def test_niilc_unknown_xml_encoding_is_an_input_error(tmp_path: Path) -> None:
    """niilc xml: an XML declaration with an unknown encoding ('TF-8') raised LookupError (a traceback)."""
    f = tmp_path / "NIILC-ECQA2015_dev.xml"
    f.write_text("<?xml version='1.0' encoding='TF-8'?>\n<questions></questions>\n", encoding="utf-8")
    try:
        niilc.load_niilc("niilc", f)
    except InputError as e:
        assert (e.path, e.line) == (str(f), 1) and "TF-8" in str(e)
    else:
        raise AssertionError("an unknown encoding was accepted")


def test_score_parser_is_linear_on_long_whitespace() -> None:
    """judge score parser: a reply of a few hundred spaces before some text took 22 s (400 spaces),
    then hours: regexes with adjacent optional runs backtracked polynomially. A degenerate judge
    model that emits whitespace until its token limit must not stall grading. The check runs in
    a child process killed after 120 s (the fixed parser needs well under a second; the old one
    hours): a hang check, not a speed measurement. A regex holds the GIL, so a thread cannot time it."""
    code = (
        "from tests.entry_points import parse_score\n"
        "for r in (' ' * 100_000 + 'x', '評価' + ' ' * 100_000 + 'x', '10点' + '\\u3000' * 100_000 + 'x'):\n"
        "    assert parse_score(r).score is None\n"
        "print('done')\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("parse_score did not finish on long whitespace") from None
    assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr[-2000:]

    got = parse_score("理由：よい。\n" + " " * 50_000 + "\n**総合評価**:  [[7]]")
    assert got.score == 7.0 and got.rationale == "よい。"


def test_config_not_utf8_names_the_line(tmp_path: Path) -> None:
    """toml config: a config with a non-UTF-8 byte named the file but not the line."""
    f = tmp_path / "exp.toml"
    f.write_bytes('[run]\nid = "x"\n# コメント\n'.encode("cp932"))
    try:
        load_config(f)
    except InputError as e:
        assert (e.path, e.line) == (str(f), 3) and str(e).startswith(f"{f}:3: expected UTF-8 text")
    else:
        raise AssertionError("a CP932 config was accepted")


def _scripted_run(tmp_path: Path, answers: list[str]) -> Path:
    folder = tmp_path / "qa"
    folder.mkdir()
    (folder / "test.jsonl").write_text(
        "".join(json.dumps({"id": f"i{i}", "question": f"q{i}", "answer": "a"}) + "\n" for i in range(len(answers))),
        encoding="utf-8")
    cfg = tmp_path / "exp.toml"
    cfg.write_text('[run]\nid = "r"\n[model]\nid = "M"\n[[tasks]]\nname = "qa"\nloader = "qa-jsonl"\npath = "qa"\n', encoding="utf-8")
    backend = ScriptedBackend(answers={f"i{i}": a for i, a in enumerate(answers)})
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    return tmp_path / "out" / "r"


def test_a_lone_surrogate_in_a_completion_is_stored(tmp_path: Path) -> None:
    """report writers: a backend answer with a lone surrogate (an OpenAI-compatible server's JSON
    can carry "\\ud800") crashed the run when the cache and the store wrote it as UTF-8."""
    run = _scripted_run(tmp_path, ["x\ud800y", "ok"])
    preds = [json.loads(line) for line in (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(p["completion"]["text"] for p in preds) == ["ok", "x\ufffdy"]
    assert "x\ufffdy" in (run / "results.csv").read_text(encoding="utf-8")


def test_report_data_cannot_open_a_script_comment(tmp_path: Path) -> None:
    """report writers: an answer '<!--<script>' inside the page's JSON data block put the HTML parser
    in its double-escaped script state, so the data block never closed and the item browser broke
    (only '</' was escaped). Now no '<' is left inside the data block."""
    run = _scripted_run(tmp_path, ["<!--<script>", "</script><script>window.__pwned=1</script>"])
    html = (run / "report.html").read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="browser-data">(.*?)</script>', html, re.S)
    assert block is not None and "<" not in block.group(1)
    items = json.loads(block.group(1))["items"]
    assert sorted(it["arms"]["base"]["answer"] for it in items) == sorted(["<!--<script>", "</script><script>window.__pwned=1</script>"])


def test_niilc_shift_jis_declaration_is_an_input_error(tmp_path: Path) -> None:
    """niilc xml: encoding='Shift_JIS' in the declaration made expat raise ValueError (multi-byte
    encodings are not supported): a traceback. Japanese XML often carries that declaration."""
    f = tmp_path / "NIILC-ECQA2015_dev.xml"
    f.write_text("<?xml version='1.0' encoding='Shift_JIS'?>\n<questions><question id='q'><text>質問</text>"
                 "<answers><answer>答え</answer></answers></question></questions>\n", encoding="utf-8")
    try:
        niilc.load_niilc("niilc", f)
    except InputError as e:
        assert (e.path, e.line) == (str(f), 1) and "encoding UTF-8" in str(e)
    else:
        raise AssertionError("a Shift_JIS declaration on a UTF-8 file was accepted")


def test_config_path_too_long_is_an_input_error(tmp_path: Path) -> None:
    """toml config: a task path with a 3000-character name made Path.exists() raise OSError
    (File name too long): a traceback."""
    f = tmp_path / "exp.toml"
    f.write_text(f'[[tasks]]\nname = "q"\nloader = "qa-jsonl"\npath = "{"[" * 3000}"\n', encoding="utf-8")
    try:
        load_config(f)
    except InputError as e:
        assert (e.path, e.field) == (str(f), "tasks.0.path") and "File name too long" in str(e)
    else:
        raise AssertionError("an unusable path was accepted")


def test_report_reads_corpus_passages_split_on_newline_only(tmp_path: Path) -> None:
    """report writers: the HTML report read corpus JSONL with str.splitlines, which also breaks on
    U+2028 inside a JSON string, so a passage holding one was never shown."""
    from bench.report.html import _corpus_passages

    corpus = tmp_path / "corpus.jsonl"
    doc = {"doc_id": "d", "passages": [{"id": "d#0", "text": "前\u2028後"}, {"id": "d#1", "text": "x\x85y"}]}
    corpus.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    got = _corpus_passages({"tasks": [{"corpus": "corpus.jsonl"}]}, {"d#0", "d#1"}, str(tmp_path / "exp.toml"))
    assert got == {"d#0": "前\u2028後", "d#1": "x\x85y"}


def test_config_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """toml config: a config saved by a Windows editor (UTF-8 with BOM) was refused as invalid TOML."""
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "test.jsonl").write_text('{"id": "a", "question": "q", "answer": "a"}\n', encoding="utf-8")
    f = tmp_path / "exp.toml"
    f.write_bytes(b"\xef\xbb\xbf" + b'[run]\nid = "r"\n[model]\nid = "M"\n[[tasks]]\nname = "qa"\nloader = "qa-jsonl"\npath = "qa"\n')
    assert load_config(f).tasks[0].name == "qa"


def test_config_file_name_too_long_is_an_input_error(tmp_path: Path) -> None:
    """toml config / validate: Path.is_file()/exists() on a 3000-character name raised OSError
    (File name too long) in load_config and in `ragft validate`: a traceback."""
    long = tmp_path / ("x" * 3000 + ".toml")
    try:
        load_config(long)
    except InputError as e:
        assert e.path == str(long) and "File name too long" in str(e)
    else:
        raise AssertionError("an unusable config path was accepted")
    (p,) = validate.validate(long).problems
    assert "File name too long" in str(p)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-m", "bench", "validate", str(long)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "File name too long" in r.stdout and "Traceback" not in r.stderr, r.stderr[-2000:]


def test_single_arm_with_no_spread_says_why_there_is_no_mdd(tmp_path: Path) -> None:
    """report writers: a single-arm run where every score is 0 printed '(80% power): .' with an
    empty list in report.html."""
    run = _scripted_run(tmp_path, ["x", "y", "z"])  # the gold answer is "a": every score is 0
    html = (run / "report.html").read_text(encoding="utf-8")
    md = (run / "report.md").read_text(encoding="utf-8")
    assert "(80% power):\n." not in html and "(80% power): ." not in html
    assert "scores have no spread" in html and "scores have no spread" in md


def test_an_empty_corpus_title_is_accepted_by_loader_and_validate(tmp_path: Path) -> None:
    """qa/document/corpus jsonl (found under pytest-randomly's seeds): ``"title": ""`` passed
    `ragft validate` but the corpus loader refused it; an empty title now means no title in both."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"doc_id": "d1", "title": "", "passages": [{"id": "d1-p0", "text": "本文"}]}\n'
                      '{"doc_id": "d2", "title": " ", "passages": [{"id": "d2-p0", "text": "本文"}]}\n', encoding="utf-8")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test.jsonl").write_text('{"id": "q", "question": "q", "answer": "a", "gold_passages": ["d1-p0"]}\n', encoding="utf-8")
    docs = loaders.load_corpus(corpus)
    assert docs["d1"].title == docs["d2"].title == ""
    assert validate.validate(tmp_path / "t", kind="qa", corpus=corpus).ok
    assert len(loaders.load_qa("qa", tmp_path / "t", corpus).splits["test"]) == 1


def test_jaster_sample_metadata_null_and_non_object(tmp_path: Path) -> None:
    """jaster json (found under pytest-randomly's seeds): ``"metadata": null`` on a sample passed
    `ragft validate` but the loader refused it, and validate never checked the type at all."""
    doc = {"instruction": "答えて", "output_length": 1, "metrics": ["exact_match"], "few_shots": [],
           "samples": [{"input": "問0", "output": "0", "metadata": None}, {"input": "問1", "output": "1"}]}
    (tmp_path / "test").mkdir()
    f = tmp_path / "test" / "x.json"
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert validate.validate(tmp_path, kind="jaster").ok
    assert len(load_jaster("x", tmp_path, "x").splits["test"]) == 2
    doc["samples"][0]["metadata"] = 5
    f.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (p,) = validate.validate(tmp_path, kind="jaster").problems
    assert p.field == "samples[0].metadata"
    try:
        load_jaster("x", tmp_path, "x")
    except InputError as e:
        assert e.field == "samples[0].metadata"
    else:
        raise AssertionError("metadata 5 was accepted")
