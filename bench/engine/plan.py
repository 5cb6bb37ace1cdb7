"""The prepare stage: from a config to the run's tasks, selection and requests.

For each task: load it, choose the evaluated items (split, limit), the few-shot examples and the
base template, and record it all in ``selection.json``. Arms are prepared in two phases: first
those that do not generate (LoRA training, retrieval indexes — so every adapter is known and the
training's memory is free before any engine starts), then, with the run's one backend, those
that do (the prompt search). Then each (task, arm) turns its items into requests.

Example: ``plan = build_plan(cfg, cfg.tasks, cfg.arms, limit=None, run_dir=..., console=...)``
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from bench.arms.context import (
    ArmContext,
    ArmNotApplicable,
    arm_needs_model,
    build_requests,
    prepare_arm,
)
from bench.backends.base import Backend
from bench.config import ExperimentConfig, TaskSection, new_tokens_for
from bench.store.files import Selection, TaskSelection
from bench.types import AdapterSpec, Example, GenRequest
from tasks.loaders import Task
from tasks.readers import base_template, load_task, task_few_shots


def dataset_hash(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        h.update(e.model_dump_json().encode())
    return h.hexdigest()[:16]


@dataclass
class TaskPlan:
    task: Task
    tc: TaskSection
    examples: list[Example]
    ctx: ArmContext
    selection: TaskSelection
    arms: list[str] = field(default_factory=list)  # the arms that apply to this task
    requests: dict[str, list[GenRequest]] = field(default_factory=dict)


@dataclass
class Plan:
    tasks: list[TaskPlan]
    datasets: dict[str, str]

    @property
    def selection(self) -> Selection:
        return Selection({tp.task.name: tp.selection for tp in self.tasks})

    @property
    def adapters(self) -> dict[str, AdapterSpec]:
        out: dict[str, AdapterSpec] = {}
        for tp in self.tasks:
            out.update(tp.ctx.state.adapters)
        return out

    def requests(self) -> list[GenRequest]:
        return [r for tp in self.tasks for arm in tp.arms for r in tp.requests[arm]]

    def examples_json(self) -> dict[str, dict[str, object]]:
        return {tp.task.name: {e.id: e.model_dump(mode="json") for e in tp.examples} for tp in self.tasks}


def load_tasks(
    cfg: ExperimentConfig, task_cfgs: list[TaskSection], arms: list[str], limit: int | None, run_dir: Path,
    console: Console | None = None,
) -> Plan:
    """Tasks, evaluated items, few-shot examples and base templates; no arm prepared yet."""
    tasks: list[TaskPlan] = []
    datasets: dict[str, str] = {}
    for tc in task_cfgs:
        task = load_task(tc, cfg)
        examples = task.split(tc.split)
        lim = limit if limit is not None else tc.limit
        if limit is not None and tc.limit is not None:
            lim = min(limit, tc.limit)
        examples = examples[:lim] if lim else examples
        datasets[tc.name] = dataset_hash(examples)
        shots = task_few_shots(tc, task, cfg.run.seed)
        sel = TaskSelection(
            kind=task.kind, metrics=task.metrics, split=tc.split, examples=[e.id for e in examples],
            arms=list(arms), few_shot_ids=[s.id for s in shots],
            split_sizes={k: len(v) for k, v in task.splits.items()}, notes=task.notes,
        )
        ctx = ArmContext(
            cfg=cfg, task=task, task_cfg=tc, shots=shots,
            template=base_template(tc, task),
            new_tokens=new_tokens_for(tc, cfg, task.output_length), run_dir=run_dir, console=console,
        )
        tasks.append(TaskPlan(task=task, tc=tc, examples=examples, ctx=ctx, selection=sel))
    return Plan(tasks=tasks, datasets=datasets)


def prepare_arms(
    plan: Plan,
    arms: list[str],
    console: Console,
    *,
    phase: str,
    backend: Backend | None = None,
) -> None:
    """Prepare the arms of one phase (``offline``: no generation; ``model``: with ``backend``)."""
    for tp in plan.tasks:
        if backend is not None:
            tp.ctx.backend = backend
        for arm in arms:
            if arm_needs_model(arm) != (phase == "model"):
                continue
            if arm in (tp.selection.skipped_arms or {}):
                continue
            try:
                prepare_arm(arm, tp.ctx)
            except ArmNotApplicable as e:
                tp.selection.skipped_arms = {**(tp.selection.skipped_arms or {}), arm: str(e)}
                tp.selection.arms = [a for a in tp.selection.arms if a != arm]
                console.print(f"[yellow]skip[/] {tp.task.name} × {arm}: {e}")


def build_all_requests(plan: Plan, arms: list[str]) -> None:
    """Requests of every (task, arm) that applies, in config order."""
    for tp in plan.tasks:
        skipped = tp.selection.skipped_arms or {}
        tp.arms = [a for a in arms if a not in skipped]
        for arm in tp.arms:
            tp.requests[arm] = build_requests(tp.examples, arm, tp.ctx)


def build_plan(
    cfg: ExperimentConfig,
    task_cfgs: list[TaskSection],
    arms: list[str],
    *,
    limit: int | None,
    run_dir: Path,
    console: Console,
    get_backend: Callable[[dict[str, AdapterSpec]], Backend],
    on_loaded: Callable[[Plan], None] | None = None,
) -> Plan:
    """Load tasks, prepare every arm (offline ones first, then with the backend ``get_backend``
    returns for the adapters they produced) and build the requests. ``on_loaded`` sees the plan
    once the tasks are loaded, before any arm is prepared (the runner prints its one-line plan)."""
    plan = load_tasks(cfg, task_cfgs, arms, limit, run_dir, console)
    if on_loaded is not None:
        on_loaded(plan)
    prepare_arms(plan, arms, console, phase="offline")
    backend = get_backend(plan.adapters)
    prepare_arms(plan, arms, console, phase="model", backend=backend)
    build_all_requests(plan, arms)
    return plan
