"""The ``prompt`` arm: the task's searched, frozen prompt (``bench.optimize``).

``prepare`` searches (or loads the frozen search) with the run's own backend, records the search
as a fixed cost; ``apply`` refuses items the search saw (dev items and few-shot examples, by id),
sets the template and few-shot examples, writes ``prompt_search.json`` into the run dir (template,
dev scores, search log, few-shot texts) and checks the few-shot texts for contamination.

``prompt:NAME`` is a fixed variant instead: the base template with the fields of the config's
``[templates.NAME]`` table (e.g. the question before the document, a structured layout); it
searches nothing.

Example: ``ragft run configs/demo.toml --arms prompt``
"""

from __future__ import annotations

from typing import Any

from adapters.contamination import record_contamination
from bench.arms.context import ArmContext, ArmPlan
from bench.errors import RagftError
from bench.optimize.artifact import PromptArtifact
from bench.optimize.search import optimize_task
from bench.optimize.space import ShotPicker
from bench.prompts import PromptTemplate, few_shot_examples, render_completion
from bench.store.costs import current_device, record_fixed_cost
from bench.store.disk import update_json_entry
from bench.types import Example

RUN_FILE = "prompt_search.json"


def template_layout(t: PromptTemplate, kind: str) -> str:
    """The template shown in full: its rendered completion layout with placeholders."""
    ctx = "{文書}" if kind == "document" else None
    ex = Example.model_validate({"id": "-", "task": "-", "kind": kind, "question": "{質問}", "context": ctx})
    return render_completion(t.messages(ex))


class PromptArm:
    """The searched, frozen prompt of a task (``bench.optimize``), never evaluated on what it saw."""

    name = "prompt"
    needs_model = True

    def prepare(self, ctx: ArmContext) -> None:
        if ctx.state.prompt_artifact is not None:
            return
        art, path, cached = optimize_task(ctx.cfg, ctx.task, ctx.task_cfg, backend=ctx.backend)
        ctx.state.prompt_artifact = art
        ctx.state.prompt_artifact_path = str(path)
        ctx.state.prompt_artifact_cached = cached
        record_fixed_cost(
            ctx.run_dir, arm="prompt", task=ctx.task.name, kind="prompt_search", seconds=float(art.wall_s),
            device=current_device(), generations=int(art.generations.get("requested", sum(art.generations.values()))), note=f"{art.settings.get('strategy')} search",
        )

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        art = ctx.state.prompt_artifact
        if art is None:
            raise RagftError("the prompt arm was applied before prepare(): no frozen prompt for this task")
        seen = set(art.seen_ids)
        bad = [p.example.id for p in plans if p.example.id in seen]
        if bad:
            raise RagftError(
                f"task '{ctx.task.name}': refusing to evaluate the prompt arm on items the prompt search saw "
                f"(its {art.dev_split} split or few-shot examples): {bad[:5]}; evaluate another split"
            )
        train = ctx.task.splits.get("train", []) if art.dev_split != "train" else []
        picker = ShotPicker(train, art.default_shots, art.seed)
        shots_by_example: dict[str, list[str]] = {}
        texts: dict[str, dict[str, Any]] = {}
        for p in plans:
            p.template = art.template
            p.shots = picker.pick(art.template, p.example)
            shots_by_example[p.example.id] = [s.id for s in p.shots]
            for s in p.shots:
                texts[s.id] = {"question": s.question, "context": s.context, "reference": s.reference}
        _write_run_entry(ctx, art, shots_by_example, texts)
        if texts:  # the few-shot texts the prompt shows, against this task's evaluated items
            c = ctx.cfg.contamination
            record_contamination(
                ctx.run_dir, ctx.task.name, "prompt few-shots",
                [(f"{ctx.task.name}/{sid}", " ".join(str(v) for v in t.values() if v)) for sid, t in texts.items()],
                [p.example for p in plans], n=c.ngram, threshold=c.threshold,
            )


def _write_run_entry(
    ctx: ArmContext, art: PromptArtifact, shots: dict[str, list[str]], texts: dict[str, dict[str, Any]]
) -> None:
    update_json_entry(ctx.run_dir / RUN_FILE, art.task, {
        "artifact": ctx.state.prompt_artifact_path,
        "loaded_from_cache": ctx.state.prompt_artifact_cached,
        "key": art.key, "kind": art.kind, "model_id": art.model_id, "model_fingerprint": art.model_fingerprint,
        "scorer": art.scorer, "strategy": art.settings.get("strategy"), "budget": art.settings.get("budget"),
        "template": art.template.model_dump(mode="json"),
        "layout": template_layout(art.template, art.kind),
        "base_layout": template_layout(art.base_template, art.kind),
        "dev_split": art.dev_split, "dev_ids": art.dev_ids, "dev_score": art.dev_score,
        "base_dev_score": art.base_dev_score, "dev_scores": {k: v.model_dump() for k, v in art.dev_scores.items()},
        "candidates": len(art.candidates), "planned": art.planned, "generations": art.generations,
        "wall_s": art.wall_s, "search_log": [s.model_dump() for s in art.log],
        "seen_ids": art.seen_ids,
        "few_shots": {
            "selection": art.template.shot_selection, "count": art.default_shots if art.template.shots is None
            else art.template.shots, "ids_by_example": shots, "texts": texts,
        },
    }, indent=2)




class FixedPromptArm:
    """``prompt:NAME``: the base template with the fields of ``[templates.NAME]``; no search."""

    name = "prompt"
    needs_model = False

    def __init__(self, variant: str) -> None:
        self.variant = variant

    def template(self, ctx: ArmContext) -> PromptTemplate:
        spec = ctx.cfg.templates.get(self.variant)
        if spec is None:
            raise RagftError(f"{ctx.cfg.source}: arm 'prompt:{self.variant}' has no [templates.{self.variant}] table")
        return ctx.template.model_copy(update={**spec.changes(), "name": self.variant})

    def prepare(self, ctx: ArmContext) -> None:
        self.template(ctx)

    def apply(self, ctx: ArmContext, plans: list[ArmPlan]) -> None:
        t = self.template(ctx)
        shots = ctx.shots
        if t.shots is not None and t.shots != len(ctx.shots):
            shots = few_shot_examples(ctx.task.splits.get("train", []), t.shots, ctx.cfg.run.seed)
        for p in plans:
            p.template = t
            p.shots = list(shots)


def prompt_arm(variant: str | None = None) -> PromptArm | FixedPromptArm:
    """The arm of a ``prompt`` component: searched (``prompt``) or fixed (``prompt:NAME``)."""
    return FixedPromptArm(variant) if variant is not None else PromptArm()
