"""Prompt search logic (candidate space, strategies, artifact, the prompt arm) with rule-based backends.

The backends here answer by looking at the prompt layout; they test the *search*, never a real
backend (the hf path is covered in tests/integration/test_prompt_arm.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.backends import GenFailure, GenResult
from bench.config import config_from_dict
from bench.config.prompt_search import PromptSearchSection
from bench.engine.runner import Runner
from bench.errors import RagftError
from bench.judges.reference import dev_scorer as reference_scorer
from bench.optimize.artifact import PromptArtifact
from bench.optimize.evaluate import DevEvaluator
from bench.optimize.search import optimize_task
from bench.optimize.space import ShotPicker, candidate_space
from bench.optimize.strategies import halving_cost, planned_generations, run_strategy
from bench.prompts import PromptTemplate, render_completion
from bench.report.rundata import RunData
from bench.report.sections.prompt import prompt_section
from bench.store import GenerationCache
from bench.types import Completion, Example, GenRequest
from tasks.readers import load_task
from tests.fixture_data import write_jsonl

# ------------------------------------------------------------------ rendering stays byte-identical


def test_base_template_renders_exactly_as_before() -> None:
    """Adding fields to PromptTemplate must not change the base arm's prompts (cache keys, runs)."""
    shot = Example(id="s", task="t", kind="qa", question="S?", reference="SA")
    ex = Example(id="1", task="t", kind="qa", question="Q?")
    text = render_completion(PromptTemplate.for_kind("qa", "指示文").messages(ex, [shot]))
    pre = "以下は、タスクを説明する指示と、入力の組み合わせです。要求を適切に満たす応答を書きなさい。"
    assert text == (
        f"{pre}\n\n### 指示:\n指示文\n\n"
        "### 質問:\nS?\n\n### 応答:\nSA\n\n"
        "### 質問:\nQ?\n\n### 応答:\n"
    )
    doc = Example(id="2", task="t", kind="document", question="Q?", context="DOC")
    t = PromptTemplate.for_kind("document", "指示文")
    assert t.messages(doc)[1].content == "### 文書:\nDOC\n\n### 質問:\nQ?\n\n### 応答:"
    assert t.messages(doc)[0].content == f"{pre}\n\n### 指示:\n指示文"


def test_structured_layout_declares_fields_in_order() -> None:
    doc = Example(id="2", task="t", kind="document", question="Q?", context="DOC")
    t = PromptTemplate.for_kind("document").model_copy(
        update={"style": "structured", "query_position": "before", "output_format": "一行で"}
    )
    system, user = (m.content for m in t.messages(doc))
    assert "### 入力:\n- 質問: " in system and "- 文書: " in system
    assert system.index("- 質問") < system.index("- 文書")
    assert system.endswith("### 出力:\n- 応答: 一行で")
    assert user == "[[ ## 質問 ## ]]\nQ?\n\n[[ ## 文書 ## ]]\nDOC\n\n[[ ## 応答 ## ]]"
    plain = PromptTemplate.for_kind("qa").model_copy(update={"output_format": "語句だけ"})
    assert plain.messages(doc)[0].content.endswith("### 出力形式:\n語句だけ")


# ------------------------------------------------------------------ small constructed tasks


def make_doc_task(root: Path, n_dev: int = 4, n_test: int = 3, n_train: int = 3) -> Path:
    """A document task whose answer is the last line of its inline document, with dev/test/train."""
    def rows(prefix: str, n: int) -> list[dict[str, object]]:
        return [
            {"id": f"{prefix}-{i}", "document": f"資料{prefix}{i}。\n答えは{prefix}{i}番です。",
             "question": f"{prefix}{i}の答えは？", "answer": f"{prefix}{i}番", "criteria": [], "metric": "exact_match"}
            for i in range(n)
        ]
    for split, n in (("dev", n_dev), ("test", n_test), ("train", n_train)):
        write_jsonl(root / "doc" / f"{split}.jsonl", rows(split, n))
    cfg = root / "exp.toml"
    cfg.write_text(
        '[run]\nid = "p1"\n[model]\nid = "MODEL"\n'
        '[[tasks]]\nname = "doc"\nloader = "document-jsonl"\npath = "doc"\n',
        encoding="utf-8",
    )
    return cfg


