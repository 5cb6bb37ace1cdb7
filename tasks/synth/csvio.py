"""CSV export/import of synthetic items for review in a spreadsheet.

Columns: ``id, kind, split, doc_id, question, answer, choices, criteria, gold_passages, metric,
evidence, generator, prompt_hash``. Cells with several values (choices, criteria, gold passages,
list answers) hold one value per line. Written as UTF-8 with a BOM (Excel opens it as UTF-8);
read as UTF-8 or, when Excel saved it so, Shift_JIS/CP932. Deleting a row deletes the item.
Import checks every row and names the spreadsheet row (the header is row 1) and the column
of the first problem; the task files are rewritten only when the whole file is good.

Example: ``export_csv(Path("synth"), Path("review.csv")); import_csv(Path("review.csv"), Path("synth"))``
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from bench.errors import InputError
from tasks.ingest.text import UndecodableText, decode_text
from tasks.loaders import KNOWN_METRICS
from tasks.synth.records import SynthItem
from tasks.synth.writers import read_tasks, write_tasks

COLUMNS = ["id", "kind", "split", "doc_id", "question", "answer", "choices", "criteria", "gold_passages",
           "metric", "evidence", "generator", "prompt_hash"]
REQUIRED = ["id", "kind", "split", "question", "answer"]
_SPLIT = re.compile(r"^[A-Za-z0-9_\-]+$")


def _lines(cell: str) -> list[str]:
    return [x.strip() for x in cell.replace("\r\n", "\n").split("\n") if x.strip()]


def item_row(it: SynthItem) -> dict[str, str]:
    return {
        "id": it.id, "kind": it.kind, "split": it.split, "doc_id": it.doc_id, "question": it.question,
        "answer": it.answer, "choices": "\n".join(it.choices), "criteria": "\n".join(it.criteria),
        "gold_passages": "\n".join(it.passage_ids), "metric": it.metric if it.kind == "document" else "",
        "evidence": it.evidence, "generator": it.generator, "prompt_hash": it.prompt_hash,
    }


def export_csv(synth_dir: Path, path: Path) -> int:
    """Write every item of the task files under ``synth_dir`` to ``path``; returns the number of rows."""
    items = read_tasks(synth_dir)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for it in items:
        w.writerow(item_row(it))
    path.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
    return len(items)


def _row_item(row: dict[str, str], path: Path, n: int, passages: set[str] | None, docs: set[str] | None) -> SynthItem:
    def need(col: str) -> str:
        v = (row.get(col) or "").strip()
        if not v:
            raise InputError(str(path), col, "a non-empty value", line=n)
        return v

    kind = need("kind")
    if kind not in ("qa", "document", "quiz"):
        raise InputError(str(path), "kind", "qa, document or quiz", line=n, got=kind)
    split = need("split")
    if not _SPLIT.match(split):
        raise InputError(str(path), "split", "a split name such as train, dev, test or fresh", line=n, got=split)
    doc_id = (row.get("doc_id") or "").strip()
    if docs is not None and doc_id and doc_id not in docs:
        raise InputError(str(path), "doc_id", "a doc_id of the corpus", line=n, got=doc_id)
    gold = _lines(row.get("gold_passages") or "")
    if passages is not None:
        for g in gold:
            if g not in passages:
                raise InputError(str(path), "gold_passages", "passage ids of the corpus", line=n, got=g)
    fields: dict[str, Any] = {
        "id": need("id"), "kind": kind, "split": split, "doc_id": doc_id, "question": need("question"),
        "answer": need("answer").replace("\r\n", "\n"), "passage_ids": gold,
        "evidence": (row.get("evidence") or "").strip(), "generator": (row.get("generator") or "").strip(),
        "prompt_hash": (row.get("prompt_hash") or "").strip(),
    }
    if kind == "quiz":
        choices = _lines(row.get("choices") or "")
        if len(choices) < 2 or len(set(choices)) != len(choices):
            raise InputError(str(path), "choices", "2 or more different choices, one per line", line=n, got=choices)
        if fields["answer"] not in choices:
            raise InputError(str(path), "answer", "one of the choices (the text of the correct one)", line=n,
                             got=fields["answer"])
        fields["choices"] = choices
    if kind == "document":
        criteria = _lines(row.get("criteria") or "")
        if not criteria:
            raise InputError(str(path), "criteria", "one or more grading criteria, one per line", line=n)
        metric = (row.get("metric") or "char_f1").strip()
        if metric not in KNOWN_METRICS:
            raise InputError(str(path), "metric", f"one of {', '.join(KNOWN_METRICS)}", line=n, got=metric)
        if not doc_id:
            raise InputError(str(path), "doc_id", "the document the question is about", line=n)
        fields.update(criteria=criteria, metric=metric)
    return SynthItem(**fields)


def read_csv(path: Path, passages: set[str] | None = None, docs: set[str] | None = None) -> list[SynthItem]:
    """Items of a review CSV; the first problem raises ``InputError`` naming row and column."""
    try:
        text, _enc = decode_text(path.read_bytes())
    except (OSError, UndecodableText) as e:
        raise InputError(str(path), None, "a readable CSV text file", got=str(e)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(str(path), missing[0], f"a header row with the columns {', '.join(REQUIRED)}", line=1)
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError(str(path), unknown[0], f"only the columns {', '.join(COLUMNS)}", line=1)
    items: list[SynthItem] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(reader, start=2):
        row = {(k or "").strip(): v for k, v in row.items() if k is not None}
        if not any((v or "").strip() for v in row.values()):
            continue
        it = _row_item(row, path, n, passages, docs)
        if it.id in seen:
            raise InputError(str(path), "id", f"unique ids ('{it.id}' is also on row {seen[it.id]})", line=n)
        seen[it.id] = n
        items.append(it)
    return items


def import_csv(path: Path, synth_dir: Path, passages: set[str] | None = None, docs: set[str] | None = None) -> list[str]:
    """Replace the task files under ``synth_dir`` with the reviewed items of ``path``; returns the files."""
    items = read_csv(path, passages, docs)
    return write_tasks(items, synth_dir, overwrite_edits=True)
