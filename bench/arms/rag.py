"""The ``rag`` arm: retrieved passages in the prompt.

The top-k passages of the task's corpus (``[retrieval] retriever``, hybrid by default)
go into the prompt with their ids (``[d01-p03] title:`` lines), in corpus order, the question after
them; the ids used become the prediction's ``hits``. For ``document`` items the search runs over
the chunks of the item's own document only, and the chunks go in as plain text in document order. While applying, it also ranks the items with bm25, dense and hybrid and writes
``retrieval.json`` to the run dir (per-retriever rankings and metrics for the report).

It does not apply to tasks without a corpus or documents (quiz tasks): it raises ``ArmNotApplicable``
and the runner skips that (task, arm) pair.

Example: ``ragft run configs/demo.toml --arms rag --arms oracle --tasks minato_qa``
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rich.console import Console

from bench.arms.context import ArmContext, ArmNotApplicable, ArmPlan
from bench.config.retrieval import DEFAULT_INLINE_CHUNK, RetrievalSection
from bench.progress import StageProgress
from bench.prompts import rag_template
from bench.store.costs import current_device, record_fixed_cost, record_query_cost
from bench.store.disk import update_json_entry
from bench.types import Example, Passage
from retrievers.chunking import chunk_passages, chunk_text
from retrievers.index import RETRIEVERS, RetrievalStack, build_stack
from retrievers.metrics import evaluate
from retrievers.passages import corpus_passages, format_passages, unit_sources
from retrievers.rerank import CrossEncoderReranker, get_reranker

log = logging.getLogger(__name__)

EVAL_K = 10  # depth of the per-retriever rankings kept for the metrics
RERANKED = "reranked"  # retrieval.json's name of the cross-encoder's re-ordering of the fused top N


def document_passages(ex: Example, ctx: ArmContext, rc: RetrievalSection) -> list[Passage]:
    """The chunks of a document item's own document (its corpus passages, or size-based chunks)."""
    doc_id = str(ex.metadata.get("doc_id") or ex.id)
    doc = ctx.task.documents.get(doc_id)
    if doc is not None and rc.chunk_size is None:
        return list(doc.passages)
    text = doc.text if doc is not None else (ex.context or "")
    if not text.strip():
        raise ArmNotApplicable(f"document item {ex.id} has no document text to retrieve from")
    size = rc.chunk_size or DEFAULT_INLINE_CHUNK
    if doc is not None:
        return chunk_passages(doc_id, doc.passages, size=size, overlap=rc.chunk_overlap, title=doc.title)
    return chunk_text(doc_id, text, size=size, overlap=rc.chunk_overlap)


def check_applicable(ctx: ArmContext, arm: str) -> None:
    kind = ctx.task.kind
    if kind == "qa" and not ctx.task.documents:
        raise ArmNotApplicable(f"{arm}: task '{ctx.task.name}' has no corpus (set `corpus` in its [[tasks]] entry)")
    if kind not in ("qa", "document"):
        raise ArmNotApplicable(f"{arm}: task '{ctx.task.name}' is a {kind} task without documents")


