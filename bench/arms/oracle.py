"""The ``oracle`` arm: the gold passages (``Example.gold_passages``) instead of retrieved ones, so the
report can split RAG failures into retrieval and generation misses. For ``document`` items the gold
is the whole document, so the oracle prompt is the base prompt. A diagnostic ceiling for ``rag``,
never recommended. Like ``rag``, it skips tasks without a corpus or documents.

Example: ``ragft run configs/demo.toml --arms rag --arms oracle --tasks minato_qa``
"""

from __future__ import annotations

import logging

from bench.arms.context import ArmContext, ArmPlan
from bench.arms.rag import check_applicable
from bench.prompts import rag_template
from retrievers.passages import format_passages

log = logging.getLogger(__name__)


class OracleArm:
    name = "oracle"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        check_applicable(ctx, self.name)

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        if ctx.task.kind == "document":
            for plan in plans:  # the gold is the whole document: the base prompt
                plan.hits = list(plan.example.gold_passages)
            return
        by_id = {p.id: p for p in ctx.task.passages}
        for plan in plans:
            gold = [by_id[g] for g in plan.example.gold_passages if g in by_id]
            if not gold:
                log.warning("oracle: %s has no gold passages; the prompt has no context", plan.example.id)
                continue
            order = {p.id: i for i, p in enumerate(ctx.task.passages)}
            gold.sort(key=lambda p: order[p.id])
            plan.hits = [p.id for p in gold]
            plan.context = format_passages(gold)
            plan.template = rag_template(plan.template)
