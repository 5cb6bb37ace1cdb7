"""The ``base`` arm: the task's plain prompt (instruction, fixed few-shot examples from train, the
question), unchanged. Every other arm is measured against it.

Example: ``ragft run configs/demo.toml --arms base``
"""

from __future__ import annotations

from bench.arms.context import ArmContext, ArmPlan


class BaseArm:
    name = "base"
    needs_model = False

    def prepare(self, ctx: ArmContext) -> None:
        pass

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        pass
