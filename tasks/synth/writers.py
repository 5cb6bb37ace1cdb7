"""Write synthetic items in the user formats and read them back (for review and CSV export):

- ``qa/{split}.jsonl`` — ``{id, question, answer, gold_passages, metadata}`` (loader ``qa-jsonl``);
- ``document/{split}.jsonl`` — ``{id, doc_id, question, answer, criteria, metric, metadata}``
  (loader ``document-jsonl``);
- ``quiz/{split}/synth_choice.json`` — llm-jp-eval "jaster" layout, ``input`` =
  ``質問：…\\n選択肢：0.…,1.…``, ``output`` = the index of the answer (loader ``jaster``).

Every item carries ``metadata.synthetic = true``. ``written.json`` keeps a hash of each file
written, so a file a person edited is never overwritten silently.

Example: ``write_tasks(items, Path("myproject/synth"))``
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from bench.errors import InputError, RagftError
from tasks.loaders import iter_jsonl, read_json
from tasks.synth.records import SynthItem

QUIZ_DATASET = "synth_choice"
QUIZ_INSTRUCTION = (
    "質問と回答の選択肢を読み、正しい選択肢を1つ選んでください。回答は選択肢の番号（0から4のいずれか）を"
    "半角数字で出力してください。番号以外の文字や説明は一切含めないでください。"
)
WRITTEN = "written.json"
TASK_DIRS = ("qa", "document", "quiz")


def quiz_input(question: str, choices: list[str]) -> str:
    return f"質問：{question}\n選択肢：" + ",".join(f"{i}.{c}" for i, c in enumerate(choices))


def parse_quiz_input(text: str) -> tuple[str, list[str]] | None:
    """(question, choices) of a jaster quiz input written by ``quiz_input``; None if it has another shape."""
    m = re.match(r"^質問[：:](.*)\n選択肢[：:](.*)$", text, re.DOTALL)
    if not m or not m.group(2).startswith("0."):
        return None
    rest, choices, i = m.group(2)[2:], [], 1
    while True:
        cut = rest.find(f",{i}.")
        if cut < 0:
            choices.append(rest)
            return m.group(1), choices
        choices.append(rest[:cut])
        rest, i = rest[cut + len(f",{i}.") :], i + 1


def _rows(items: list[SynthItem]) -> dict[str, str]:
    """Relative path -> file text for every task file of ``items``."""
    files: dict[str, list[str]] = {}
    quiz: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        meta = {**it.metadata(), "id": it.id} if it.kind == "quiz" else it.metadata()
        if it.kind == "qa":
            row = {"id": it.id, "question": it.question, "answer": it.answer, "gold_passages": it.passage_ids,
                   "metadata": meta}
            files.setdefault(f"qa/{it.split}.jsonl", []).append(json.dumps(row, ensure_ascii=False))
        elif it.kind == "document":
            row = {"id": it.id, "doc_id": it.doc_id, "question": it.question, "answer": it.answer,
                   "criteria": it.criteria, "metric": it.metric, "metadata": meta}
            files.setdefault(f"document/{it.split}.jsonl", []).append(json.dumps(row, ensure_ascii=False))
        else:
            if it.answer not in it.choices:
                raise RagftError(f"quiz item {it.id}: the answer {it.answer!r} is not one of its choices")
            meta["passage_ids"] = it.passage_ids
            quiz.setdefault(it.split, []).append(
                {"input": quiz_input(it.question, it.choices), "output": str(it.choices.index(it.answer)),
                 "metadata": meta}
            )
    out = {path: "\n".join(lines) + "\n" for path, lines in files.items()}
    for split, samples in quiz.items():
        doc = {"instruction": QUIZ_INSTRUCTION, "output_length": 1, "metrics": ["exact_match"],
               "few_shots": [], "samples": samples}
        out[f"quiz/{split}/{QUIZ_DATASET}.json"] = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _existing(out_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(out_dir).as_posix()
        for d in TASK_DIRS if (out_dir / d).is_dir()
        for p in (out_dir / d).rglob("*") if p.is_file()
    )


def edited_files(out_dir: Path) -> list[str]:
    """Task files changed (or added) by hand since ``ragft synth`` last wrote them."""
    try:
        written: dict[str, str] = json.loads((out_dir / WRITTEN).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        written = {}
    return [rel for rel in _existing(out_dir) if written.get(rel) != _sha((out_dir / rel).read_bytes())]


def write_tasks(items: list[SynthItem], out_dir: Path, *, overwrite_edits: bool = False) -> list[str]:
    """Write the task files of ``items`` (replacing the previous ones); returns their relative paths."""
    edited = edited_files(out_dir)
    if edited and not overwrite_edits:
        raise RagftError(
            f"{len(edited)} synthetic task file(s) in {out_dir} were edited by hand since they were written "
            f"({', '.join(edited[:3])}{'…' if len(edited) > 3 else ''}); keep them (don't rerun), "
            "or import your CSV review, or rerun with --overwrite to regenerate them"
        )
    files = _rows(items)
    for rel in _existing(out_dir):
        if rel not in files:
            (out_dir / rel).unlink()
    hashes: dict[str, str] = {}
    for rel, text in sorted(files.items()):
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        hashes[rel] = _sha(text.encode("utf-8"))
    (out_dir / WRITTEN).write_text(json.dumps(hashes, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sorted(files)


def _meta_fields(meta: Any) -> dict[str, Any]:
    m = meta if isinstance(meta, dict) else {}
    return {"generator": str(m.get("generator", "")), "prompt_hash": str(m.get("prompt_hash", "")),
            "evidence": str(m.get("evidence", ""))}


def read_tasks(out_dir: Path) -> list[SynthItem]:
    """The items of the task files under ``out_dir`` (as written, or as edited by a person)."""
    items: list[SynthItem] = []
    for path in sorted((out_dir / "qa").glob("*.jsonl")):
        for _n, o in iter_jsonl(path):
            meta = o.get("metadata", {})
            items.append(SynthItem(
                id=str(o.get("id", "")), kind="qa", doc_id=str(meta.get("doc_id", "")) if isinstance(meta, dict) else "",
                question=str(o.get("question", "")), answer=str(o.get("answer", "")),
                passage_ids=list(o.get("gold_passages", [])), split=path.stem, **_meta_fields(meta),
            ))
    for path in sorted((out_dir / "document").glob("*.jsonl")):
        for _n, o in iter_jsonl(path):
            items.append(SynthItem(
                id=str(o.get("id", "")), kind="document", doc_id=str(o.get("doc_id", "")),
                question=str(o.get("question", "")), answer=str(o.get("answer", "")),
                criteria=list(o.get("criteria", [])), metric=o.get("metric", "char_f1"), split=path.stem,
                **_meta_fields(o.get("metadata")),
            ))
    for path in sorted((out_dir / "quiz").glob(f"*/{QUIZ_DATASET}.json")):
        data = read_json(path)
        for i, s in enumerate(data.get("samples", []) if isinstance(data, dict) else []):
            parsed = parse_quiz_input(str(s.get("input", "")))
            if parsed is None:
                raise InputError(str(path), f"samples[{i}].input", "'質問：…\\n選択肢：0.…,1.…'", got=s.get("input"))
            question, choices = parsed
            meta = s.get("metadata", {}) if isinstance(s.get("metadata"), dict) else {}
            k = int(s["output"]) if str(s.get("output", "")).isdigit() else -1
            if not 0 <= k < len(choices):
                raise InputError(str(path), f"samples[{i}].output", f"a choice index 0-{len(choices) - 1}", got=s.get("output"))
            items.append(SynthItem(
                id=str(meta.get("id", f"quiz-{path.parent.name}-{i}")), kind="quiz", doc_id=str(meta.get("doc_id", "")),
                question=question, answer=choices[k], choices=choices, passage_ids=list(meta.get("passage_ids", [])),
                split=path.parent.name, **_meta_fields(meta),
            ))
    return items