class LayoutBackend:
    """Answers with the reference (looked up by example id) only when ``rule(request)`` holds."""

    name = "layout"

    def __init__(self, answers: dict[str, str], rule: Callable[[GenRequest], bool]) -> None:
        self.answers = answers
        self.rule = rule
        self.calls = 0

    def fingerprint(self) -> str:
        return "layout-rule"

    def render(self, request: GenRequest) -> str:
        return render_completion(request.messages)

    def generate(
        self, requests: list[GenRequest], progress: Callable[[int], None] | None = None
    ) -> list[GenResult]:
        out: list[GenResult] = []
        for r in requests:
            self.calls += 1
            text = self.answers[r.example_id] if self.rule(r) else "わかりません"
            out.append(Completion(text=text, finish_reason="stop", prompt_tokens=1, output_tokens=1, latency_s=0.0))
        return out

    def close(self) -> None:
        pass


def question_before_context(r: GenRequest) -> bool:
    last = r.messages[-1].content
    return last.index("の答えは？") < last.index("資料")


def cfg_with(path: Path, prompt: dict[str, object], **top: object) -> object:
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["prompt"] = prompt
    data.update(top)
    return config_from_dict(data, source=str(path), base_dir=str(path.parent))


def answers_of(cfg_path: Path) -> dict[str, str]:
    cfg = cfg_with(cfg_path, {})
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    return {e.id: e.reference or "" for s in task.splits.values() for e in s}


# ------------------------------------------------------------------ the search finds the better template


@pytest.mark.parametrize("strategy,budget", [("grid", 8), ("halving", 12), ("random", 8)])
def test_search_picks_question_after_context_variant(tmp_path: Path, strategy: str, budget: int) -> None:
    """A model that answers only when the question precedes the document: every strategy must
    pick ``query-before`` over the base layout, with dev 10 vs 0, within its budget."""
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {"strategy": strategy, "budget": budget, "dimensions": ["query_position"]})
    backend = LayoutBackend(answers_of(p), question_before_context)
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    art, path, cached = optimize_task(cfg, task, cfg.tasks[0], backend=backend)  # type: ignore[arg-type,attr-defined]
    assert not cached and path.is_file()
    assert art.template.query_position == "before" and art.template.name == "query-before"
    assert art.dev_score == 10.0 and art.base_dev_score == 0.0
    assert art.generations["requested"] <= budget
    assert art.seen_ids == sorted(f"dev-{i}" for i in range(4))


def test_halving_finds_structured_format_among_many(tmp_path: Path) -> None:
    """Only structured + output-format prompts work; halving over the whole space finds one."""
    p = make_doc_task(tmp_path, n_dev=6)
    cfg = cfg_with(p, {"strategy": "halving", "budget": 200, "max_shots": 1})

    def rule(r: GenRequest) -> bool:
        return "### 出力:\n- 応答: 項目を" in r.messages[0].content

    backend = LayoutBackend(answers_of(p), rule)
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    art, _, _ = optimize_task(cfg, task, cfg.tasks[0], backend=backend)  # type: ignore[arg-type,attr-defined]
    assert art.template.style == "structured" and art.template.output_format
    assert art.dev_score == 10.0 and art.base_dev_score == 0.0
    assert len(art.candidates) > 8 and art.generations["requested"] <= 200
    # the log has successive rounds on growing dev prefixes, ending on the whole dev split
    rounds = sorted({s.round for s in art.log})
    assert len(rounds) >= 3 and max(s.n for s in art.log) == 6


def test_ties_keep_the_base_template(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {"strategy": "grid", "budget": 100, "dimensions": ["query_position", "style"]})
    backend = LayoutBackend(answers_of(p), lambda r: True)
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    art, _, _ = optimize_task(cfg, task, cfg.tasks[0], backend=backend)  # type: ignore[arg-type,attr-defined]
    assert art.template.name == "base" and art.dev_score == art.base_dev_score == 10.0


# ------------------------------------------------------------------ artifact: frozen, keyed, bit-for-bit


def test_artifact_reloads_bit_for_bit_and_rerun_reuses_it(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {"strategy": "grid", "budget": 8, "dimensions": ["query_position"]})
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    b1 = LayoutBackend(answers_of(p), question_before_context)
    art, path, _ = optimize_task(cfg, task, cfg.tasks[0], backend=b1)  # type: ignore[arg-type,attr-defined]
    raw = path.read_bytes()
    again = PromptArtifact.load(path)
    assert again == art
    assert again.to_json().encode() == raw
    assert again.model_fingerprint == "layout-rule" and again.versions["pydantic"]
    b2 = LayoutBackend(answers_of(p), lambda r: False)
    art2, path2, cached = optimize_task(cfg, task, cfg.tasks[0], backend=b2)  # type: ignore[arg-type,attr-defined]
    assert cached and path2 == path and b2.calls == 0 and art2 == art
    assert path.read_bytes() == raw
    # a different budget is a different search (new key, new artifact)
    cfg3 = cfg_with(p, {"strategy": "grid", "budget": 9, "dimensions": ["query_position"]})
    _, path3, cached3 = optimize_task(cfg3, task, cfg3.tasks[0], backend=b2)  # type: ignore[arg-type,attr-defined]
    assert not cached3 and path3 != path


