"""judge-check logic on a small MT-Bench-shaped folder written here: loading, degradations, verdict."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.backends.scripted import ScriptedBackend
from bench.config.judges import JudgeSpec
from bench.errors import InputError, RagftError
from bench.judges.check import degrade, load_mt_bench, run_check
from bench.report.sections.judge import check_markdown
from bench.types import Completion, GenRequest


def write_mt_bench(root: Path, n: int = 6) -> Path:
    (root / "reference_answer").mkdir(parents=True)
    cats = ["math", "writing", "coding"]
    qs = [{"question_id": i, "category": cats[i % 3], "turns": [f"質問{i}：みなと市の人口は？", "続き"]} for i in range(n)]
    refs = [{"question_id": i, "choices": [{"index": 0, "turns": [
        f"回答{i}です。みなと市の人口は約{i}万人で、詳しくは市の統計を参照してください。\nx = {i} + 1\n", "続き"]}]}
        for i in range(n)]
    (root / "question_full-v4.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qs))
    (root / "reference_answer" / "base-gpt4o-with-human-annotation-v0.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in refs))
    return root


def test_load_and_degrade(tmp_path: Path) -> None:
    exs = load_mt_bench(write_mt_bench(tmp_path / "mt"), limit=4)
    assert [e.id for e in exs] == ["mtbench-0", "mtbench-1", "mtbench-2", "mtbench-3"]
    assert exs[0].question.startswith("質問0") and exs[0].reference and exs[0].metadata["category"] == "math"
    cases = degrade(exs)
    assert len(cases) == 16
    by = {(v, e.id): c for v, e, c in cases}
    ref = exs[1].reference or ""
    assert by[("reference", "mtbench-1")] == ref
    assert ref.startswith(by[("truncated", "mtbench-1")]) and len(by[("truncated", "mtbench-1")]) < len(ref)
    off = by[("off_topic", "mtbench-1")]
    assert off != ref and off in {e.reference for e in exs if e.metadata["category"] != "writing"}
    wl = by[("wrong_language", "mtbench-1")]
    assert "x = 1 + 1" in wl and not any("\u3040" <= ch <= "\u9fff" for ch in wl)


def test_load_errors_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(RagftError, match="no such folder"):
        load_mt_bench(tmp_path / "absent")
    root = write_mt_bench(tmp_path / "mt")
    (root / "question_full-v4.jsonl").write_text('{"question_id": 1, "turns": ["q"]}\n{"question_id": 2, "turns": 3}\n')
    with pytest.raises(InputError, match=r"question_full-v4.jsonl:2: field 'turns'"):
        load_mt_bench(root)


class ContentJudge(ScriptedBackend):
    """Replies by looking at the candidate answer (a stand-in judge for the verdict logic only)."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self.rule = rule

    def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[Completion]:  # type: ignore[override]
        out = []
        for r in requests:
            cand = r.messages[-1].content.split("<候補回答>", 1)[1]
            text = self.rule(cand)
            out.append(Completion(text=text, finish_reason="stop", prompt_tokens=1, output_tokens=1, latency_s=0.0))
        return out


def test_verdict_separates_or_not(tmp_path: Path) -> None:
    exs = load_mt_bench(write_mt_bench(tmp_path / "mt", n=6))

    def good(c: str) -> str:
        if "Sure!" in c:
            return "評価：[[1]]"
        if "詳しくは" not in c:  # truncated
            return "評価：[[3]]"
        return "評価：[[9]]"  # reference and off-topic look alike to this judge

    res = run_check(JudgeSpec(name="g"), exs, ContentJudge(good))
    assert res["variants"]["reference"]["mean"] == 9.0 and res["variants"]["wrong_language"]["mean"] == 1.0
    assert res["separation"]["truncated"] == {"pairs": 6, "win_rate": 1.0, "mean_gap": 6.0}
    assert res["separation"]["off_topic"]["win_rate"] == 0.5
    assert res["verdict"].startswith("does NOT separate")

    def separating(c: str) -> str:
        q = c.split("</候補回答>")[0]
        if "Sure!" in q:
            return "評価：[[1]]"
        if "詳しくは" not in q:
            return "評価：[[3]]"
        return "評価：[[9]]" if f"回答{ask[0]}" in q else "評価：[[2]]"

    ask = [""]

    class AskAware(ContentJudge):
        def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[Completion]:  # type: ignore[override]
            out: list[Completion] = []
            for r in requests:
                ask[0] = r.messages[-1].content.split("<質問>\n質問", 1)[1].split("：", 1)[0]
                out += super().generate([r])
            return out

    res2 = run_check(JudgeSpec(name="g"), exs, AskAware(separating))
    assert res2["verdict"].startswith("separates"), res2["separation"]
    unsc = run_check(JudgeSpec(name="g"), exs, ContentJudge(lambda c: "わかりません"))
    assert unsc["parse_failure_rate"] == 1.0 and unsc["verdict"].startswith("not enough scored pairs")
    assert all(v["unscored"] == 6 for v in unsc["variants"].values())
    assert "Judge check" in check_markdown(res)
