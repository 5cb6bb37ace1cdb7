"""The ``longctx`` arm: no retrieval step, as much of the corpus as fits the model's context.

Whole documents (``[doc_id] title:`` then the text) go into the prompt in a stated order:
``[longctx] order = "bm25"`` ranks the documents against the question with BM25 (gold-free),
``"corpus"`` keeps the corpus file order. The budget per item is ``model.max_model_len`` minus
the rendered prompt without the documents and the answer's ``max_new_tokens``, capped by
``[longctx] max_context_tokens``; tokens are counted with the model's own tokenizer.

Filling is first-fit in that order: a document that does not fit in what is left is skipped
(a later, shorter one may still fit), so no document is cut mid-way. The one exception: when the
first document alone exceeds the whole budget, it is cut after the last sentence end (。！？)
that fits, and the item records the cut. The passages wholly inside the window become the
prediction's ``hits`` (the report's gold-in-window miss split), and ``longctx.json`` in the run
dir records each item's window (documents, cut, context tokens, budget).

Like ``rag``, it applies to qa tasks with a corpus only.

Example: ``ragft run configs/demo.toml --arms rag --arms longctx --tasks minato_qa``
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bench.arms.context import ArmContext, ArmNotApplicable, ArmPlan
from bench.config import ExperimentConfig
from bench.errors import RagftError
from bench.models import load_tokenizer, resolve_model
from bench.prompts import ensure_bos, rag_template, render_prompt
from bench.store.costs import current_device, record_fixed_cost, record_query_cost
from bench.store.disk import update_json_entry
from bench.types import Passage
from retrievers.bm25 import BM25Index
from retrievers.japanese import get_tokenizer
from retrievers.window import DocBlock, LongContextState, count_tokens, fill_window

log = logging.getLogger(__name__)

FILE = "longctx.json"
LONGCTX_FAILURE = "longctx counts tokens with the model's tokenizer, which cannot be loaded from"


def model_tokenizer(cfg: ExperimentConfig) -> Any:
    """The evaluated model's tokenizer (an openai server's ``model.server.tokenizer`` when set)."""
    m = cfg.model
    if m.backend == "openai" and m.server is not None and m.server.tokenizer:
        return load_tokenizer(str(cfg.resolve_path(m.server.tokenizer)), LONGCTX_FAILURE)
    return load_tokenizer(resolve_model(m.id), LONGCTX_FAILURE)


def doc_blocks(ctx: ArmContext, tok: Any) -> list[DocBlock]:
    out: list[DocBlock] = []
    for d in ctx.task.documents.values():
        ends, pos = [], 0
        for i, p in enumerate(d.passages):
            pos += len(p.text) + (1 if i else 0)
            ends.append((p.id, pos))
        header = f"[{d.doc_id}] {d.title}:" if d.title else f"[{d.doc_id}]"
        b = DocBlock(d.doc_id, header, d.text, ends)
        b.tokens = count_tokens(tok, b.block)
        out.append(b)
    return out


class LongContextArm:
    name = "longctx"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        if ctx.task.kind != "qa" or not ctx.task.documents:
            raise ArmNotApplicable(
                f"longctx: task '{ctx.task.name}' is not a qa task with a corpus (document items already "
                "carry their whole document)"
            )
        if ctx.state.longctx is not None:
            return
        t0 = time.perf_counter()
        tok = model_tokenizer(ctx.cfg)
        blocks = doc_blocks(ctx, tok)
        bm25 = None
        if ctx.cfg.longctx.order == "bm25":
            docs = [Passage(id=b.doc_id, doc_id=b.doc_id, title="", text=b.block) for b in blocks]
            bm25 = BM25Index(docs, get_tokenizer(ctx.cfg.retrieval.tokenizer), engine=ctx.cfg.retrieval.engine)
        ctx.state.longctx = LongContextState(blocks, bm25)
        record_fixed_cost(
            ctx.run_dir, arm="longctx", task=ctx.task.name, kind="index_build",
            seconds=time.perf_counter() - t0, device=current_device(), note="document token counts (+ BM25 over documents)",
        )

    @staticmethod
    def _order(st: LongContextState, question: str) -> list[DocBlock]:
        blocks, bm = st.blocks, st.bm25
        if bm is None:
            return list(blocks)
        ranked = [h.index for h in bm.search(question, len(blocks))]
        rest = [i for i in range(len(blocks)) if i not in set(ranked)]  # no term in common: corpus order
        return [blocks[i] for i in ranked + rest]

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        if ctx.state.longctx is None:
            self.prepare(ctx)
        st = ctx.state.longctx
        assert st is not None
        cfg = ctx.cfg
        tok = model_tokenizer(cfg)
        limit = cfg.model.max_model_len - ctx.new_tokens
        records: dict[str, dict[str, Any]] = {}
        t_total = 0.0
        for plan in plans:
            t0 = time.perf_counter()
            template = rag_template(plan.template)
            ex = plan.example

            def prompt_tokens(context: str, template: Any = template, ex: Any = ex, shots: Any = plan.shots) -> int:
                text = render_prompt(template.messages(ex, shots, context), tok)
                return len(ensure_bos(list(tok(text, add_special_tokens=False)["input_ids"]), tok))

            # the prompt around the documents (a one-character stand-in keeps the context block)
            budget = limit - prompt_tokens("x") + 1
            if cfg.longctx.max_context_tokens is not None:
                budget = min(budget, cfg.longctx.max_context_tokens)
            if budget <= 0:
                raise RagftError(
                    f"longctx: the prompt of {ex.id} leaves no room for documents in model.max_model_len="
                    f"{cfg.model.max_model_len} with {ctx.new_tokens} answer tokens"
                )
            order = self._order(st, ex.question)
            w = fill_window(order, tok, budget)
            # token counts of parts are not exactly additive: shrink the budget by any overflow and refill
            fill_budget = budget
            while w.docs:
                over = max(prompt_tokens(w.context) - limit, count_tokens(tok, w.context) - budget)
                if over <= 0:
                    break
                fill_budget -= over
                w = fill_window(order, tok, fill_budget)
            w.budget = budget
            w.context_tokens = count_tokens(tok, w.context) if w.context else 0
            t_total += time.perf_counter() - t0
            plan.context = w.context or None
            plan.hits = w.hits
            plan.template = template
            records[ex.id] = {
                "order": [b.doc_id for b in order], "docs": w.docs, "cut": w.cut, "cut_chars": w.cut_chars,
                "context_tokens": w.context_tokens, "budget": budget,
                "gold_in_window": bool(set(ex.gold_passages) & set(w.hits)) if ex.gold_passages else None,
            }
            if not w.docs:
                log.warning("longctx: no document fits the budget of %s; the prompt has no context", ex.id)
        write_record(ctx, records)
        if plans:
            record_query_cost(
                ctx.run_dir, arm="longctx", task=ctx.task.name, kind="context_window", seconds=t_total,
                queries=len(plans), device=current_device(),
            )


def write_record(ctx: ArmContext, records: dict[str, dict[str, Any]]) -> None:
    c = ctx.cfg
    update_json_entry(ctx.run_dir / FILE, ctx.task.name, {
        "settings": {**c.longctx.model_dump(mode="json"), "max_model_len": c.model.max_model_len,
                     "answer_tokens": ctx.new_tokens, "documents": len(ctx.task.documents)},
        "items": records,
    })