class RagArm:
    name = "rag"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        check_applicable(ctx, self.name)
        if ctx.state.rag_stack is None and ctx.task.documents:
            with StageProgress(ctx.console or Console(stderr=True), f"index {ctx.task.name}") as bars:
                stack = build_stack(
                    corpus_passages(ctx.task, ctx.cfg.retrieval), ctx.cfg.retrieval, what=f"task {ctx.task.name}",
                    progress=bars,
                )
            ctx.state.rag_stack = stack
            # the first build's time, stored with the cached indexes (not this run's load time)
            record_fixed_cost(
                ctx.run_dir, arm="rag", task=ctx.task.name, kind="index_build",
                seconds=stack.build_seconds, device=stack.build_device,
                note="loaded from the cache; the first build's time" if stack.loaded else "",
            )

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        rc = ctx.cfg.retrieval
        records: dict[str, dict[str, list[str]]] = {}
        t_search = t_rerank = 0.0
        reranker = load_reranker(ctx) if rc.reranker else None
        depth_kept = max(EVAL_K, rc.k)
        for plan in plans:
            ex = plan.example
            within: set[str] | None = None
            if ctx.task.kind == "qa":
                if ctx.state.rag_stack is None:
                    raise ArmNotApplicable(f"rag: task '{ctx.task.name}' has no index (prepare found no documents)")
                stack = ctx.state.rag_stack
            else:
                stack, within = self._document_stack(ex, ctx, rc)
            t0 = time.perf_counter()
            depth = max(EVAL_K, rc.k, rc.rerank_top_n if reranker else 0)
            ranked = stack.search_all(ex.question, depth, within)
            t_search += time.perf_counter() - t0
            if reranker is not None:
                # the cross-encoder re-scores the first stage's top N; the prompt takes its top k
                t0 = time.perf_counter()
                ranked[RERANKED] = reranker.rerank(ex.question, ranked[rc.retriever][: rc.rerank_top_n], stack.passages)
                t_rerank += time.perf_counter() - t0
            records[ex.id] = {name: [h.id for h in hits[:depth_kept]] for name, hits in ranked.items()}
            top = ranked[RERANKED if reranker is not None else rc.retriever][: rc.k]
            chosen = [stack.passages[i] for i in sorted(h.index for h in top)]  # corpus order
            plan.hits = [p.id for p in chosen]
            if ctx.task.kind == "document":
                # chunks of the item's own document, laid out like the document itself: ids in
                # front of each chunk make a small model continue the list instead of answering
                plan.context = "\n".join(p.text for p in chosen) if chosen else None
            else:
                plan.context = format_passages(chosen) if chosen else None
            plan.template = rag_template(plan.template)
            if not chosen:
                log.warning("rag: nothing retrieved for %s; the prompt has no context", ex.id)
        stack_passages = ctx.state.rag_stack.passages if ctx.state.rag_stack is not None else []
        rerank_s = t_rerank / len(plans) if plans and reranker is not None else None
        write_retrieval_record(ctx, plans, records, unit_sources(stack_passages), rerank_s_per_query=rerank_s)
        if plans and reranker is not None:
            record_query_cost(
                ctx.run_dir, arm="rag", task=ctx.task.name, kind="rerank", seconds=t_rerank,
                queries=len(plans), device=current_device(),
            )
        if plans:
            # bm25 + dense + fused rankings per query (the report's retrieval metrics need all three)
            record_query_cost(
                ctx.run_dir, arm="rag", task=ctx.task.name, kind="retrieval", seconds=t_search,
                queries=len(plans), device=current_device(),
            )

    @staticmethod
    def _document_stack(ex: Example, ctx: ArmContext, rc: RetrievalSection) -> tuple[RetrievalStack, set[str] | None]:
        """The corpus stack restricted to the item's document when its passages are indexed there,
        else a small stack over the document's own chunks."""
        doc = ctx.task.documents.get(str(ex.metadata.get("doc_id") or ""))
        if doc is not None and ctx.state.rag_stack is not None:
            stack = ctx.state.rag_stack
            ids = {p.id for p in stack.passages if p.doc_id == doc.doc_id}
            if ids:
                return stack, ids
        return build_stack(document_passages(ex, ctx, rc), rc, what=f"document of {ex.id}"), None


def load_reranker(ctx: ArmContext) -> CrossEncoderReranker:
    """The configured cross-encoder (a folder relative to the config, else as given)."""
    name = ctx.cfg.retrieval.reranker or ""
    local = ctx.cfg.resolve_path(name)
    return get_reranker(str(local) if local.exists() else name)


def write_retrieval_record(
    ctx: ArmContext, plans: list[ArmPlan], records: dict[str, dict[str, list[str]]],
    sources: dict[str, list[str]] | None = None, *, rerank_s_per_query: float | None = None,
) -> None:
    """Per-task rankings and metrics (qa items with gold passages) into ``run_dir/retrieval.json``.

    ``sources`` maps each retrieval unit to the corpus passages it overlaps: chunks are scored
    against gold passages at the source, and the map of the ranked chunks is kept in the file
    (``sources``) for the report's miss split. With a reranker, the ``reranked`` list (the one the
    prompt took its top k from) is measured too."""
    rc = ctx.cfg.retrieval
    metrics: dict[str, dict[str, float]] = {}
    chunked = bool(sources) and any(v != [k] for k, v in (sources or {}).items())
    names = [*RETRIEVERS, RERANKED] if rerank_s_per_query is not None else list(RETRIEVERS)
    if ctx.task.kind == "qa":
        for name in names:
            runs = [(records[p.example.id][name], p.example.gold_passages) for p in plans]
            metrics[name] = evaluate(runs, ks=sorted({1, rc.k, 5, EVAL_K}), sources=sources if chunked else None)
    ranked = {u for rec in records.values() for ids in rec.values() for u in ids}
    ranked |= {h for p in plans for h in p.hits}
    entry: dict[str, Any] = {
        "kind": ctx.task.kind,
        "settings": rc.model_dump(mode="json"),
        "metrics": metrics,
        "rankings": records,
    }
    if chunked and sources:
        entry["sources"] = {u: sources[u] for u in sorted(ranked) if u in sources}
    if rerank_s_per_query is not None:
        entry["rerank_s_per_query"] = rerank_s_per_query
    update_json_entry(ctx.run_dir / "retrieval.json", ctx.task.name, entry)
