"""``init_project``: the readers on the bundled sample documents, stable ids, and bad input named and counted."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.config import bundled_data_dir
from tasks.ingest import IngestSettings, NoDocumentsError, init_project
from tasks.ingest.readers import read_document
from tasks.loaders import load_corpus
from tasks.validate import validate

RAW = bundled_data_dir() / "raw"


def _pdf_bytes(encrypt: str | None = None, blank: bool = False) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter() if blank else PdfWriter(clone_from=io.BytesIO((RAW / "health_checkup.pdf").read_bytes()))
    if blank:
        w.add_blank_page(595, 842)
        w.add_blank_page(595, 842)
    if encrypt is not None:
        w.encrypt(user_password=encrypt, owner_password="owner")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_readers_on_the_sample_documents() -> None:
    docs = {p.name: read_document(p) for p in sorted(RAW.iterdir())}
    assert {d.format for d in docs.values()} == {"md", "html", "docx", "pdf", "txt"}
    pdf = docs["health_checkup.pdf"]
    assert pdf.pages == 2 and pdf.title == "令和8年度 みなと市国民健康保険 特定健康診査のご案内"
    body = "\n".join(b.text for b in pdf.blocks)
    assert "40歳から74歳になる方が対象です。" in body  # a line the PDF wrapped mid-sentence, joined again
    assert {b.page for b in pdf.blocks} == {1, 2}
    assert pdf.blocks[0].heading and pdf.blocks[0].text == pdf.title  # the title line is no passage
    assert docs["group_collection_sjis.txt"].encoding == "cp932"
    assert "1キログラムあたり8円" in "".join(b.text for b in docs["group_collection_sjis.txt"].blocks)
    html = docs["dog_registration.html"]
    html_text = "\n".join(b.text for b in html.blocks)
    assert "dataLayer" not in html_text and "ホーム" not in html_text  # script and nav dropped
    assert "4月12日(日) | みなと中央公園 管理事務所前 | 午前9時30分から正午" in html_text  # table row
    assert html.title == "犬の登録と狂犬病予防注射のお知らせ"
    headings = [b.text for b in docs["bicycle_parking.docx"].blocks if b.heading]
    assert "定期利用料金" in headings
    assert "一般(自転車) | 2,000円 | 5,700円 | 10,800円" in [b.text for b in docs["bicycle_parking.docx"].blocks]
    md = docs["library_guide.md"]
    assert [b.text for b in md.blocks if b.heading][:2] == ["みなと市立図書館 利用案内(令和8年度)", "利用カードの作り方"]


def test_init_writes_a_valid_corpus_with_stable_ids(tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    a = init_project(RAW, tmp_path / "a", progress=lambda d, t, n: calls.append((d, t, n)))
    b = init_project(RAW, tmp_path / "b")
    assert a.ok and not a.problems and len(a.documents) == 5 and a.config_written
    assert [d.doc_id for d in a.documents] == [d.doc_id for d in b.documents]
    assert (tmp_path / "a" / "corpus.jsonl").read_text() == (tmp_path / "b" / "corpus.jsonl").read_text()
    assert calls[0] == (0, 5, "bicycle_parking.docx") and calls[-1] == (5, 5, "")
    assert validate(tmp_path / "a" / "corpus.jsonl").ok
    corpus = load_corpus(tmp_path / "a" / "corpus.jsonl")
    passages = [p for d in corpus.values() for p in d.passages]
    assert len(passages) == a.passages == len({p.id for p in passages})
    pdf = [p for p in passages if p.source == "health_checkup.pdf"]
    assert {p.page for p in pdf} == {1, 2} and all(p.page is None for p in passages if p.source != "health_checkup.pdf")
    assert all(len(p.text) <= 400 for p in passages)


def test_a_project_folder_inside_the_documents_is_not_read(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(RAW, docs)
    first = init_project(docs, docs / "project")
    second = init_project(docs, docs / "project")  # its corpus.jsonl, ragft.toml … are not documents
    assert not first.problems and not second.problems and second.files == 5


def test_rerun_keeps_added_dates_and_an_edited_document_gets_new_ids(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(RAW, docs)
    first = init_project(docs, tmp_path / "p", now=datetime(2026, 1, 1, tzinfo=UTC))
    (docs / "library_guide.md").write_text(
        (docs / "library_guide.md").read_text(encoding="utf-8").replace("3年間", "5年間"), encoding="utf-8")
    (tmp_path / "p" / "ragft.toml").write_text("# edited by hand\n")
    second = init_project(docs, tmp_path / "p", now=datetime(2026, 6, 1, tzinfo=UTC))
    old = {d.source: d for d in first.documents}
    new = {d.source: d for d in second.documents}
    assert new["library_guide.md"].doc_id != old["library_guide.md"].doc_id
    assert new["library_guide.md"].added.startswith("2026-06-01")
    assert new["health_checkup.pdf"].doc_id == old["health_checkup.pdf"].doc_id
    assert new["health_checkup.pdf"].added.startswith("2026-01-01")
    assert not second.config_written and (tmp_path / "p" / "ragft.toml").read_text() == "# edited by hand\n"


def test_bad_files_are_named_counted_and_the_rest_goes_on(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(RAW / "library_guide.md", docs / "good.md")
    (docs / "empty.pdf").write_bytes(b"")
    (docs / "broken.pdf").write_bytes((RAW / "health_checkup.pdf").read_bytes()[:3000])
    (docs / "locked.pdf").write_bytes(_pdf_bytes(encrypt="secret"))
    (docs / "scan.pdf").write_bytes(_pdf_bytes(blank=True))
    (docs / "sjis.txt").write_bytes("みなと市 お知らせ\n\n申込みは窓口で受け付けます。期限は5月31日です。".encode("cp932"))
    with (docs / "huge.txt").open("wb") as fh:
        fh.truncate(50_000_000)  # a 50 MB file, over the default 20 MB limit (sparse: nothing is written)
    (docs / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (docs / "table.xlsx").write_bytes(b"PK")
    (docs / "copy.md").write_bytes((docs / "good.md").read_bytes())
    (docs / "headings.md").write_text("# 見出しだけ\n\n## 本文なし\n", encoding="utf-8")
    (docs / ".hidden.md").write_text("隠しファイルです。", encoding="utf-8")
    report = init_project(docs, tmp_path / "out")
    kinds = {p.source: p.kind for p in report.problems}
    assert kinds == {
        "empty.pdf": "empty", "broken.pdf": "corrupted", "locked.pdf": "encrypted", "scan.pdf": "scanned",
        "huge.txt": "oversize", "broken.docx": "corrupted", "table.xlsx": "unsupported",
        "good.md": "duplicate", "headings.md": "empty",
    }
    assert sorted(d.source for d in report.documents) == ["copy.md", "sjis.txt"]
    assert "50.0 MB is over the 20 MB limit" in next(str(p) for p in report.problems if p.kind == "oversize")
    saved = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert len(saved["problems"]) == 9 and report.files == 11
    sjis = next(d for d in report.documents if d.source == "sjis.txt")
    assert sjis.encoding == "cp932"
    assert "期限は5月31日です。" in (tmp_path / "out" / "corpus.jsonl").read_text(encoding="utf-8")
    small = init_project(docs, tmp_path / "out2", IngestSettings(max_file_mb=0.001))
    assert {"huge.txt", "copy.md", "good.md"} <= {p.source for p in small.problems if p.kind == "oversize"}
    assert [d.source for d in small.documents] == ["sjis.txt"]


def test_a_folder_with_no_readable_file_is_one_clear_error(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.pdf").write_bytes(b"")
    (docs / "b.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    with pytest.raises(NoDocumentsError) as err:
        init_project(docs, tmp_path / "out")
    msg = str(err.value)
    assert "no readable document" in msg and "a.pdf: empty file (0 bytes)" in msg and "b.pdf: damaged PDF" in msg
    assert len(err.value.report.problems) == 2
    assert (tmp_path / "out" / "ingest_report.json").is_file()
    assert not (tmp_path / "out" / "corpus.jsonl").exists()
    with pytest.raises(Exception, match="a folder of documents"):
        init_project(tmp_path / "missing", tmp_path / "out")


def test_corpus_source_and_page_are_checked(tmp_path: Path) -> None:
    from bench.errors import InputError

    f = tmp_path / "corpus.jsonl"
    f.write_text(json.dumps({"doc_id": "d1", "title": "t", "passages": [
        {"id": "p1", "text": "本文", "source": "a.pdf", "page": 0}, {"id": "p2", "text": "本文", "source": 3}]}) + "\n")
    problems = {(p.field, p.line) for p in validate(f).problems}
    assert problems == {("passages[0].page", 1), ("passages[1].source", 1)}
    with pytest.raises(InputError, match="page"):
        load_corpus(f)
