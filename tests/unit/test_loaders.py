from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import bundled_data_dir
from bench.errors import InputError
from tasks.jaster import load_jaster
from tasks.loaders import load_corpus, load_document, load_qa

DATA = bundled_data_dir()


def test_bundled_data_sizes_and_links() -> None:
    docs = load_corpus(DATA / "corpus.jsonl")
    assert 6 <= len(docs) <= 10
    for d in docs.values():
        assert 2000 <= len(d.text) <= 8000
    qa = load_qa("qa", DATA / "qa", DATA / "corpus.jsonl")
    doc = load_document("doc", DATA / "document", DATA / "corpus.jsonl")
    assert len(qa.split("test")) >= 20 and len(doc.split("test")) >= 20
    passages = {p.id: p.text for p in qa.passages}
    for ex in qa.split("test"):
        assert ex.reference and any(ex.reference in passages[g] for g in ex.gold_passages)
    for name in ("minato_choice", "minato_short"):
        quiz = load_jaster(name, DATA / "quiz", name)
        assert len(quiz.split("test")) >= 20 and set(quiz.splits) == {"train", "dev", "test"}
    ids = [e.id for t in (qa, doc) for s in t.splits.values() for e in s]
    assert len(ids) == len(set(ids))


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "test.jsonl").write_text('{"id": "a", "question": "q", "answer": "x"}\n{"id": "b", "question": "q"\n')
    with pytest.raises(InputError, match=r"test.jsonl:2"):
        load_qa("qa", tmp_path / "qa", None)


def test_missing_field_and_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    f = tmp_path / "qa" / "test.jsonl"
    f.write_text('{"id": "a", "answer": "x"}\n')
    with pytest.raises(InputError, match=r"test.jsonl:1: field 'question'"):
        load_qa("qa", tmp_path / "qa", None)
    f.write_text('{"id": "a", "question": "q", "answer": "x", "answr": 1}\n')
    with pytest.raises(InputError, match="answr"):
        load_qa("qa", tmp_path / "qa", None)


def test_duplicate_ids_and_bom(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    f = tmp_path / "qa" / "test.jsonl"
    row = json.dumps({"id": "a", "question": "q", "answer": "x"}, ensure_ascii=False)
    f.write_bytes(b"\xef\xbb\xbf" + (row + "\n").encode())
    assert len(load_qa("qa", tmp_path / "qa", None).split("test")) == 1
    f.write_text(row + "\n" + row + "\n")
    with pytest.raises(InputError, match="unique"):
        load_qa("qa", tmp_path / "qa", None)


def test_non_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "test.jsonl").write_bytes('{"id": "a", "question": "質問", "answer": "x"}\n'.encode("shift_jis"))
    with pytest.raises(InputError, match="UTF-8"):
        load_qa("qa", tmp_path / "qa", None)


def test_jaster_errors_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "test").mkdir()
    f = tmp_path / "test" / "x.json"
    f.write_text(json.dumps({"instruction": "i", "output_length": "1", "metrics": ["exact_match"], "samples": []}))
    with pytest.raises(InputError, match="output_length"):
        load_jaster("x", tmp_path, "x")
    f.write_text('{"instruction": "i", ')
    with pytest.raises(InputError, match="valid JSON"):
        load_jaster("x", tmp_path, "x")
    with pytest.raises(InputError, match="dataset"):
        load_jaster("y", tmp_path, "y")
