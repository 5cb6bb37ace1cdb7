"""Multi-arm analysis, cost, recommendation, exports and the HTML report, with the scripted backend
on fixture data (test-only arms are registered by monkeypatching ARMS)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import registry
from bench.arms.context import ArmContext, ArmPlan
from bench.backends.base import GenResult
from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from bench.report.writer import write_reports
from bench.store.costs import read_costs, record_fixed_cost, record_query_cost
from bench.types import GenRequest
from tests.fixture_data import write_jsonl


class NoShotsArm:
    """Test-only arm: drops the few-shot examples (so its requests differ from base)."""

    name = "noshots"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        record_fixed_cost(ctx.run_dir, self.name, None, "index_build", 36.0, "cpu")

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        for p in plans:
            p.shots = []
            p.hits = ["d1-p1"]


class TwinArm(NoShotsArm):
    name = "twin"

    def prepare(self, ctx: ArmContext) -> None:
        record_fixed_cost(ctx.run_dir, self.name, ctx.task.name, "lora_training", 3600.0, "cuda")


class ArmBackend(ScriptedBackend):
    """Answers by (arm, example id): lets one arm be right where another is wrong."""

    def __init__(self, by_arm: dict[str, Callable[[str], str]]) -> None:
        super().__init__()
        self.by_arm = by_arm

    def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[GenResult]:
        out = []
        for r in requests:
            self.answers = {r.example_id: self.by_arm[r.arm](r.example_id)}
            out += super().generate([r])
        return out


def make_data(root: Path, n: int = 24) -> Path:
    write_jsonl(root / "corpus.jsonl", [{"doc_id": "d1", "title": "ごみ", "passages": [
        {"id": "d1-p1", "text": "粗大ごみの手数料は一点四百円です。"}]}])
    write_jsonl(root / "qa" / "train.jsonl", [
        {"id": "tr-1", "question": "手数料は？", "answer": "四百円", "gold_passages": ["d1-p1"]}])
    write_jsonl(root / "qa" / "test.jsonl", [
        {"id": f"te-{i:02d}", "question": f"質問{i}？", "answer": "四百円", "gold_passages": ["d1-p1"]}
        for i in range(n)])
    cfg = root / "exp.toml"
    cfg.write_text(
        'arms = ["base", "noshots", "twin"]\n[run]\nid = "m1"\n[model]\nid = "MODEL"\n'
        '[report]\nlanguage = "both"\n[cost]\ncpu_hour = 1.0\ngpu_hour = 3.0\nqueries = 1000\n'
        '[[tasks]]\nname = "qa"\nloader = "qa-jsonl"\npath = "qa"\ncorpus = "corpus.jsonl"\nfew_shots = 1\n',
        encoding="utf-8")
    return cfg


@pytest.fixture
def arms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TABLES["arm"], "noshots", registry.Entry(f"{__name__}:NoShotsArm", "test only"))
    monkeypatch.setitem(registry.TABLES["arm"], "twin", registry.Entry(f"{__name__}:TwinArm", "test only"))


def run_three(tmp_path: Path, fail: set[str] | None = None) -> Path:
    cfg = make_data(tmp_path / "data")
    # base right on 1/4 of items, noshots and twin right on all but one (identical to each other)
    backend = ArmBackend({
        "base": lambda e: "四百円" if int(e[-2:]) % 4 == 0 else "わかりません",
        "noshots": lambda e: "四百円" if e != "te-05" else "五百円",
        "twin": lambda e: "四百円" if e != "te-05" else "五百円",
    })
    backend.fail = fail or set()
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    return tmp_path / "out" / "m1"


def test_three_arms_pairs_costs_and_recommendation(tmp_path: Path, arms: None) -> None:
    d = run_three(tmp_path)
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    pairs = {(p["arm_a"], p["arm_b"]): p for p in summary["paired_diffs"]}
    assert set(pairs) == {("base", "noshots"), ("base", "twin"), ("noshots", "twin")}
    p = pairs[("base", "noshots")]
    assert p["n"] == 24 and p["diff"] > 5 and p["ci_low"] > 0 and p["significant"]
    assert p["p_holm"] >= p["wilcoxon_p"] and p["b_only_right"] >= 17
    tie = pairs[("noshots", "twin")]
    assert tie["diff"] == 0 and not tie["significant"] and tie["p_holm"] == 1.0
    # costs: noshots has a shared CPU index (36 s at 1/h), twin a GPU training hour at 3/h
    by = {s["arm"]: s["cost"] for s in summary["summaries"]}
    assert by["noshots"]["fixed_money"] == pytest.approx(0.01)
    assert by["twin"]["fixed_money"] == pytest.approx(3.0)
    assert by["base"]["fixed_s"] == 0
    # recommendation: noshots and twin tie above base, equally simple -> the cheaper one (noshots)
    rec = summary["recommendation"]
    assert "choose the simplest: **noshots**" in rec and "最も単純な **noshots**" in rec
    report = (d / "report.md").read_text(encoding="utf-8")
    assert "## Paired differences" in report and "**significant**" in report and "## Cost per arm" in report
    html = (d / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3
    assert "d1-p1" in html and "粗大ごみ" in html  # retrieved passage text in the item browser


def test_significant_winner(tmp_path: Path, arms: None) -> None:
    cfg = make_data(tmp_path / "data")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"noshots", "twin"', '"noshots"'), encoding="utf-8")
    backend = ArmBackend({"base": lambda e: "わかりません", "noshots": lambda e: "四百円"})
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    summary = json.loads((tmp_path / "out" / "m1" / "summary.json").read_text(encoding="utf-8"))
    assert "\n\n**qa** — Use **noshots**" in summary["recommendation"]
    assert "を推奨します" in summary["recommendation"]
    assert 'Rule (`report.tie_break = "simplest"`)' in summary["recommendation"]


def test_single_arm_says_no_comparison(tmp_path: Path) -> None:
    cfg = make_data(tmp_path / "data")
    text = cfg.read_text(encoding="utf-8").replace('["base", "noshots", "twin"]', '["base"]')
    cfg.write_text(text.replace('language = "both"', 'language = "en"'), encoding="utf-8")
    right = {f"te-{i:02d}": "四百円" for i in range(0, 24, 3)}
    Runner(load_config(cfg), backend=ScriptedBackend(answers=right, default="x"), output_dir=tmp_path / "out").run()
    d = tmp_path / "out" / "m1"
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    assert summary["paired_diffs"] == []
    assert "Only one arm (base)" in summary["recommendation"] and "実行" not in summary["recommendation"]
    assert (d / "report.html").is_file() and "## Statistical power" in (d / "report.md").read_text()
    assert "only differences of about" in summary["recommendation"]  # MDD stated


def test_failures_and_exports(tmp_path: Path, arms: None) -> None:
    d = run_three(tmp_path, fail={"te-03"})
    write_reports(d)
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "3 failed" not in rec and "1 failed" in rec
    rows = list(csv.DictReader((d / "results.csv").open(encoding="utf-8")))
    assert len(rows) == 3 * 24
    failed = [r for r in rows if r["failed"] == "True"]
    assert len(failed) == 3 and all(r["score"] == "" for r in failed)  # failed: no score, not 0
    assert {"metric_char_f1", "metric_exact_match", "answer", "question"} <= set(rows[0])


def test_html_has_no_network_references(tmp_path: Path, arms: None) -> None:
    d = run_three(tmp_path)
    html = (d / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "<script src" not in html and "@import" not in html


def test_record_costs_is_idempotent_and_validated(tmp_path: Path) -> None:
    record_fixed_cost(tmp_path, "rag", None, "index_build", 10.0, "cpu")
    record_fixed_cost(tmp_path, "rag", None, "index_build", 12.0, "cpu")
    record_fixed_cost(tmp_path, "prompt", "qa", "prompt_search", 50.0, "cuda", generations=200)
    record_query_cost(tmp_path, "rag", "qa", "retrieval", 2.0, 40, "cpu")
    c = read_costs(tmp_path)
    assert [e.seconds for e in c.fixed if e.arm == "rag"] == [12.0]
    assert c.fixed[-1].generations == 200 and c.per_query[0].queries == 40
    with pytest.raises(ValueError, match="-1"):
        record_fixed_cost(tmp_path, "rag", None, "x", -1.0, "cpu")
    (tmp_path / "costs.json").write_text("{oops", encoding="utf-8")
    from bench.errors import RagftError

    with pytest.raises(RagftError, match="costs.json"):
        read_costs(tmp_path)


def test_break_even() -> None:
    from bench.report.costs import ArmCost, break_even

    rag = ArmCost(task="t", arm="rag", per_query_money=0.002, fixed_money=1.0)
    lora = ArmCost(task="t", arm="lora", per_query_money=0.001, fixed_money=11.0)
    assert break_even(rag, lora) == pytest.approx(10_000)
    assert break_even(lora, rag) == pytest.approx(10_000)
    assert break_even(rag, ArmCost(task="t", arm="x", per_query_money=0.003, fixed_money=2.0)) is None


def test_batch_time_is_shared_by_its_members(tmp_path: Path) -> None:
    from bench.config import CostSection
    from bench.report.costs import arm_costs

    def row(task: str, arm: str, eid: str, lat: float) -> dict[str, object]:
        return {"task": task, "arm": arm, "example_id": eid, "judge": "j", "prompt_tokens": 100,
                "output_tokens": 10, "latency_s": lat}

    # one batch of 4 (8 s) mixing two tasks, one single request (2 s)
    rows = [row("qa", "base", "a", 8.0), row("qa", "base", "b", 8.0), row("doc", "base", "c", 8.0),
            row("doc", "base", "d", 8.0), row("qa", "base", "e", 2.0)]
    from bench.store.files import CostsFile

    c = arm_costs(CostsFile(), rows, CostSection(cpu_hour=3600.0), "cpu")
    assert c[("qa", "base")].device_s_per_query == pytest.approx((2 + 2 + 2) / 3)
    assert c[("doc", "base")].device_s_per_query == pytest.approx(2.0)
    assert c[("qa", "base")].per_query_money == pytest.approx(2.0)  # 1 per device-second
    assert c[("qa", "base")].latency_p50_s == pytest.approx(8.0)  # what a user waited


def test_all_failed_run_still_reports(tmp_path: Path) -> None:
    from tests.fixture_data import make_tasks

    cfg = make_tasks(tmp_path / "data")
    ids = {f"q-te-{i}" for i in range(4)} | {"doc-1"} | {f"choice-test-{i:04d}" for i in range(5)}
    Runner(load_config(cfg), backend=ScriptedBackend(fail=ids), output_dir=tmp_path / "out").run()
    d = tmp_path / "out" / "t1"
    rec = json.loads((d / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "No arm has scored items" in rec and "base 5 failed" in rec
    assert "data:image/png" not in (d / "report.html").read_text(encoding="utf-8")


def test_oracle_is_never_recommended(tmp_path: Path, arms: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """oracle needs the gold passages at query time: a ceiling shown as a caveat, never the choice."""
    monkeypatch.setitem(registry.TABLES["arm"], "oracle", registry.Entry(f"{__name__}:NoShotsArm", "test only"))
    cfg = make_data(tmp_path / "data")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"noshots", "twin"', '"oracle"'), encoding="utf-8")
    backend = ArmBackend({"base": lambda e: "わかりません", "oracle": lambda e: "四百円"})
    Runner(load_config(cfg), backend=backend, output_dir=tmp_path / "out").run()
    rec = json.loads((tmp_path / "out" / "m1" / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "Use **oracle**" not in rec and "**oracle**" not in rec
    assert "Not a candidate" in rec and "oracle 10.00" in rec


def test_base_wins_a_tie(tmp_path: Path, arms: None) -> None:
    """No arm beats base significantly: keep base, however the measured per-query costs fall."""
    cfg = make_data(tmp_path / "data")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"noshots", "twin"', '"noshots"'), encoding="utf-8")
    same = {"base": lambda e: "四百円" if int(e[-2:]) % 2 else "x", "noshots": lambda e: "四百円" if int(e[-2:]) % 3 else "x"}
    Runner(load_config(cfg), backend=ArmBackend(same), output_dir=tmp_path / "out").run()
    rec = json.loads((tmp_path / "out" / "m1" / "summary.json").read_text(encoding="utf-8"))["recommendation"]
    assert "**qa** — No arm is significantly better" in rec and "choose the simplest: **base**" in rec
