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

import json
import logging
import time
from pathlib import Path
from typing import Any

from bench.arms.context import ArmContext, ArmNotApplicable, ArmPlan
from bench.config.retrieval import DEFAULT_INLINE_CHUNK, RetrievalSection
from bench.prompts import PromptTemplate
from bench.store.costs import current_device, record_fixed_cost, record_query_cost
from bench.types import Example, Passage
from retrievers.chunking import chunk_text
from retrievers.index import RETRIEVERS, RetrievalStack, build_stack
from retrievers.metrics import evaluate
from retrievers.passages import corpus_passages, format_passages

log = logging.getLogger(__name__)

RAG_CONTEXT_LABEL = "参考情報"
RAG_INSTRUCTION_PREFIX = "参考情報を読み、"
EVAL_K = 10  # depth of the per-retriever rankings kept for the metrics


def rag_template(t: PromptTemplate) -> PromptTemplate:
    instr = t.instruction if t.instruction.startswith(RAG_INSTRUCTION_PREFIX) else RAG_INSTRUCTION_PREFIX + t.instruction
    return t.model_copy(update={"context_label": RAG_CONTEXT_LABEL, "query_position": "after", "instruction": instr})


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
    return chunk_text(doc_id, text, size=size, overlap=rc.chunk_overlap, title=doc.title if doc else "")


def check_applicable(ctx: ArmContext, arm: str) -> None:
    kind = ctx.task.kind
    if kind == "qa" and not ctx.task.documents:
        raise ArmNotApplicable(f"{arm}: task '{ctx.task.name}' has no corpus (set `corpus` in its [[tasks]] entry)")
    if kind not in ("qa", "document"):
        raise ArmNotApplicable(f"{arm}: task '{ctx.task.name}' is a {kind} task without documents")


def _progress(label: str) -> Any:
    def report(stage: str, i: int, n: int) -> None:
        if stage == "embed" and (i == n or i % 256 == 0):
            log.info("%s: embedded %d/%d passages", label, i, n)

    return report


class RagArm:
    name = "rag"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        check_applicable(ctx, self.name)
        if ctx.state.rag_stack is None and ctx.task.documents:
            stack = build_stack(
                corpus_passages(ctx.task, ctx.cfg.retrieval), ctx.cfg.retrieval, what=f"task {ctx.task.name}",
                progress=_progress(ctx.task.name),
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
        t_search = 0.0
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
            ranked = stack.search_all(ex.question, max(EVAL_K, rc.k), within)
            t_search += time.perf_counter() - t0
            records[ex.id] = {name: [h.id for h in hits] for name, hits in ranked.items()}
            top = ranked[rc.retriever][: rc.k]
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
        write_retrieval_record(ctx, plans, records)
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


def write_retrieval_record(ctx: ArmContext, plans: list[ArmPlan], records: dict[str, dict[str, list[str]]]) -> None:
    """Per-task rankings and metrics (qa items with gold passages) into ``run_dir/retrieval.json``."""
    rc = ctx.cfg.retrieval
    metrics: dict[str, dict[str, float]] = {}
    if ctx.task.kind == "qa":
        for name in RETRIEVERS:
            runs = [(records[p.example.id][name], p.example.gold_passages) for p in plans]
            metrics[name] = evaluate(runs, ks=sorted({1, rc.k, 5, EVAL_K}))
    path: Path = ctx.run_dir / "retrieval.json"
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            data = {}
    data[ctx.task.name] = {
        "kind": ctx.task.kind,
        "settings": rc.model_dump(mode="json"),
        "metrics": metrics,
        "rankings": records,
    }
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
