"""The ``lora`` arm: the base prompt, with a LoRA adapter on every request.

``lora`` uses the first ``[lora]`` table's adapter; ``lora:NAME`` the ``[[lora]]`` table named
NAME (or one point ``NAME-pPCT`` of a learning curve). It only sets ``ArmPlan.adapter``, so it
composes with arms that edit the prompt or context (``rag+lora:v1``). ``prepare`` trains or
reuses the adapter (``adapters.build.ensure_adapter``), hands its identity to the runner through
``ctx.state.adapters`` (every adapter of the run is then served by one engine), records it in
``lora.json``, writes the contamination check for the task and the training time as a fixed cost.
With ``raft = true`` an adapter is trained RAFT-style (``bench.arms.raft_data``); the ``raft``
arm component trains that variant of the first table beside the plain one (``rag+lora`` vs ``rag+raft``).

Example: ``ragft run configs/demo.toml --arms lora --arms lora:short``
"""

from __future__ import annotations

from adapters.build import ensure_adapter
from adapters.contamination import record_contamination
from adapters.data import training_texts
from adapters.identity import adapter_spec, record_adapter
from bench.arms.context import ArmContext, ArmPlan
from bench.arms.raft_data import raft_contexts
from bench.config import LoraSection
from bench.errors import RagftError
from bench.store.costs import current_device, record_fixed_cost


def prepare_adapter(ctx: ArmContext, lc: LoraSection, *, arm: str) -> str:
    """Train or reuse the adapter ``lc`` (RAFT items with retrieved passages when ``lc.raft``), hand
    its identity to the runner, record it in ``lora.json``, its contamination check and its training
    time (a fixed cost of ``arm``); return the adapter's name."""
    from rich.console import Console

    texts = training_texts(ctx.cfg, lc)
    seen = {src.split(":", 1)[1] for src, _ in texts}
    evaluated = {f"{ctx.task.name}/{e.id}" for e in ctx.task.split(ctx.task_cfg.split)}
    if seen & evaluated:
        raise RagftError(
            f"refusing to evaluate the {arm} arm on items its adapter trains on: task "
            f"'{ctx.task.name}' split '{ctx.task_cfg.split}' ({len(seen & evaluated)} items); "
            "adapters train on train splits only"
        )
    contexts = raft_contexts(ctx.cfg, lc) if lc.raft and not lc.adapter else None
    ref, folder = ensure_adapter(ctx.cfg, lc, console=ctx.console or Console(stderr=True), contexts=contexts)
    ctx.state.adapters[ref.name] = adapter_spec(ref, folder)
    record_adapter(ctx.run_dir, ref, folder, arm=arm, fraction=lc.fraction, curve=lc.curve)
    c = ctx.cfg.contamination
    record_contamination(
        ctx.run_dir, ctx.task.name, f"{arm.split(':', 1)[0]}:{ref.name}", texts, ctx.task.split(ctx.task_cfg.split),
        n=c.ngram, threshold=c.threshold,
    )
    # one adapter serves every task: a shared fixed cost (re-recorded, not added, on cache reuse)
    record_fixed_cost(
        ctx.run_dir, arm=arm, task=None, kind="lora_training",
        seconds=float(ref.metrics.get("train_seconds", 0.0)), device=current_device(),
        note=f"adapter {ref.name}",
    )
    return ref.name


class LoraArm:
    name = "lora"
    needs_model = False

    def __init__(self, variant: str | None = None) -> None:
        self.variant = variant
        self.component = f"lora:{variant}" if variant else "lora"

    def prepare(self, ctx: ArmContext) -> None:
        if self.component in ctx.state.lora_adapters:
            return
        lc = ctx.cfg.lora_for(self.variant)
        ctx.state.lora_adapters[self.component] = prepare_adapter(ctx, lc, arm=self.component)

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        name = ctx.state.lora_adapters.get(self.component)
        if not name:
            raise RagftError(f"the {self.component} arm was applied before prepare(): no adapter for this task")
        for p in plans:
            p.adapter = name