def test_repeated_candidates_cost_nothing(tmp_path: Path) -> None:
    """A second search over the same requests is served by the generation cache."""
    p = make_doc_task(tmp_path)
    task_cfg = {"strategy": "grid", "budget": 8, "dimensions": ["query_position"]}
    cfg = cfg_with(p, task_cfg)
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    b1 = LayoutBackend(answers_of(p), question_before_context)
    optimize_task(cfg, task, cfg.tasks[0], backend=b1)  # type: ignore[arg-type,attr-defined]
    b2 = LayoutBackend(answers_of(p), question_before_context)
    art, _, cached = optimize_task(cfg, task, cfg.tasks[0], backend=b2, force=True)  # type: ignore[arg-type,attr-defined]
    assert not cached and b2.calls == 0
    assert art.generations == {"requested": 8, "generated": 0, "cached": 8, "deduped": 0, "failed": 0}


def test_budget_errors_are_clear() -> None:
    s = PromptSearchSection(strategy="grid", budget=5)
    with pytest.raises(RagftError, match="exceeds prompt.budget 5"):
        planned_generations(s, 3, 4)
    with pytest.raises(RagftError, match="too small for successive halving"):
        planned_generations(PromptSearchSection(budget=3), 10, 10)
    n0, m0, cost = planned_generations(PromptSearchSection(budget=60), 40, 10)
    assert m0 == 2 and cost <= 60 and halving_cost(n0 + 1, m0, 10) > 60


# ------------------------------------------------------------------ candidate space and shots


def test_candidate_space_is_distinct_and_starts_with_base(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {})
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    base = PromptTemplate.for_kind("document")
    dev = task.splits["dev"]
    cands = candidate_space(base, task, dev, PromptSearchSection(max_shots=2), 0, 3)
    assert cands[0].name == "base" and cands[0].model_dump(exclude={"name"}) == base.model_dump(exclude={"name"})
    sigs = [c.model_dump_json(exclude={"name"}) for c in cands]
    assert len(set(sigs)) == len(sigs)
    # 2 positions × 2 styles × 2 instructions × 2 formats × (0-shot + 2-shot random/similar)
    assert len(cands) == 2 * 2 * 2 * 2 * 3
    # no context in a qa task: query placement is not a dimension
    qa_dev = [Example(id="q", task="t", kind="qa", question="Q")]
    qa_cands = candidate_space(PromptTemplate.for_kind("qa"), task, qa_dev, PromptSearchSection(dimensions=["query_position"]), 0, 0)
    assert len(qa_cands) == 1


def test_similar_shots_pick_the_nearest_train_items() -> None:
    train = [
        Example(id="a", task="t", kind="qa", question="粗大ごみの手数料はいくらですか？", reference="400円"),
        Example(id="b", task="t", kind="qa", question="住民票はどこで取れますか？", reference="コンビニ"),
        Example(id="c", task="t", kind="qa", question="避難所はどこですか？", reference="体育館"),
    ]
    picker = ShotPicker(train, default_n=2, seed=0)
    ex = Example(id="x", task="t", kind="qa", question="粗大ごみの予約はいつまでですか？")
    sim = PromptTemplate.for_kind("qa").model_copy(update={"shot_selection": "similar", "shots": 1})
    assert [s.id for s in picker.pick(sim, ex)] == ["a"]
    rnd = PromptTemplate.for_kind("qa")
    from bench.prompts import few_shot_examples

    assert picker.pick(rnd, ex) == few_shot_examples(train, 2, 0)  # the base arm's choice


def test_strategy_respects_budget_with_random_scores(tmp_path: Path) -> None:
    """Whatever the scores, halving never requests more generations than its plan."""
    p = make_doc_task(tmp_path, n_dev=8)
    cfg = cfg_with(p, {})
    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    rng = random.Random(3)
    backend = LayoutBackend(answers_of(p), lambda r: rng.random() < 0.5)
    settings = PromptSearchSection(budget=50, max_shots=1)
    cands = candidate_space(PromptTemplate.for_kind("document"), task, task.splits["dev"], settings, 0, 3)
    cache = GenerationCache(tmp_path / "g.sqlite")
    ev = DevEvaluator(
        task=task, cands=cands, picker=ShotPicker(task.splits["train"], 0, 0),
        sampling=cfg.sampling, scorer=reference_scorer(cfg), backend=lambda: backend,  # type: ignore[arg-type,attr-defined]
        cache=cache, fingerprint="f",
    )
    best, log = run_strategy(settings, ev, task.splits["dev"], random.Random(0))
    cache.close()
    _, _, planned = planned_generations(settings, len(cands), 8)
    assert ev.tally.requested <= planned <= 50
    assert 0 <= best < len(cands) and log


