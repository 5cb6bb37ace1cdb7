"""The synth driver with a scripted generator: splits, resumability, failures, checks, edits, CSV review."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from bench.errors import InputError, RagftError
from bench.types import Completion, GenRequest, Passage
from tasks.synth import SourceDoc, SynthSettings, synthesize
from tasks.synth.csvio import export_csv, import_csv, read_csv
from tasks.synth.records import GenOutcome, ReplayMiss
from tasks.synth.splits import assign_documents, split_items
from tasks.synth.writers import read_tasks

FACILITIES = ["図書館", "体育館", "公民館", "美術館", "博物館", "水族館"]
TOPICS = ["手数料", "定員", "開始時刻"]


def _fact(doc: int, k: int) -> tuple[str, str, str]:
    name, topic = FACILITIES[doc], TOPICS[k]
    value = f"{(doc + 1) * 100 + k * 7}{'円' if k == 0 else '人' if k == 1 else '時'}"
    return name, topic, value


def make_docs(n: int = 6) -> list[SourceDoc]:
    docs = []
    for d in range(n):
        passages = []
        for k in range(3):
            name, topic, value = _fact(d, k)
            text = f"みなと市立{name}の{topic}は{value}です。" + "詳しくは窓口までお問い合わせください。" * 3
            passages.append(Passage(id=f"d{d}-p{k}", doc_id=f"d{d}", title=f"{name}の案内", text=text, source=f"{name}.md"))
        docs.append(SourceDoc(f"d{d}", f"{name}の案内", passages, source=f"{name}.md", added=f"2026-0{d % 3 + 1}-15T00:00:00+00:00"))
    return docs


def _reply(req: GenRequest) -> str:
    stage = req.arm.removeprefix("synth-")
    if stage == "closed_book":
        return "年1回です。" if "図書館" in req.messages[-1].content else "分かりません。"
    if stage == "support":
        return "いいえ" if "体育館" in req.messages[-1].content else "はい"
    if stage == "document":
        d = int(req.example_id.split(":d")[1])
        name = FACILITIES[d]
        return json.dumps({"items": [{"question": f"みなと市立{name}の手数料と定員をまとめてください。",
                                      "answer": f"みなと市立{name}の手数料は{_fact(d, 0)[2]}、定員は{_fact(d, 1)[2]}です。",
                                      "criteria": ["手数料に触れている", "定員に触れている"]}]}, ensure_ascii=False)
    pid = req.example_id.split(":", 1)[1]
    d, k = (int(x) for x in re.findall(r"\d+", pid))
    name, topic, value = _fact(d, k)
    if stage == "qa":
        items = [{"question": f"みなと市立{name}の{topic}はいくつですか？", "answer": value,
                  "evidence": f"{topic}は{value}です。", "passage_ids": [pid]}]
    else:
        items = [{"question": f"みなと市立{name}の{topic}として正しいものはどれですか。", "answer": value,
                  "distractors": [f"{value}以上", f"{value}未満", "なし", "未定"], "evidence": ""}]
    return json.dumps({"items": items}, ensure_ascii=False)


class Scripted:
    """A generator replying from ``_reply``; ``fail`` unit ids get failures; ``stop_after`` batches then raises."""

    def __init__(self, fail: set[str] | None = None, stop_after: int | None = None) -> None:
        self.fail = fail or set()
        self.stop_after = stop_after
        self.seen: list[str] = []
        self.batches = 0

    def __call__(self, requests: list[GenRequest]) -> list[GenOutcome]:
        if self.stop_after is not None and self.batches >= self.stop_after:
            raise KeyboardInterrupt
        self.batches += 1
        out: list[GenOutcome] = []
        for r in requests:
            self.seen.append(f"{r.arm}|{r.example_id}")
            if r.example_id in self.fail:
                out.append(ReplayMiss("server error 503"))
            else:
                out.append(Completion(text=_reply(r), finish_reason="stop", prompt_tokens=1, output_tokens=1, latency_s=0.0))
        return out


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for d in ("qa", "document", "quiz") for p in sorted((root / d).rglob("*")) if p.is_file()}


def test_split_by_document_keeps_test_documents_out_of_training(tmp_path: Path) -> None:
    docs = make_docs()
    report = synthesize(docs, SynthSettings(batch_size=4), Scripted(), tmp_path, generator_id="scripted")
    items = read_tasks(tmp_path)
    assert report.kept == len(items) == 6 * 3 * 2 + 6
    by_split: dict[str, set[str]] = {}
    for it in items:
        by_split.setdefault(it.split, set()).add(it.doc_id)
    assert by_split["test"] and by_split["train"] and by_split["dev"]
    assert not by_split["test"] & by_split["train"] and not by_split["dev"] & by_split["train"]
    assert by_split["test"] == set(report.split_documents["test"])
    assert all(it.generator == "scripted" and it.prompt_hash for it in items)
    quiz = [it for it in items if it.kind == "quiz"]
    assert quiz and all(it.answer == _fact(*map(int, re.findall(r"\d+", it.passage_ids[0])))[2] for it in quiz)
    assert len({it.choices.index(it.answer) for it in quiz}) > 1  # the answer's position is shuffled
    qa_test = (tmp_path / "qa" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(qa_test[0])["metadata"]["synthetic"] is True


def test_split_by_question_shares_documents_but_never_questions(tmp_path: Path) -> None:
    docs = make_docs()
    synthesize(docs, SynthSettings(split_by="question", test_share=0.4, dev_share=0.2), Scripted(), tmp_path,
               generator_id="scripted")
    items = read_tasks(tmp_path)
    train_q = {it.question for it in items if it.split == "train"}
    test = [it for it in items if it.split == "test"]
    assert test and not any(it.question in train_q for it in test)
    docs_in = {s: {it.doc_id for it in items if it.split == s} for s in ("train", "test")}
    assert docs_in["train"] & docs_in["test"]  # the same documents on both sides
    assert 0.3 <= len(test) / len(items) <= 0.5


def test_freshness_split_and_too_few_documents() -> None:
    docs = make_docs(4)
    from tasks.synth.records import SynthItem

    items = [SynthItem(id=f"q{i}", kind="qa", doc_id=d.doc_id, question=f"質問{i}", answer="a")
             for i, d in enumerate(docs * 3)]
    out, doc_splits, _ = split_items(items, docs, SynthSettings(fresh_after="2026-02-01"))
    fresh = {d.doc_id for d in docs if d.added >= "2026-02"}
    assert fresh and {it.doc_id for it in out if it.split == "fresh"} == fresh
    assert not any(it.doc_id in fresh for it in out if it.split != "fresh")
    assert set(doc_splits["fresh"]) == fresh
    out, _, _ = split_items(items, docs, SynthSettings(fresh_docs=["図書館.md"], split_by="question"))
    assert {it.split for it in out if it.doc_id == "d0"} == {"fresh"}
    with pytest.raises(RagftError, match="names no document"):
        split_items(items, docs, SynthSettings(fresh_docs=["nothing.md"]))
    five = assign_documents([f"d{i}" for i in range(5)], 0.5, 0.1, seed=0)
    assert sorted(five.values()) == ["dev", "test", "test", "train", "train"]
    assert assign_documents(["a", "b"], 0.5, 0.1, seed=0) in ({"a": "test", "b": "train"}, {"a": "train", "b": "test"})
    with pytest.raises(RagftError, match="at least 2 documents"):
        split_items(items[:1], docs, SynthSettings())


def test_a_killed_run_resumes_and_ends_with_the_same_files(tmp_path: Path) -> None:
    docs = make_docs()
    settings = SynthSettings(batch_size=5)
    full = Scripted()
    synthesize(docs, settings, full, tmp_path / "ref", generator_id="scripted")
    killed = Scripted(stop_after=3)
    with pytest.raises(KeyboardInterrupt):
        synthesize(docs, settings, killed, tmp_path / "run", generator_id="scripted")
    journal = tmp_path / "run" / "generations.jsonl"
    assert len(journal.read_text().splitlines()) == 15  # written as produced
    with journal.open("ab") as fh:
        fh.write(b'{"stage": "qa", "unit": "qa:d5-p2", "ke')  # a torn last line
    again = Scripted()
    synthesize(docs, settings, again, tmp_path / "run", generator_id="scripted")
    assert len(again.seen) == len(full.seen) - 15
    assert not set(again.seen) & set(killed.seen)
    assert _files(tmp_path / "run") == _files(tmp_path / "ref")
    rerun = Scripted()
    synthesize(docs, settings, rerun, tmp_path / "run", generator_id="scripted")
    assert rerun.seen == []


def test_failed_generations_are_counted_and_retried(tmp_path: Path) -> None:
    docs = make_docs()
    gen = Scripted(fail={"qa:d0-p0", "quiz:d1-p1"})
    report = synthesize(docs, SynthSettings(), gen, tmp_path, generator_id="scripted")
    assert report.kinds["qa"].failed == 1 and report.kinds["quiz"].failed == 1 and report.pending == 2
    assert report.kinds["qa"].kept == 17
    retry = Scripted()
    report = synthesize(docs, SynthSettings(), retry, tmp_path, generator_id="scripted")
    assert sorted(retry.seen) == ["synth-qa|qa:d0-p0", "synth-quiz|quiz:d1-p1"]
    assert report.pending == 0 and report.kinds["qa"].kept == 18


def test_changed_prompt_regenerates_only_that_unit(tmp_path: Path) -> None:
    docs = make_docs()
    synthesize(docs, SynthSettings(), Scripted(), tmp_path, generator_id="scripted")
    journal = tmp_path / "generations.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines()
    e = json.loads(lines[0])
    e["key"] = "stale"
    journal.write_text("\n".join([json.dumps(e, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    gen = Scripted()
    synthesize(docs, SynthSettings(), gen, tmp_path, generator_id="scripted")
    assert gen.seen == [f"synth-{e['stage']}|{e['unit']}"]


def test_llm_check_and_require_context_filters(tmp_path: Path) -> None:
    docs = make_docs()
    s = SynthSettings(llm_support_check=True, require_context=True, closed_book_threshold=0.5)
    report = synthesize(docs, s, Scripted(), tmp_path, generator_id="scripted")
    qa = report.kinds["qa"]
    assert qa.llm_unsupported == 3  # the check says いいえ for the 体育館 document's passages
    assert qa.answerable_without_context == 0  # "年1回です。" does not contain the references
    assert qa.kept == 15
    assert {it.doc_id for it in read_tasks(tmp_path)} == {"d0", "d2", "d3", "d4", "d5"}
    rejected = [json.loads(x) for x in (tmp_path / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["reason"] for r in rejected} == {"llm_unsupported"}


def test_hand_edits_are_never_overwritten_silently(tmp_path: Path) -> None:
    docs = make_docs()
    synthesize(docs, SynthSettings(), Scripted(), tmp_path, generator_id="scripted")
    f = tmp_path / "qa" / "test.jsonl"
    f.write_text(f.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(RagftError, match="edited by hand"):
        synthesize(docs, SynthSettings(), Scripted(), tmp_path, generator_id="scripted")
    assert len(f.read_text(encoding="utf-8").splitlines()) == 1
    synthesize(docs, SynthSettings(), Scripted(), tmp_path, generator_id="scripted", overwrite_edits=True)
    assert len(f.read_text(encoding="utf-8").splitlines()) > 1


def test_csv_round_trip_and_review(tmp_path: Path) -> None:
    docs = make_docs()
    synthesize(docs, SynthSettings(), Scripted(), tmp_path, generator_id="scripted")
    before = _files(tmp_path)
    n = export_csv(tmp_path, tmp_path / "review.csv")
    assert n == len(read_tasks(tmp_path)) and (tmp_path / "review.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import_csv(tmp_path / "review.csv", tmp_path)
    assert _files(tmp_path) == before
    # a reviewer deletes a row and fixes an answer, and Excel saves the file as CP932
    rows = list(csv.DictReader(io.StringIO((tmp_path / "review.csv").read_text(encoding="utf-8-sig"))))
    gone = rows.pop(0)["id"]
    rows[0]["answer"] = "修正した答え"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "edited.csv").write_bytes(buf.getvalue().encode("cp932"))
    passages = {p.id for d in docs for p in d.passages}
    import_csv(tmp_path / "edited.csv", tmp_path, passages=passages, docs={d.doc_id for d in docs})
    items = {it.id: it for it in read_tasks(tmp_path)}
    assert gone not in items and items[rows[0]["id"]].answer == "修正した答え" and len(items) == n - 1


@pytest.mark.parametrize(("change", "row", "column"), [
    ({"kind": "essay"}, 2, "kind"),
    ({"question": ""}, 2, "question"),
    ({"gold_passages": "d9-p9"}, 2, "gold_passages"),
    ({"id": "SAME"}, 3, "id"),
])
def test_csv_import_names_row_and_column(tmp_path: Path, change: dict[str, str], row: int, column: str) -> None:
    docs = make_docs()
    synthesize(docs, SynthSettings(kinds=["qa"]), Scripted(), tmp_path, generator_id="scripted")
    export_csv(tmp_path, tmp_path / "review.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "review.csv").read_text(encoding="utf-8-sig"))))
    rows[0].update(change)
    if column == "id":
        rows[1]["id"] = "SAME"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "bad.csv").write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_csv(tmp_path / "bad.csv", passages={p.id for d in docs for p in d.passages})
    assert err.value.line == row and err.value.field == column


def test_csv_quiz_answer_must_be_a_choice(tmp_path: Path) -> None:
    synthesize(make_docs(), SynthSettings(kinds=["quiz"]), Scripted(), tmp_path, generator_id="scripted")
    export_csv(tmp_path, tmp_path / "review.csv")
    text = (tmp_path / "review.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[1]["answer"] = "どれでもない"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "bad.csv").write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv:3: field 'answer' expected one of the choices"):
        read_csv(tmp_path / "bad.csv")
