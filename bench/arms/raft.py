"""The ``raft`` arm component: the run's LoRA adapter trained the RAFT way (retrieval-augmented
fine-tuning): the first ``[lora]`` table's settings with ``raft = true``, so every training item of a task with
a corpus is rendered with its gold passages plus ``raft_distractors`` retrieved distractors, as
``rag`` renders evaluation items (``bench.arms.raft_data``). Use it as ``rag+raft``, next to
``rag+lora`` (rag's context with the plain adapter): a LoRA trained with the context it is used with.

Example: ``ragft run configs/demo.toml --arms rag+lora --arms rag+raft --tasks minato_qa``
"""

from __future__ import annotations

from bench.arms.context import ArmContext, ArmPlan
from bench.arms.lora import prepare_adapter
from bench.errors import RagftError


class RaftArm:
    name = "raft"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        if self.name in ctx.state.lora_adapters:
            return
        lc = ctx.cfg.lora_for(None)
        if lc.adapter:
            raise RagftError(
                f"{ctx.cfg.source}: the raft arm trains its own adapter, but lora.adapter names a ready one "
                f"('{lc.adapter}'); unset lora.adapter or drop the raft arm"
            )
        raft = lc.model_copy(update={"raft": True, "name": f"{lc.name}-raft"})
        ctx.state.lora_adapters[self.name] = prepare_adapter(ctx, raft, arm=self.name)

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        name = ctx.state.lora_adapters.get(self.name)
        if not name:
            raise RagftError("the raft arm was applied before prepare(): no adapter for this task")
        for p in plans:
            p.adapter = name
