"""caveats.json written by the real checks (contamination, judge reliability with judge-check,
data notes) and read by the recommendation; judge credibility measured, not looked up.

Generations and judge replies come from scripted backends (this tests the checks' and the
report's logic; the real hf judge path is in tests/integration/test_llm_judge_hf.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from adapters.contamination import record_contamination
from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.config.judges import JudgeSpec
from bench.config.model import ModelSection
from bench.engine.runner import Runner
from bench.judges import reliability
from bench.judges.check import load_mt_bench, record_check, run_check
from bench.judges.grading import grade_run
from bench.judges.llm import judge_id
from bench.report.sections.judge import CREDIBILITY_RULE
from bench.report.writer import write_reports
from bench.store.files import read_caveats
from bench.types import Completion, Example, GenRequest
from tests.fixture_data import make_tasks
from tests.unit.test_grading import Scripted
from tests.unit.test_judge_check import ContentJudge, write_mt_bench


def _run(tmp_path: Path) -> Path:
    cfg = make_tasks(tmp_path / "data")
    answers = {"q-te-0": "四百円", "q-te-1": "四百円", "doc-1": "四百円\n環境課"}
    Runner(load_config(cfg), backend=ScriptedBackend(answers=answers, default="x"),
           output_dir=tmp_path / "out", tasks=["qa", "doc"]).run()
    return tmp_path / "out" / "t1"


def _rec(run_dir: Path) -> str:
    write_reports(run_dir)
    return str(json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["recommendation"])


def test_contamination_check_writes_a_caveat_the_recommendation_shows(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    assert "contamination" not in _rec(run_dir)
    examples = json.loads((run_dir / "examples.json").read_text(encoding="utf-8"))["qa"]
    items = [Example.model_validate(e) for e in examples.values()]
    seen = items[0]  # the model was tuned on this item's text
    record_contamination(run_dir, "qa", "lora:test", [("train/1", f"{seen.question}\n{seen.reference}")], items)
    cav = read_caveats(run_dir).caveats
    assert [(c.source, c.task, c.kind) for c in cav] == [("contamination", "qa", "contaminated_items")]
    assert cav[0].data["flagged"] == [seen.id] and cav[0].data["n_checked"] == len(items)
    rec = _rec(run_dir)
    qa = rec.split("**doc**")[0]
    assert f"contamination: 1 of {len(items)} checked items" in qa and "lora:test" in qa
    assert "汚染:" in rec
    # a clean re-check replaces the caveat instead of piling up
    record_contamination(run_dir, "qa", "lora:test", [("train/1", "まったく別の文章です。" * 5)], items)
    assert read_caveats(run_dir).caveats == []
    assert "contamination:" not in _rec(run_dir)


def test_data_notes_become_caveats(tmp_path: Path) -> None:
    """Data checks of the readers (notes in selection.json) and skipped arms reach the recommendation."""
    cfg = make_tasks(tmp_path / "data")
    for f in (tmp_path / "data" / "quiz").glob("*/choice.json"):  # a metric ragft does not compute: a note
        f.write_text(f.read_text(encoding="utf-8").replace('["exact_match"]', '["exact_match", "bleu_ja"]'),
                     encoding="utf-8")
    Runner(load_config(cfg), backend=ScriptedBackend(default="1"), output_dir=tmp_path / "out", tasks=["choice"]).run()
    run_dir = tmp_path / "out" / "t1"
    sel = json.loads((run_dir / "selection.json").read_text(encoding="utf-8"))
    notes = {t: s["notes"] for t, s in sel.items()}
    cav = [c for c in read_caveats(run_dir).caveats if c.source == "data" and c.kind == "reader_note"]
    assert cav, "the fixture tasks carry reader notes"
    assert sorted((c.task, c.en) for c in cav) == sorted((t, f"data: {n}") for t, ns in notes.items() for n in ns)
    assert "data: metrics not computed by ragft" in _rec(run_dir)


def _grade(run_dir: Path, spec: JudgeSpec, replies: dict[str, str], default: str) -> str:
    grade_run(run_dir, [spec], backend_factory=lambda s: Scripted(spec.name, answers=replies, default=default))
    return judge_id(spec)


GEMMA = ModelSection(id="embedded:gemma-3-270m", backend="hf")  # once on a hard-coded "not credible" list
BIG = ModelSection(id="Qwen/Qwen2.5-7B-Instruct", backend="vllm")


def test_credibility_is_measured_not_looked_up(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    spec = JudgeSpec(name="small", model=GEMMA)
    jid = _grade(run_dir, spec, {}, "評価：[[7]]")  # every reply parses
    rel = json.loads((run_dir / "judge_reliability.json").read_text(encoding="utf-8"))["judges"][jid]
    assert rel["credibility"] == "unmeasured" and any("judge-check" in r for r in rel["credibility_reasons"])
    # the judge-check shows it separates reference answers from degraded ones: credible, whatever its size
    exs = load_mt_bench(write_mt_bench(tmp_path / "mt", n=6))

    class Separating(ContentJudge):
        """Scores the reference of the asked question 9, anything else 1 (reads question and answer)."""

        def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[Completion]:  # type: ignore[override]
            out = []
            for r in requests:
                text = r.messages[-1].content
                asked = text.split("<質問>\n質問", 1)[1].split("：", 1)[0]
                cand = text.split("<候補回答>", 1)[1].split("</候補回答>")[0]
                good = f"回答{asked}です" in cand and "詳しくは" in cand
                out.append(Completion(text="評価：[[9]]" if good else "評価：[[1]]", finish_reason="stop",
                                      prompt_tokens=1, output_tokens=1, latency_s=0.0))
            return out

    res = run_check(spec, exs, Separating(lambda c: ""))
    record_check(run_dir, res)
    rel = json.loads((run_dir / "judge_reliability.json").read_text(encoding="utf-8"))["judges"][jid]
    assert rel["credibility"] == "credible", rel["credibility_reasons"]
    assert rel["discrimination"]["wrong_language"]["win_rate"] == 1.0
    write_reports(run_dir)
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "Not a credible judge" not in report and "| credible |" in report
    assert not [c for c in read_caveats(run_dir).caveats if c.source == "judge"]


def test_unreadable_judge_is_not_credible_and_the_caveat_reaches_its_tasks(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    spec = JudgeSpec(name="big", model=BIG)
    replies = {"q-te-0": "評価：[[8]]", "q-te-1": "[[7]]"}  # the rest: no score in the reply
    jid = _grade(run_dir, spec, replies, "よくわかりません")
    rel = json.loads((run_dir / "judge_reliability.json").read_text(encoding="utf-8"))["judges"][jid]
    assert rel["credibility"] == "not credible"
    assert any(r.startswith("parse-failure rate") and "> 0.1" in r for r in rel["credibility_reasons"])
    cav = [c for c in read_caveats(run_dir).caveats if c.source == "judge"]
    assert [c.kind for c in cav] == ["judge_not_credible"] and cav[0].data["judge"] == jid
    rec = _rec(run_dir)
    assert f"judge: {jid} is not a credible judge (parse-failure rate" in rec  # it decides (first LLM judge)
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert f"**Not a credible judge:** `{jid}`" in report and CREDIBILITY_RULE in report
    assert f"Deciding judge: `{jid}`, the first configured LLM judge" in report


def test_stated_thresholds_match_the_measurement() -> None:
    r = reliability
    for words in (f"parse-failure rate ≤ {r.MAX_PARSE_FAILURE:g}", f"mean repeat SD ≤ {r.MAX_REPEAT_SD:g} points",
                  f"≥ {r.MIN_WIN_RATE:.0%} of items by ≥ {r.MIN_GAP:g} points", f"≥ {r.MIN_PAIRS} scored pairs"):
        assert words in CREDIBILITY_RULE and words in r.THRESHOLDS_EN


def test_repeat_spread_makes_a_judge_not_credible() -> None:
    from bench.store.files import JudgeCheck, JudgeStats, VariantSeparation

    good = {v: VariantSeparation(pairs=10, win_rate=0.9, mean_gap=3.0) for v in ("truncated", "off_topic")}
    check = JudgeCheck(judge="llm:x@1", model="m", separation=good)
    st = JudgeStats(model="m", n_graded=10, parse_failure_rate=0.0, repeat_sd_mean=2.5)
    label, why = reliability.credibility(st, check)
    assert label == "not credible" and why == ["mean repeat SD 2.50 > 1.5"]
    assert reliability.credibility(st.model_copy(update={"repeat_sd_mean": 0.5}), check)[0] == "credible"
    weak = JudgeCheck(judge="llm:x@1", model="m", separation={**good, "off_topic": VariantSeparation(
        pairs=10, win_rate=0.6, mean_gap=3.0)})
    label, why = reliability.credibility(st.model_copy(update={"repeat_sd_mean": 0.5}), weak)
    assert label == "not credible" and "off_topic (win rate 0.60" in why[-1]