def test_failures_are_counted_not_scored(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {"strategy": "grid", "budget": 8, "dimensions": ["query_position"]})

    class Failing(LayoutBackend):
        def generate(self, requests: list[GenRequest], progress: Callable[[int], None] | None = None) -> list[GenResult]:
            return [GenFailure("boom") if question_before_context(r) else c for r, c in zip(requests, super().generate(requests), strict=True)]

    task = load_task(cfg.tasks[0], cfg)  # type: ignore[attr-defined]
    art, _, _ = optimize_task(cfg, task, cfg.tasks[0], backend=Failing(answers_of(p), lambda r: True))  # type: ignore[arg-type,attr-defined]
    assert art.template.name == "base"
    before = art.dev_scores["query-before"]
    assert before.n_failed == 4 and before.mean is None and art.generations["failed"] == 4


# ------------------------------------------------------------------ the arm inside the runner


def test_prompt_arm_in_a_run_writes_search_file_and_report(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    cfg = cfg_with(p, {"strategy": "grid", "budget": 8, "dimensions": ["query_position"]}, arms=["base", "prompt"])
    backend = LayoutBackend(answers_of(p), question_before_context)
    res = Runner(cfg, backend=backend, output_dir=tmp_path / "out").run()  # type: ignore[arg-type]
    run_dir = tmp_path / "out" / "p1"
    data = json.loads((run_dir / "prompt_search.json").read_text())
    e = data["doc"]
    assert e["template"]["query_position"] == "before" and e["dev_score"] == 10.0 and e["base_dev_score"] == 0.0
    assert e["generations"]["requested"] == 8 and e["wall_s"] >= 0 and e["few_shots"]["count"] == 0
    means = {(s.task, s.arm): s.mean for s in res.summaries}
    assert means[("doc", "prompt")] == 10.0 and means[("doc", "base")] == 0.0
    report = (run_dir / "report.md").read_text()
    assert "## Prompt search" in report and "[[ ##" not in report and "### 質問:\n{質問}\n\n### 文書:\n{文書}" in report
    assert prompt_section(RunData.load(run_dir)).startswith("## Prompt search")
    # a rerun loads the artifact and regenerates nothing
    b2 = LayoutBackend(answers_of(p), lambda r: False)
    Runner(cfg, backend=b2, output_dir=tmp_path / "out").run()  # type: ignore[arg-type]
    assert b2.calls == 0
    assert json.loads((run_dir / "prompt_search.json").read_text())["doc"]["loaded_from_cache"] is True


def test_runner_refuses_items_the_search_saw(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    # evaluating the dev split itself
    cfg = cfg_with(p, {"strategy": "grid", "budget": 8, "dimensions": ["query_position"]}, arms=["prompt"])
    data = cfg.model_dump(mode="json")  # type: ignore[attr-defined]
    data["tasks"][0]["split"] = "dev"
    bad = config_from_dict(data, source=str(p), base_dir=str(p.parent))
    with pytest.raises(RagftError, match="dev ≠ test"):
        Runner(bad, backend=LayoutBackend(answers_of(p), lambda r: True), output_dir=tmp_path / "o1").run()  # type: ignore[arg-type]
    # evaluating items used as few-shot examples during the search
    data["tasks"][0]["split"] = "train"
    data["prompt"] = {"strategy": "grid", "budget": 20, "dimensions": ["shots"], "max_shots": 1}
    bad2 = config_from_dict(data, source=str(p), base_dir=str(p.parent))
    with pytest.raises(RagftError, match="refusing to evaluate the prompt arm on items the prompt search saw"):
        Runner(bad2, backend=LayoutBackend(answers_of(p), lambda r: True), output_dir=tmp_path / "o2").run()  # type: ignore[arg-type]


def test_missing_dev_split_is_a_clear_error(tmp_path: Path) -> None:
    p = make_doc_task(tmp_path)
    (tmp_path / "doc" / "dev.jsonl").unlink()
    cfg = cfg_with(p, {}, arms=["prompt"])
    with pytest.raises(RagftError, match="no 'dev' split"):
        Runner(cfg, backend=LayoutBackend({}, lambda r: True), output_dir=tmp_path / "o").run()  # type: ignore[arg-type]
