"""jaster (llm-jp-eval) files: newer fields, few-shots from train, errors, and the writer's round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.errors import InputError
from bench.judges.base import JudgeItem
from bench.judges.reference import ReferenceJudge
from bench.types import Completion, Prediction
from tasks.jaster import load_jaster
from tasks.jaster_export import export_jaster
from tasks.jglue import load_jsquad_document
from tests.external_fixtures import write_jsquad


def _file(samples: int = 4, **extra: Any) -> dict[str, Any]:
    return {
        "instruction": "前提と仮説の関係を答えてください。", "output_length": 3, "metrics": ["exact_match", "pearson"],
        "few_shots": [{"input": "前提：例\n仮説：例", "output": "neutral"}],
        "samples": [{"input": f"前提：文{i}\n仮説：文", "output": ["entailment", "neutral"][i % 2]} for i in range(samples)],
        **extra,
    }


def _write(root: Path, split: str, body: dict[str, Any], name: str = "jnli") -> Path:
    p = root / "2.0.0" / "evaluation" / split / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    return p


def test_newer_fields_and_version_folder(tmp_path: Path) -> None:
    labels = ["entailment", "contradiction", "neutral"]
    body = _file(label_list=labels, answer_extract_pattern=r"答え：(\w+)", num_few_shots=3,
                 custom_prompt_template="{instruction}\n{input}")
    _write(tmp_path, "test", body)
    _write(tmp_path, "train", _file(6, label_list=labels))
    task = load_jaster("jnli", tmp_path / "2.0.0", "jnli")  # the version folder that holds evaluation/
    assert task.label_list == labels and task.num_few_shots == 3
    assert task.answer_extract_pattern == r"答え：(\w+)" and task.custom_prompt_template
    assert task.metrics == ["exact_match"] and any("pearson" in n for n in task.notes)
    ex = task.splits["test"][0]
    assert ex.choices == labels and ex.metadata["answer_extract_pattern"] == r"答え：(\w+)"
    assert len(task.splits["train"]) == 6


def test_few_shots_field_becomes_train_split_when_no_train_file(tmp_path: Path) -> None:
    _write(tmp_path, "test", _file())
    task = load_jaster("jnli", tmp_path / "2.0.0" / "evaluation", "jnli")
    assert [e.reference for e in task.splits["train"]] == ["neutral"]
    assert task.splits["train"][0].id not in {e.id for e in task.splits["test"]}


def test_judge_applies_answer_extract_pattern(tmp_path: Path) -> None:
    _write(tmp_path, "test", _file(answer_extract_pattern=r"答え：(\w+)"))
    ex = load_jaster("jnli", tmp_path / "2.0.0", "jnli").splits["test"][1]
    pred = Prediction(
        run_id="r", task="jnli", arm="base", example_id=ex.id, request_key="k", prompt="p",
        completion=Completion(text="考えます。答え：neutral です", finish_reason="stop", prompt_tokens=1,
                              output_tokens=1, latency_s=0.0),
    )
    assert ReferenceJudge().grade([JudgeItem.from_prediction(pred, ex, ["exact_match"])])[0].score == 10.0


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ({"label_list": ["entailment"]}, r"samples\[1\]\.output.*label_list"),
        ({"answer_extract_pattern": "(unclosed"}, r"answer_extract_pattern.*regular expression"),
        ({"num_few_shots": -1}, r"num_few_shots"),
        ({"custom_prompt_template": "no placeholder"}, r"custom_prompt_template"),
        ({"instructions": "typo"}, r"instructions.*unknown key"),
    ],
)
def test_jaster_field_errors(tmp_path: Path, extra: dict[str, Any], pattern: str) -> None:
    _write(tmp_path, "test", _file(**extra))
    with pytest.raises(InputError, match=pattern):
        load_jaster("jnli", tmp_path / "2.0.0", "jnli")


def test_writer_round_trip(tmp_path: Path) -> None:
    labels = ["entailment", "contradiction", "neutral"]
    _write(tmp_path / "src", "test", _file(label_list=labels, num_few_shots=2))
    _write(tmp_path / "src", "train", _file(5, label_list=labels))
    task = load_jaster("jnli", tmp_path / "src" / "2.0.0", "jnli")
    written = export_jaster(task, tmp_path / "out", version="v1")
    assert {p.parent.name for p in written} == {"train", "test"}
    back = load_jaster("jnli", tmp_path / "out" / "v1", "jnli")
    for split in task.splits:
        assert [(e.question, e.reference) for e in back.splits[split]] == [
            (e.question, e.reference) for e in task.splits[split]
        ]
    assert back.label_list == labels and back.num_few_shots == 2 and back.instruction == task.instruction
    test_file = json.loads((tmp_path / "out" / "v1" / "evaluation" / "test" / "jnli.json").read_text(encoding="utf-8"))
    assert len(test_file["few_shots"]) == 2 and test_file["metrics"] == ["exact_match"]


def test_writer_exports_document_tasks_with_their_document(tmp_path: Path) -> None:
    task = load_jsquad_document("jsq_doc", write_jsquad(tmp_path / "jsquad"))
    export_jaster(task, tmp_path / "out")
    back = load_jaster("jsq_doc", tmp_path / "out" / "ragft", "jsq_doc")
    first = back.splits["test"][0]
    assert first.question.startswith("文書：") and "\n質問：" in first.question
    assert back.metrics == ["char_f1", "exact_match"]
