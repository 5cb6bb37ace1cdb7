"""Reader for the NIILC question-answering set (mynlp/niilc-qa XML) as a short-answer quiz.

Layout: ``<questions><question id="…"><text>質問</text><answers><answer>答え</answer>…</answers>
<meta>…</meta></question>…</questions>``. As in llm-jp-eval, the reference joins every non-empty
answer with ``,`` and the metric is char_f1. Questions without any answer are skipped and counted
in the task notes. There is no train file here: train/dev are carved from the file (seed 0).

Example: ``load_niilc("niilc", Path("../shared/data/niilc"))``
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

from bench.errors import InputError
from bench.types import Example
from tasks.common import carve_splits, find_file
from tasks.loaders import Task, _read_text

log = logging.getLogger(__name__)

NIILC_INSTRUCTION = (
    "質問に対する答えを出力してください。回答の他には何も含めないことを厳守してください。"
    "答えが複数の場合、コンマ（,）で繋げてください。"
)


def read_niilc(path: Path) -> tuple[list[tuple[str, str, str]], int]:
    """(id, question, joined answers) per question, and how many had no answer."""
    file = find_file(path, ["*dev*.xml", "*.xml"], "a NIILC XML file")
    if file is None:
        raise InputError(str(path), None, "a NIILC XML file (NIILC-ECQA2015_dev.xml) in this folder")
    text = _read_text(file)  # UTF-8 check with a line number; BOM removed
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        line, col = e.position
        raise InputError(str(file), None, f"well-formed XML ({e.msg.split(':')[0]}, column {col})", line=line) from None
    except (LookupError, ValueError) as e:  # the declared encoding is unknown, or multi-byte (Shift_JIS) for expat
        raise InputError(str(file), None, f"an XML declaration with encoding UTF-8, as the file is read ({e})", line=1) from None
    if root.tag != "questions":
        raise InputError(str(file), "<questions>", "a <questions> root element", got=root.tag)
    out: list[tuple[str, str, str]] = []
    skipped = 0
    seen: set[str] = set()
    for i, q in enumerate(root.findall("question")):
        where = f"question[{i}]"
        qid = (q.get("id") or "").strip()
        if not qid:
            raise InputError(str(file), f"{where}@id", "a question id attribute")
        if qid in seen:
            raise InputError(str(file), f"{where}@id", "unique question ids", got=qid)
        seen.add(qid)
        question = (q.findtext("text") or "").strip()
        if not question:
            raise InputError(str(file), f"{where} (id={qid}).text", "a non-empty <text> element")
        answers = [a.text.strip() for a in q.iter("answer") if a.text and a.text.strip()]
        if not answers:
            skipped += 1
            continue
        out.append((qid, question, ",".join(answers)))
    if not out:
        raise InputError(str(file), "<question>", "at least one question with an answer")
    return out, skipped


def load_niilc(name: str, path: Path) -> Task:
    rows, skipped = read_niilc(path)
    exs = [
        Example(id=qid, task=name, kind="quiz", question=f"質問：{q}", reference=a, metadata={"split": "test"})
        for qid, q, a in rows
    ]
    carved = carve_splits(exs, group=lambda e: e.id)
    splits = {k: [e.model_copy(update={"metadata": {"split": k}}) for e in v] for k, v in carved.items()}
    notes = ["no train file: train/dev carved from the file (seed 0)"]
    if skipped:
        notes.append(f"{skipped} question(s) without an answer skipped")
        log.warning("%s: %d NIILC question(s) without an answer skipped", path, skipped)
    return Task(
        name=name, kind="quiz", metrics=["char_f1", "exact_match"], splits=splits, instruction=NIILC_INSTRUCTION,
        output_length=180, source=str(path), notes=notes,
    )
