"""The grading stage over a run directory: side-by-side judges, unscored accounting, juries, resume, reliability.

Judge replies come from the scripted backend (this tests the stage's logic; the real hf path
is in tests/integration/test_llm_judge_hf.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.config.judges import JudgeSpec
from bench.engine.runner import Runner
from bench.judges.grading import grade_run
from bench.judges.llm import judge_id
from bench.report.writer import write_reports
from tests.fixture_data import make_tasks


class Scripted(ScriptedBackend):
    """Scripted judge replies under a distinct fingerprint (so two scripts never share cached replies)."""

    def __init__(self, tag: str, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.tag = tag

    def fingerprint(self) -> str:
        return f"scripted-{self.tag}"


REPLIES_A = {"q-te-0": "理由：正しい。\n評価：[[8]]", "q-te-1": "評価：７", "doc-1": "Score: 9"}
REPLIES_B = {"q-te-0": "評価：[[6]]", "q-te-1": "[[5]]", "q-te-2": "評価: 2"}


def _run(tmp_path: Path) -> Path:
    cfg = make_tasks(tmp_path / "data")
    answers = {"q-te-0": "四百円", "q-te-1": "四百円", "doc-1": "四百円\n環境課"}
    Runner(load_config(cfg), backend=ScriptedBackend(answers=answers, fail={"q-te-3"}, default="x"),
           output_dir=tmp_path / "out", tasks=["qa", "doc"]).run()
    return tmp_path / "out" / "t1"


def test_two_llm_judges_side_by_side_with_jury_and_reliability(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    preds_before = (run_dir / "predictions.jsonl").read_text()
    a, b = JudgeSpec(name="a"), JudgeSpec(name="b")
    backends = {"a": Scripted("a", answers=REPLIES_A, default="わかりません"),
                "b": Scripted("b", answers=REPLIES_B, default="評価できません")}
    n = grade_run(run_dir, [a, b], backend_factory=lambda s: backends[s.name])
    ida, idb = judge_id(a), judge_id(b)
    grades = [json.loads(x) for x in (run_dir / "grades.jsonl").read_text().splitlines()]
    ga = {g["example_id"]: g for g in grades if g["judge"] == ida}
    # 4 qa + 1 doc predictions; q-te-3 failed to generate: graded as 'no completion' without a judge call
    assert set(ga) == {"q-te-0", "q-te-1", "q-te-2", "q-te-3", "doc-1"}
    assert ga["q-te-0"]["score"] == 8.0 and ga["q-te-1"]["score"] == 7.0 and ga["doc-1"]["score"] == 9.0
    assert ga["q-te-2"]["score"] is None and ga["q-te-2"]["raw"] == "わかりません"  # unscored, not 0
    assert ga["q-te-3"]["score"] is None and "no completion" in ga["q-te-3"]["error"]
    assert all(g["judge_version"].startswith("ja-v1#") for g in ga.values())
    assert len(backends["a"].calls) == 4  # the failed prediction never reached the judge
    jury = [g for g in grades if g["judge"].startswith("jury:")]
    jq0 = next(g for g in jury if g["example_id"] == "q-te-0")
    assert jq0["score"] == 7.0 and jq0["metrics"] == {f"judge:{ida}": 8.0, f"judge:{idb}": 6.0}
    jq2 = next(g for g in jury if g["example_id"] == "q-te-2")
    assert jq2["score"] == 2.0  # only b scored it
    assert n == 2 * 5 + len(jury)
    assert (run_dir / "predictions.jsonl").read_text() == preds_before  # grading never regenerates

    record = write_reports(run_dir)
    by = {(s.task, s.judge): s for s in record.summaries}
    assert by[("qa", ida)].n == 4 and by[("qa", ida)].n_failed == 1 and by[("qa", ida)].n_unscored == 1
    assert by[("qa", ida)].mean == 7.5
    assert any(j.startswith("reference@") for _t, j in by)  # the reference judge stays, side by side
    rel = json.loads((run_dir / "judge_reliability.json").read_text())
    ra = rel["judges"][ida]
    assert ra["n_graded"] == 4 and ra["n_unparseable"] == 1 and ra["parse_failure_rate"] == 0.25
    assert rel["pairwise"][0]["n"] == 2  # q-te-0 and q-te-1 scored by both
    vs = next(iter(rel["vs_reference"][ida].values()))
    assert vs["n"] == 3
    report = (run_dir / "report.md").read_text()
    assert "## LLM judge (secondary scores, marked as such)" in report and "(LLM judge)" in report
    assert "Not a credible judge" in report and "Judge reliability" in report

    # a second pass grades nothing: unparseable replies are final, not retried
    again = {"a": Scripted("a2", default="SHOULD NOT BE USED"), "b": Scripted("b2", default="NO")}
    assert grade_run(run_dir, [a, b], backend_factory=lambda s: again[s.name]) == 0
    assert again["a"].calls == [] and again["b"].calls == []
    judges = json.loads((run_dir / "judges.json").read_text())
    assert judges[ida]["prompt_hash"] and any(v["kind"] == "jury" for v in judges.values())


def test_judge_limited_to_tasks_gets_no_rows_elsewhere(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    spec = JudgeSpec(name="a", tasks=["doc"])
    grade_run(run_dir, [spec], backend_factory=lambda s: Scripted("c", default="評価：[[5]]"))
    record = write_reports(run_dir)
    rows = {(s.task, s.judge) for s in record.summaries}
    assert ("doc", judge_id(spec)) in rows and ("qa", judge_id(spec)) not in rows


def test_judges_in_the_config_do_not_change_the_run_id(tmp_path: Path) -> None:
    cfg_path = make_tasks(tmp_path / "data")
    plain = load_config(cfg_path)
    cfg_path.write_text(cfg_path.read_text().replace('[run]\nid = "t1"\n', "") +
                        '\n[[judges]]\nname = "g"\n[judges.sampling]\nmax_new_tokens = 8\n')
    with_judge = load_config(cfg_path)
    assert with_judge.judges[0].sampling.max_new_tokens == 8
    assert with_judge.identity() == plain.identity()


class GuidedScripted(Scripted):
    """A backend advertising JSON-schema decoding (records the schema it was given)."""

    supports_json_schema = True

    def __init__(self) -> None:
        super().__init__("guided", default='{"rationale": "参照回答と一致", "score": 8.5}')
        self.schemas: list[dict[str, object]] = []

    def generate_json(self, requests, schema, progress=None):  # type: ignore[no-untyped-def]
        self.schemas.append(schema)
        return self.generate(requests, progress)


def test_guided_decoding_hook_is_used_when_offered(tmp_path: Path) -> None:
    from bench.judges.base import JudgeItem
    from bench.judges.llm import LLMJudge
    from bench.judges.rubric import JUDGE_JSON_SCHEMA
    from bench.types import Example

    ex = Example(id="e", task="t", kind="qa", question="q", reference="r")
    b = GuidedScripted()
    judge = LLMJudge(JudgeSpec(name="g"), b)
    (g,) = judge.grade([JudgeItem("t", "base", ex, "r", "k", run_id="r")])
    assert b.schemas == [JUDGE_JSON_SCHEMA] and g.score == 8.5 and g.rationale == "参照回答と一致"
    assert "JSON" in judge.requests(JudgeItem("t", "base", ex, "r", "k"))[0].messages[-1].content
    off = LLMJudge(JudgeSpec(name="g", guided=False), GuidedScripted())
    assert not off.guided and "JSON" not in off.requests(JudgeItem("t", "base", ex, "r", "k"))[0].messages[-1].content


class RefusingGuided(Scripted):
    """Advertises JSON-schema decoding but refuses it for some items (as a server rejecting
    ``response_format`` would); answers free text for every item."""

    supports_json_schema = True

    def __init__(self, refuse: set[str]) -> None:
        super().__init__("refusing", default="理由：よい。\n評価：[[6]]")
        self.refuse = refuse
        self.json_calls: list[str] = []

    def generate_json(self, requests, schema, progress=None):  # type: ignore[no-untyped-def]
        from bench.backends.base import GuidedRefused
        from bench.types import Completion

        out = []
        for r in requests:
            self.json_calls.append(r.example_id)
            if r.example_id in self.refuse:
                out.append(GuidedRefused("server refused response_format: HTTP 400"))
            else:
                out.append(Completion(text='{"rationale": "一致", "score": 9}', finish_reason="stop",
                                      prompt_tokens=1, output_tokens=1, latency_s=0.0))
        return out


def test_guided_fallback_to_free_text_is_recorded_per_grade_and_counted(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    spec = JudgeSpec(name="g")
    b = RefusingGuided(refuse={"q-te-1", "doc-1"})
    grade_run(run_dir, [spec], backend_factory=lambda s: b)
    jid = judge_id(spec)
    grades = {g["example_id"]: g for g in map(json.loads, (run_dir / "grades.jsonl").read_text().splitlines())
              if g["judge"] == jid}
    # schema-constrained replies: guided = 1; refused ones were asked again in free text: guided = 0
    assert grades["q-te-0"]["score"] == 9.0 and grades["q-te-0"]["metrics"]["guided"] == 1.0
    assert grades["q-te-1"]["score"] == 6.0 and grades["q-te-1"]["metrics"]["guided"] == 0.0
    assert grades["doc-1"]["metrics"]["guided"] == 0.0
    assert "guided" not in grades["q-te-3"]["metrics"]  # no completion: nothing was asked
    # the free-text retries went through generate() with the free-text rubric (no JSON instruction)
    assert sorted(c.split("/")[-1] for c in b.calls) == ["doc-1", "q-te-1"]
    reg = json.loads((run_dir / "judges.json").read_text())[jid]
    assert reg["guided"] is True and reg["guided_fallback"] == ["server refused response_format: HTTP 400"]
    rel = json.loads((run_dir / "judge_reliability.json").read_text())["judges"][jid]
    assert rel["guided"] and rel["n_guided"] == 2 and rel["n_free_text"] == 2
    write_reports(run_dir)
    report = (run_dir / "report.md").read_text()
    assert "2 guided, 2 free-text fallback" in report and "server refused response_format" in report


def test_guided_judge_on_a_backend_without_json_schema_falls_back_recorded(tmp_path: Path) -> None:
    from bench.judges.base import JudgeItem
    from bench.judges.llm import LLMJudge
    from bench.types import Example

    ex = Example(id="e", task="t", kind="qa", question="q", reference="r")
    b = Scripted("plain", default="評価：[[4]]")
    judge = LLMJudge(JudgeSpec(name="g"), b)
    assert not judge.guided and judge.fallback_reasons == ["the scripted backend has no JSON-schema decoding"]
    (g,) = judge.grade([JudgeItem("t", "base", ex, "r", "k", run_id="r")])
    assert g.score == 4.0 and g.metrics["guided"] == 0.0
    (off,) = LLMJudge(JudgeSpec(name="g", guided=False), b).grade([JudgeItem("t", "base", ex, "r", "k", run_id="r")])
    assert "guided" not in off.metrics  # not asked for: not a fallback
