"""The decision rule of the recommendation (``report.tie_break``), each branch through the real
runner and report writer with the scripted backend; test-only arms stand in for the arm kinds
(the rule reads the kind from the name), their answers are scripted per item."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import registry
from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from bench.report.recommend import items_needed, simplicity
from bench.report.writer import write_reports
from tests.unit.test_report import ArmBackend, NoShotsArm, make_data


class CheapRagArm(NoShotsArm):
    """Test-only arm named like rag: no few-shot examples, so a shorter (cheaper) prompt than base."""

    name = "rag"


@pytest.fixture
def rag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TABLES["arm"], "rag", registry.Entry(f"{__name__}:CheapRagArm", "test only"))


def run(tmp_path: Path, answers: dict[str, object], *, tie_break: str | None = None, arms: str = '"rag"') -> Path:
    cfg = make_data(tmp_path / "data")
    text = cfg.read_text(encoding="utf-8").replace('"noshots", "twin"', arms)
    # tokens are priced: base's few-shot prompt is dearer per query than rag's (like the example report)
    text = text.replace("queries = 1000\n", "queries = 1000\nper_1k_prompt_tokens = 1.0\n")
    if tie_break:
        text = text.replace('language = "both"\n', f'language = "both"\ntie_break = "{tie_break}"\n')
    cfg.write_text(text, encoding="utf-8")
    Runner(load_config(cfg), backend=ArmBackend(answers), output_dir=tmp_path / "out").run()  # type: ignore[arg-type]
    return tmp_path / "out" / "m1"


# base right on even items (12/24); rag on those and two more (14/24): a lead far from significant
TIE = {
    "base": lambda e: "四百円" if int(e[-2:]) % 2 == 0 else "わかりません",
    "rag": lambda e: "四百円" if int(e[-2:]) % 2 == 0 or e in ("te-01", "te-03") else "わかりません",
}


def _summary(d: Path) -> dict[str, object]:
    return json.loads((d / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_tie_simplest_keeps_base_though_dearer_and_says_what_rag_needs(tmp_path: Path, rag: None) -> None:
    d = run(tmp_path, TIE)  # type: ignore[arg-type]
    s = _summary(d)
    by = {x["arm"]: x["cost"] for x in s["summaries"]}  # type: ignore[index, union-attr]
    assert by["base"]["per_query_money"] > by["rag"]["per_query_money"]  # base is the dearer arm here
    rec = str(s["recommendation"])
    assert "By the rule, choose the simplest: **base**" in rec and "規則により最も単純な **base**" in rec
    assert 'Rule (`report.tie_break = "simplest"`)' in rec and "base < prompt < rag < lora < combinations" in rec
    # the best arm (rag) would win if its lead were detectable: items from the observed spread
    p = next(x for x in s["paired_diffs"] if {x["arm_a"], x["arm_b"]} == {"base", "rag"})  # type: ignore[union-attr]
    lead = abs(p["diff"])
    need = math.ceil(p["n"] * (p["mdd"] / lead) ** 2)
    assert need > p["n"]
    assert f"rag would be chosen if its lead of {lead:.2f} points were significant" in rec
    assert f"about {need:,} paired items (now 24" in rec
    report = (d / "report.md").read_text(encoding="utf-8")
    assert "choose the simplest: **base**" in report and "Rule (`report.tie_break" in report


def test_tie_cheapest_takes_the_cheaper_arm_over_base(tmp_path: Path, rag: None) -> None:
    """The found bug: with no significant winner base was kept whatever it cost."""
    d = run(tmp_path, TIE, tie_break="cheapest")  # type: ignore[arg-type]
    rec = str(_summary(d)["recommendation"])
    assert "By the rule, choose the cheapest: **rag**" in rec and "規則により最も安い **rag**" in rec
    assert "total cost at 1,000 queries" in rec
    assert "would be chosen if" not in rec  # the choice is the best arm itself


def test_cheapest_never_picks_an_arm_significantly_worse(tmp_path: Path, rag: None) -> None:
    """rag is cheaper but significantly worse: only base is left, under either tie-break."""
    worse = {"base": lambda e: "四百円", "rag": lambda e: "わかりません"}
    d = run(tmp_path, worse, tie_break="cheapest")  # type: ignore[arg-type]
    rec = str(_summary(d)["recommendation"])
    assert "**qa** — Use **base**" in rec and "only arm the rule can choose" in rec


def test_tie_break_is_validated(tmp_path: Path) -> None:
    from bench.errors import RagftError

    cfg = make_data(tmp_path / "data")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('language = "both"', 'tie_break = "fastest"'), encoding="utf-8")
    with pytest.raises((RagftError, ValueError), match="tie_break"):
        load_config(cfg)


def test_simplicity_ranks_by_the_kind_before_the_colon() -> None:
    order = ["rag+lora", "lora:law-v2", "base", "prompt:short", "rag", "other", "prompt+rag"]
    assert sorted(order, key=simplicity) == ["base", "prompt:short", "rag", "lora:law-v2", "other",
                                             "prompt+rag", "rag+lora"]


def test_items_needed_follows_the_spread() -> None:
    assert items_needed(2.0, 24, 1.0) == 96  # MDD ∝ 1/√n: half the gap takes four times the items
    assert items_needed(None, 24, 1.0) is None and items_needed(2.0, 24, 0.0) is None
    assert items_needed(0.5, 24, 1.0) == 24  # already detectable: never fewer than now


def test_recorded_caveats_reach_the_recommendation(tmp_path: Path, rag: None) -> None:
    from bench.backends.parity import PairResult, record_parity

    d = run(tmp_path, TIE)  # type: ignore[arg-type]
    # the parity check's records (its integration test runs the real hf/vllm comparison)
    pairs = [PairResult("p1", None, [1, 2], [1, 2], None), PairResult("p2", "ad", [1, 2], [1, 3], 1, ["vllm@1"])]
    record_parity(d, pairs)
    write_reports(d)
    rec = str(_summary(d)["recommendation"])
    assert "Caveats: parity: hf and vllm disagree beyond each other's top-5 on 1 of 2 greedy prompts (1 with a LoRA" in rec
    assert "注意: パリティ: hf と vllm が 2 件中 1 件" in rec
    record_parity(d, pairs[:1])  # a clean check clears it
    write_reports(d)
    assert "parity" not in str(_summary(d)["recommendation"])


def test_main_table_ci_uses_n_boot(tmp_path: Path) -> None:
    """The task × arm table's CI uses report.n_boot like the rest of the report."""
    from bench.report.stats import bootstrap_ci

    cfg = make_data(tmp_path / "data")
    text = cfg.read_text(encoding="utf-8").replace('["base", "noshots", "twin"]', '["base"]')
    cfg.write_text(text.replace('language = "both"', 'language = "en"\nn_boot = 150'), encoding="utf-8")
    right = {f"te-{i:02d}": "四百円" for i in range(0, 24, 3)}
    Runner(load_config(cfg), backend=ScriptedBackend(answers=right, default="x"), output_dir=tmp_path / "out").run()
    s = _summary(tmp_path / "out" / "m1")["summaries"][0]  # type: ignore[index]
    scores = [10.0 if i % 3 == 0 else 0.0 for i in range(24)]
    assert (s["ci_low"], s["ci_high"]) == bootstrap_ci(scores, seed=0, n_boot=150)
    assert (s["ci_low"], s["ci_high"]) != bootstrap_ci(scores, seed=0, n_boot=2000)
