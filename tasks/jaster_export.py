"""Export ragft tasks in llm-jp-eval's evaluation layout (``{version}/evaluation/{split}/{name}.json``).

Every split of a task becomes one jaster file with ``instruction``, ``output_length``, ``metrics``,
``few_shots`` (the first ``num_few_shots`` train items), ``samples``, and where known
``label_list``, ``answer_extract_pattern`` and ``num_few_shots``. ``qa`` items become
``質問：…`` (closed-book), ``document`` items ``文書：…\\n質問：…``; quiz items keep their input.
ragft's ``choice_accuracy`` has no llm-jp-eval counterpart and is written as ``exact_match``.

Example: ``ragft export-jaster configs/jglue.toml out/ --data-dir ../shared/data``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.prompts import DEFAULT_INSTRUCTIONS
from bench.types import Example
from tasks.loaders import Task

JASTER_METRICS = {"exact_match": "exact_match", "char_f1": "char_f1", "set_f1": "set_f1", "choice_accuracy": "exact_match"}
DEFAULT_SHOTS = 4


def jaster_input(ex: Example) -> str:
    if ex.kind == "quiz":
        return ex.question
    if ex.kind == "document" and ex.context:
        return f"文書：{ex.context}\n質問：{ex.question}"
    return f"質問：{ex.question}"


def _sample(ex: Example) -> dict[str, str]:
    return {"input": jaster_input(ex), "output": ex.reference or ""}


def jaster_dict(task: Task, split: str, num_few_shots: int | None = None) -> dict[str, Any]:
    """The jaster JSON object for one split of ``task``."""
    n_shots = num_few_shots if num_few_shots is not None else (task.num_few_shots or DEFAULT_SHOTS)
    train = task.splits.get("train", [])
    metrics = list(dict.fromkeys(JASTER_METRICS[m] for m in task.metrics if m in JASTER_METRICS))
    refs = [e.reference or "" for exs in task.splits.values() for e in exs]
    out: dict[str, Any] = {
        "instruction": task.instruction or DEFAULT_INSTRUCTIONS[task.kind],
        "output_length": task.output_length or max(8, max((len(r) for r in refs), default=8)),
        "metrics": metrics or ["exact_match"],
        "few_shots": [_sample(e) for e in train[:n_shots]] if split != "train" else [],
        "samples": [_sample(e) for e in task.splits[split]],
        "num_few_shots": n_shots,
    }
    if task.label_list:
        out["label_list"] = task.label_list
    if task.answer_extract_pattern:
        out["answer_extract_pattern"] = task.answer_extract_pattern
    if task.custom_prompt_template:
        out["custom_prompt_template"] = task.custom_prompt_template
    return out


def export_jaster(task: Task, root: Path, version: str = "ragft", num_few_shots: int | None = None) -> list[Path]:
    """Write every split of ``task`` under ``root/{version}/evaluation/{split}/{task.name}.json``."""
    written: list[Path] = []
    for split in task.splits:
        path = root / version / "evaluation" / split / f"{task.name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(jaster_dict(task, split, num_few_shots), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
