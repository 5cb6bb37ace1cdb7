"""Degenerate-output caveats through the real runner and report writer (scripted answers): a
four-choice quiz answered `a` on every item in every arm is called out, with what always
answering `a` would score, and identical outputs across arms are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import registry
from bench.config import load_config
from bench.engine.runner import Runner
from bench.report.outputs import answer_key
from bench.store.files import read_caveats
from tests.unit.test_report import ArmBackend


class ShortArm:
    """Test-only second arm: no few-shot examples (its requests differ from base)."""

    name = "noshots"
    needs_model = False

    def prepare(self, ctx: object) -> None:
        pass

    def apply(self, ctx: object, plans: list) -> None:  # type: ignore[type-arg]
        for p in plans:
            p.shots = []


def make_quiz(root: Path, n: int = 20) -> Path:
    labels = ["a", "b", "c", "d"]
    gold = [labels[i % 4] for i in range(n)]  # a is right on a quarter of the items
    quiz = {"instruction": "記号で答えてください。", "output_length": 1, "metrics": ["exact_match"],
            "label_list": labels, "few_shots": [],
            "samples": [{"input": f"問{i}\n選択肢：a 甲, b 乙, c 丙, d 丁", "output": g} for i, g in enumerate(gold)]}
    for split in ("train", "test"):
        (root / "quiz" / split).mkdir(parents=True, exist_ok=True)
        (root / "quiz" / split / "law.json").write_text(json.dumps(quiz, ensure_ascii=False), encoding="utf-8")
    cfg = root / "exp.toml"
    cfg.write_text('arms = ["base", "noshots"]\n[run]\nid = "q1"\n[model]\nid = "MODEL"\n[report]\nlanguage = "both"\n'
                   '[[tasks]]\nname = "law"\nloader = "jaster"\npath = "quiz"\ndataset = "law"\nfew_shots = 1\n',
                   encoding="utf-8")
    return cfg


@pytest.fixture
def noshots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TABLES["arm"], "noshots", registry.Entry(f"{__name__}:ShortArm", "test only"))


def _run(tmp_path: Path, answers: dict[str, object]) -> Path:
    cfg = make_quiz(tmp_path / "data")
    Runner(load_config(cfg), backend=ArmBackend(answers), output_dir=tmp_path / "out").run()  # type: ignore[arg-type]
    return tmp_path / "out" / "q1"


def test_always_a_is_called_out_with_the_constant_score(tmp_path: Path, noshots: None) -> None:
    d = _run(tmp_path, {"base": lambda e: "a", "noshots": lambda e: "答えは a です"})
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    for arm in ("base", "noshots"):
        assert f"degenerate answers: {arm} answered `a` on 100% of 20 items" in rec
    assert "it scored 2.50, always answering `a` would score 2.50 (the gold share of that answer, 25%)" in rec
    assert "偏った回答: base は 20 件中 100% で `a`" in rec
    cav = read_caveats(d).caveats
    kinds = sorted((c.kind, c.arm) for c in cav if c.source == "outputs")
    assert kinds == [("degenerate_answers", "base"), ("degenerate_answers", "noshots")]  # texts differ: not identical
    report = (d / "report.md").read_text(encoding="utf-8")
    assert "## Output checks" in report and "**degenerate**" in report


def test_identical_outputs_across_arms_are_named(tmp_path: Path, noshots: None) -> None:
    same = {"base": lambda e: f"答えは{'abcd'[int(e[-4:]) % 4]}", "noshots": lambda e: f"答えは{'abcd'[int(e[-4:]) % 4]}"}
    d = _run(tmp_path, same)
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "identical outputs: base and noshots gave the same answer text on 100% of 20 items" in rec
    assert "degenerate answers" not in rec  # answers vary: each label a quarter of the time


def test_varied_answers_get_no_caveat_and_a_rerun_clears_it(tmp_path: Path, noshots: None) -> None:
    d = _run(tmp_path, {"base": lambda e: "abcd"[int(e[-4:]) % 4], "noshots": lambda e: "dcba"[int(e[-4:]) % 4]})
    assert [c for c in read_caveats(d).caveats if c.source == "outputs"] == []
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "degenerate" not in rec and "identical outputs" not in rec


def test_answer_key_reads_the_label_like_the_choice_metric() -> None:
    assert answer_key("答えは a です", ["a", "b", "c", "d"]) == "a"
    assert answer_key("Ｂ", ["a", "b", "c", "d"]) == "b"
    assert answer_key("entailment です", ["entailment", "contradiction", "neutral"]) == "entailment"
    assert answer_key("  四百円\n理由…", None) == "四百円"
