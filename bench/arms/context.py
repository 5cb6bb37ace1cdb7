"""What arms work with: the per-task ``ArmContext`` (config, task, typed prepared state), the
per-example ``ArmPlan`` each arm component edits, the ``Arm`` protocol, and ``build_requests``.

An arm name is one or more components joined by ``+`` (``rag+lora``); each component is an
``Arm`` registered in ``bench.registry`` (kind ``arm``) and applied in order to shared plans. A
component may name a variant (``lora:v1``, ``prompt:query_first``): the arm class gets it as
its ``variant`` argument.

Example: ``requests = build_requests(examples, "rag+lora", ctx)``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bench import registry
from bench.backends.base import Backend
from bench.config import ExperimentConfig, TaskSection
from bench.errors import RagftError
from bench.prompts import PromptTemplate
from bench.types import AdapterSpec, Example, GenRequest
from tasks.loaders import Task

if TYPE_CHECKING:
    from rich.console import Console

    from bench.optimize.artifact import PromptArtifact
    from retrievers.index import RetrievalStack
    from retrievers.window import LongContextState


class ArmNotApplicable(RagftError):
    """Raised by ``Arm.prepare`` when the arm cannot apply to a task (e.g. rag on a quiz without a
    corpus); the runner skips that (task, arm) pair and records why in selection.json."""


@dataclass
class ArmState:
    """Resources prepared by arms for one task, shared by the arm components of that task."""

    adapters: dict[str, AdapterSpec] = field(default_factory=dict)  # adapter name -> identity
    lora_adapters: dict[str, str] = field(default_factory=dict)  # lora arm component -> adapter name
    prompt_artifact: PromptArtifact | None = None
    prompt_artifact_path: str | None = None
    prompt_artifact_cached: bool = False
    rag_stack: RetrievalStack | None = None
    longctx: LongContextState | None = None  # documents with token counts (+ document BM25)


@dataclass
class ArmContext:
    """What an arm may use for one task: config, the task with all splits, and the base choices."""

    cfg: ExperimentConfig
    task: Task
    task_cfg: TaskSection
    shots: list[Example]
    template: PromptTemplate
    new_tokens: int
    run_dir: Path
    state: ArmState = field(default_factory=ArmState)
    backend: Backend | None = None  # the run's backend, for arms that generate while preparing
    console: Console | None = None  # the run's console, for progress bars of long preparations


@dataclass
class ArmPlan:
    """The per-example request under construction; each arm component edits it."""

    example: Example
    template: PromptTemplate
    shots: list[Example]
    context: str | None = None
    adapter: str | None = None
    hits: list[str] = field(default_factory=list)


class Arm(Protocol):
    name: str
    needs_model: bool  # prepare() generates with the run's backend (prepared after the others)

    def prepare(self, ctx: ArmContext) -> None:
        """Build what the arm needs (indexes, adapters, searched prompts); cached, idempotent."""
        ...

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        """Edit the plans in place."""
        ...


def get_arm(part: str) -> Arm:
    """The arm of one component (``lora:v1`` -> ``LoraArm(variant="v1")``)."""
    cls = registry.load("arm", registry.arm_kind(part))
    variant = registry.arm_variant(part)
    arm: Arm = cls(variant=variant) if variant is not None else cls()
    return arm


def arm_needs_model(arm: str) -> bool:
    return any(get_arm(part).needs_model for part in registry.arm_parts(arm))


def prepare_arm(arm: str, ctx: ArmContext) -> None:
    for part in registry.arm_parts(arm):
        get_arm(part).prepare(ctx)


def build_requests(examples: list[Example], arm: str, ctx: ArmContext) -> list[GenRequest]:
    plans = [ArmPlan(example=ex, template=ctx.template, shots=list(ctx.shots)) for ex in examples]
    for part in registry.arm_parts(arm):
        get_arm(part).apply(ctx, plans)
    seen = {s.id for p in plans for s in p.shots}
    overlap = [e.id for e in examples if e.id in seen]
    if overlap:
        raise RagftError(f"refusing to evaluate on items used as few-shot examples: {overlap[:5]}")
    out: list[GenRequest] = []
    for p in plans:
        sampling = ctx.cfg.sampling.model_copy(
            update={"max_new_tokens": ctx.new_tokens, "stop": ctx.cfg.sampling.stop or p.template.stop}
        )
        out.append(
            GenRequest(
                example_id=p.example.id, task=p.example.task, arm=arm,
                messages=p.template.messages(p.example, p.shots, p.context),
                sampling=sampling, adapter=p.adapter, hits=p.hits,
            )
        )
    return out
