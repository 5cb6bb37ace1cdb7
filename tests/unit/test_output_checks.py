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
    assert answer_key("0", ["0", "1", "2", "3", "4"]) == "0" and answer_key("10", ["0", "1"]) == "10"


class ContentReader(ArmBackend):
    """Answers the label written before 甲 in the question (follows the option's content)."""

    def generate(self, requests, progress=None):  # type: ignore[no-untyped-def]
        import re

        from bench.types import Completion

        out = []
        for r in requests:
            block = r.messages[-1].content.rsplit("選択肢", 1)[1]
            m = re.search(r"([abcd]) 甲", block)
            text = m.group(1) if m else "?"
            out.append(Completion(text=text, finish_reason="stop", prompt_tokens=10, output_tokens=1, latency_s=0.01))
        return out


def _shuffle_cfg(tmp_path: Path) -> Path:
    cfg = make_quiz(tmp_path / "data")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('arms = ["base", "noshots"]', 'arms = ["base"]')
                   + "shuffle_choices = true\n", encoding="utf-8")
    return cfg


def test_shuffle_choices_finds_position_bias_and_counts_the_cost(tmp_path: Path) -> None:
    from bench.store.costs import read_costs

    cfg = _shuffle_cfg(tmp_path)
    backend = ArmBackend({"base": lambda e: "a"})  # always the first option, wherever the options go
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    d = tmp_path / "out" / "q1"
    assert sum(1 for c in backend.calls if c.endswith("~rotated")) == 20  # every item asked again
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "position bias: asked again with the options rotated, base kept the same label on 100% of 20 items" in rec
    assert "followed the option's content on 0%; accuracy 25% in the original order, 25% rotated" in rec
    fixed = [c for c in read_costs(d).fixed if c.kind == "shuffle_check"]
    assert [(c.arm, c.task, c.generations) for c in fixed] == [("base", "law", 20)]
    report = (d / "report.md").read_text(encoding="utf-8")
    assert "### Position bias (`shuffle_choices`)" in report and "| law | base | 20 | 20 | 100% | 0% | 25% | 25% | 0 |" in report
    # a rerun resumes: nothing generated again, the cost recorded when it was paid stands
    backend.calls.clear()
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    assert backend.calls == []
    assert [c.generations for c in read_costs(d).fixed if c.kind == "shuffle_check"] == [20]


def test_shuffle_choices_content_reader_has_no_position_bias(tmp_path: Path) -> None:
    cfg = _shuffle_cfg(tmp_path)
    Runner(load_config(cfg), backend=ContentReader({}), output_dir=tmp_path / "out").run()
    d = tmp_path / "out" / "q1"
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "position bias" not in rec
    report = (d / "report.md").read_text(encoding="utf-8")
    assert "| law | base | 20 | 20 | 0% | 100% |" in report


def test_rotate_options_moves_every_option() -> None:
    from tasks.choices import chosen_label, rotate_options

    assert rotate_options("質問：何？\n選択肢：0.犬,1.猫,2.鳥", ["0", "1", "2"]) == "質問：何？\n選択肢：0.鳥,1.犬,2.猫"
    law = "問題文：X\n選択肢：\na 甲は乙\nb 丙\nc 丁\nd 戊"
    assert rotate_options(law, list("abcd")) == "問題文：X\n選択肢：\na 戊\nb 甲は乙\nc 丙\nd 丁"
    assert rotate_options("選択肢：a 甲, b 甲", ["a", "b"]) is None  # repeated option: nothing to tell apart
    assert rotate_options("選択肢なし", list("abcd")) is None and rotate_options("選択肢：a x, c y", list("abc")) is None
    assert chosen_label("答えは b です", list("abcd")) == 1 and chosen_label("Ｃ", list("abcd")) == 2
    assert chosen_label("わかりません", list("abcd")) is None
