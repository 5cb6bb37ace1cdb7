"""Passages for retrieval-augmented fine-tuning (RAFT): each training item of a task with a corpus
gets its gold passages plus ``lora.raft_distractors`` passages the retriever ranks highest among
the others (``[retrieval] retriever``, reranked when a reranker is set), laid out in corpus order
exactly as the ``rag`` arm lays out its top k (``[id] title:`` blocks). An item without gold
passages gets the rag arm's own top k. Tasks without a corpus (quiz) stay plain.

Example: ``cfg = load_config("configs/demo.toml"); contexts = raft_contexts(cfg, cfg.lora_for(None))``
"""

from __future__ import annotations

import logging

from adapters.data import train_examples, training_tasks
from bench.config import ExperimentConfig, LoraSection
from retrievers.index import build_stack
from retrievers.passages import corpus_passages, format_passages
from retrievers.rerank import get_reranker

log = logging.getLogger(__name__)


def raft_contexts(cfg: ExperimentConfig, lc: LoraSection) -> dict[str, dict[str, str]]:
    """{task: {train example id: passages text}} for adapter ``lc``'s training tasks that have a corpus."""
    rc = cfg.retrieval
    reranker = None
    if rc.reranker:
        local = cfg.resolve_path(rc.reranker)
        reranker = get_reranker(str(local) if local.exists() else rc.reranker)
    out: dict[str, dict[str, str]] = {}
    for tc in training_tasks(cfg, lc):
        examples, _shots, task = train_examples(cfg, tc)
        if task.kind != "qa" or not task.documents:
            continue
        stack = build_stack(corpus_passages(task, rc), rc, what=f"task {task.name} (RAFT training)")
        order = {p.id: i for i, p in enumerate(stack.passages)}
        depth = max(rc.k, lc.raft_distractors + len(max((e.gold_passages for e in examples), key=len, default=[])))
        depth = max(depth, rc.rerank_top_n if reranker else 0)
        ctx: dict[str, str] = {}
        for ex in examples:
            ranked = stack.search_all(ex.question, depth)[rc.retriever]
            if reranker is not None:
                ranked = reranker.rerank(ex.question, ranked[: rc.rerank_top_n], stack.passages)
            gold = [g for g in ex.gold_passages if g in order]
            if gold:
                distractors = [h.id for h in ranked if h.id not in set(gold)][: lc.raft_distractors]
                ids = gold + distractors
            else:
                ids = [h.id for h in ranked[: rc.k]]
            chosen = sorted(ids, key=order.__getitem__)
            ctx[ex.id] = format_passages([stack.passages[order[i]] for i in chosen])
        out[tc.name] = ctx
        log.info("raft: %d training items of %s rendered with passages", len(ctx), tc.name)
    return out
