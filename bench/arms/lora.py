"""The ``lora`` arm: the base prompt, with the run's LoRA adapter on every request.

It only sets ``ArmPlan.adapter``, so it composes with arms that edit the prompt or context
(``rag+lora``). ``prepare`` trains or reuses the adapter (``adapters.build.ensure_adapter``),
hands its identity to the runner through ``ctx.state.adapters``, records it in ``lora.json``,
writes the contamination check for the task and the training time as a fixed cost. With
``[lora] raft = true`` its adapter is trained RAFT-style (``bench.arms.raft_data``); the ``raft``
arm component trains that variant beside the plain one (``rag+lora`` vs ``rag+raft``).

Example: ``ragft run configs/demo.toml --arms lora``
"""

from __future__ import annotations

from adapters.build import ensure_adapter
from adapters.contamination import record_contamination
from adapters.data import training_texts
from adapters.identity import adapter_spec, record_adapter
from bench.arms.context import ArmContext, ArmPlan
from bench.arms.raft_data import raft_contexts
from bench.config import ExperimentConfig
from bench.errors import RagftError
from bench.store.costs import current_device, record_fixed_cost


def prepare_adapter(ctx: ArmContext, cfg: ExperimentConfig, *, arm: str) -> str:
    """Train or reuse the adapter of ``cfg.lora`` (RAFT items with retrieved passages when
    ``lora.raft``), hand its identity to the runner, record it, its contamination check and its
    training time (a fixed cost of ``arm``); return the adapter's name."""
    from rich.console import Console

    texts = training_texts(cfg)
    seen = {src.split(":", 1)[1] for src, _ in texts}
    evaluated = {f"{ctx.task.name}/{e.id}" for e in ctx.task.split(ctx.task_cfg.split)}
    if seen & evaluated:
        raise RagftError(
            f"refusing to evaluate the {arm} arm on items its adapter trains on: task '{ctx.task.name}' "
            f"split '{ctx.task_cfg.split}' ({len(seen & evaluated)} items); adapters train on train splits only"
        )
    contexts = raft_contexts(cfg) if cfg.lora.raft and not cfg.lora.adapter else None
    ref, folder = ensure_adapter(cfg, console=Console(stderr=True), contexts=contexts)
    ctx.state.adapters[ref.name] = adapter_spec(ref, folder)
    record_adapter(ctx.run_dir, ref, folder)
    c = cfg.lora.contamination
    record_contamination(
        ctx.run_dir, ctx.task.name, f"{arm}:{ref.name}", texts, ctx.task.split(ctx.task_cfg.split),
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

    def prepare(self, ctx: ArmContext) -> None:
        if ctx.state.lora_adapter is not None:
            return
        ctx.state.lora_adapter = prepare_adapter(ctx, ctx.cfg, arm="lora")

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        name = ctx.state.lora_adapter
        if not name:
            raise RagftError("the lora arm was applied before prepare(): no adapter for this task")
        for p in plans:
            p.adapter = name
