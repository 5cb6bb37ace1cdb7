"""Grading as a stage of its own: the one path that grades a run directory's saved predictions
with the reference judge, LLM judges and juries.

Reads ``selection.json``, ``examples.json`` and ``predictions.jsonl``; appends one ``Grade`` per
(task, arm, example, judge id) to ``grades.jsonl``; never regenerates a prediction. A grade is
done when it belongs to the current prediction and is final (scored, unparseable, no reference,
or the prediction failed), so re-running a judge only grades what is missing or changed. Judge
ids carry the rubric prompt hash, so several judges sit side by side in one run. When two or more
``llm`` judges with ``jury = true`` are graded together, a jury grade is added. ``judges.json``
records every judge; ``judge_reliability.json`` is rewritten after LLM judges graded.

Example: ``ragft grade reports/demo-1a2b3c4d --judge configs/judge-gemma.toml``
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.backends import Backend, backend_session
from bench.config.judges import JudgeSpec
from bench.errors import RagftError
from bench.judges.base import JudgeItem
from bench.judges.jury import jury_grade, jury_id
from bench.judges.llm import UNPARSEABLE, LLMJudge, judge_id
from bench.judges.reference import NO_REFERENCE, ReferenceJudge
from bench.judges.reliability import write_reliability
from bench.judges.rubric import prompt_hash
from bench.models import cache_dir
from bench.progress import progress_bar
from bench.store.cache import GenerationCache
from bench.store.files import Selection, read_selection
from bench.store.rundir import RunStore
from bench.types import Example, Grade

log = logging.getLogger(__name__)

FINAL_ERRORS = (UNPARSEABLE, NO_REFERENCE)  # graded errors that grading again would not change


def judge_record(spec: JudgeSpec) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": spec.kind, "name": spec.name}
    if spec.kind == "llm":
        rec.update(
            model=spec.model.id, backend=spec.model.backend, dtype=spec.model.dtype,
            rubric=spec.rubric, prompt_hash=prompt_hash(spec.rubric), repeats=spec.repeats,
            sampling=spec.sampling.model_dump(mode="json"), use_reference=spec.use_reference,
            jury=spec.jury, guided=spec.guided,
        )
    return rec


def is_done(g: Grade | None, pred_key: str, has_completion: bool) -> bool:
    """Whether ``g`` is a final grade of the prediction with key ``pred_key``."""
    if g is None or g.prediction_key != pred_key:
        return False
    return g.error is None or g.error in FINAL_ERRORS or not has_completion


def reference_spec() -> JudgeSpec:
    return JudgeSpec(name="reference", kind="reference")


def grade_run(
    run_dir: Path,
    specs: list[JudgeSpec],
    *,
    console: Console | None = None,
    backend_factory: Callable[[JudgeSpec], Backend] | None = None,
    seed: int = 0,
    use_cache: bool = True,
) -> int:
    """Grade every saved prediction of ``run_dir`` with each judge; returns the number of new grades.

    LLM judges get their backend from ``load_backend(spec.model)`` (a judge naming the run's model
    shares the run's engine) unless ``backend_factory`` gives one."""
    console = console or Console(stderr=True)
    store = RunStore(run_dir)
    for name in ("selection.json", "examples.json", "predictions.jsonl"):
        if not (run_dir / name).is_file():
            raise RagftError(f"{run_dir} is not a ragft run directory with predictions (no {name})")
    selection = read_selection(run_dir)
    examples: dict[str, dict[str, Any]] = store.read_json("examples.json")
    preds = store.latest_predictions()
    grades = store.latest_grades()
    registry: dict[str, Any] = store.read_json("judges.json") if (run_dir / "judges.json").is_file() else {}
    new = 0
    graded_llm = False
    for spec in specs:
        if spec.tasks:
            unknown = [t for t in spec.tasks if t not in selection]
            if len(unknown) == len(spec.tasks):
                raise RagftError(
                    f"judge '{spec.name}': tasks {unknown} are not in {run_dir}; tasks there: "
                    f"{', '.join(selection.tasks())}"
                )
            if unknown:
                console.print(f"[yellow]judge '{spec.name}'[/]: tasks {unknown} are not in this run; skipped")
        tasks = [t for t in selection.tasks() if not spec.tasks or t in spec.tasks]
        ref = ReferenceJudge() if spec.kind == "reference" else None
        jid = ref.id if ref is not None else judge_id(spec)
        items: list[JudgeItem] = []
        for task in tasks:
            sel = selection[task]
            for arm in sel.arms:
                for eid in sel.examples:
                    p = preds.get((task, arm, eid))
                    if p is None:
                        continue
                    if is_done(grades.get((task, arm, eid, jid)), p.request_key, p.completion is not None):
                        continue
                    ex = Example.model_validate(examples[task][eid])
                    items.append(JudgeItem.from_prediction(p, ex, sel.metrics))
        if items and ref is not None:
            for g in ref.grade(items):
                store.append_grade(g)
            new += len(items)
        reasons: list[str] = list(registry.get(jid, {}).get("guided_fallback", []))
        if items and ref is None:
            new += _grade_llm(spec, items, store, console, backend_factory, seed, reasons, use_cache)
            graded_llm = True
        registry[jid] = judge_record(spec)
        if spec.kind == "llm" and spec.guided:
            registry[jid]["guided_fallback"] = reasons  # why replies fell back to free text
    new += _grade_jury(specs, store, selection, registry)
    store.write_json("judges.json", registry)
    if graded_llm or any(s.kind == "llm" for s in specs):
        write_reliability(run_dir)
    return new


def _grade_llm(
    spec: JudgeSpec,
    items: list[JudgeItem],
    store: RunStore,
    console: Console,
    factory: Callable[[JudgeSpec], Backend] | None,
    seed: int,
    fallback_reasons: list[str],
    use_cache: bool = True,
) -> int:
    cache = GenerationCache(cache_dir() / "generations.sqlite", read=use_cache)
    given = factory(spec) if factory is not None else None
    try:
        with backend_session(spec.model, given=given, seed=seed) as backend:
            judge = LLMJudge(spec, backend, cache)
            console.print(
                f"[bold]judge[/] {judge.id} ({spec.model.id} via {spec.model.backend}, "
                f"{spec.repeats} repeat(s)): {len(items)} item(s)"
            )
            with progress_bar(console) as bar:
                job = bar.add_task(f"judge {spec.name}", total=len(items) * spec.repeats)
                out = judge.grade(items, progress=lambda n: bar.advance(job, n))
            fallback_reasons.extend(r for r in judge.fallback_reasons if r not in fallback_reasons)
        for g in out:
            store.append_grade(g)
        unscored = sum(1 for g in out if g.score is None)
        if unscored:
            console.print(f"  [yellow]{unscored}/{len(out)} unscored[/] by {judge.id} (counted, not zeroed)")
        free = sum(1 for g in out if g.metrics.get("guided", 1.0) < 1.0)
        if free:
            console.print(f"  [yellow]{free}/{len(out)} graded in free text[/] (guided decoding fell back: "
                          f"{'; '.join(judge.fallback_reasons)})")
        return len(out)
    finally:
        cache.close()
        if given is not None:
            given.close()


def _grade_jury(
    specs: list[JudgeSpec], store: RunStore, selection: Selection, registry: dict[str, Any]
) -> int:
    members = [judge_id(s) for s in specs if s.kind == "llm" and s.jury]
    if len(members) < 2:
        return 0
    jid = jury_id(members)
    registry[jid] = {"kind": "jury", "members": members}
    preds = store.latest_predictions()
    grades = store.latest_grades()
    new = 0
    for task, sel in selection.items():
        for arm in sel.arms:
            for eid in sel.examples:
                p = preds.get((task, arm, eid))
                if p is None:
                    continue
                got = {m: grades.get((task, arm, eid, m)) for m in members}
                mg = {m: g for m, g in got.items() if g is not None and g.prediction_key == p.request_key}
                if len(mg) < len(members):
                    continue
                jg = jury_grade(mg, jid)
                old = grades.get((task, arm, eid, jid))
                if old is not None and old.prediction_key == jg.prediction_key and old.metrics == jg.metrics \
                        and old.score == jg.score:
                    continue
                store.append_grade(jg)
                new += 1
    return new
