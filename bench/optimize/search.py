"""Prompt search: candidate templates scored on the dev split, the best frozen as an artifact.

``optimize_task`` builds the candidate space (``bench.optimize.space``), scores candidates on the
task's dev split with the task's metric through the configured judge's dev scorer
(``bench.optimize.evaluate``) under a strategy (``bench.optimize.strategies``), and freezes the
winner (``bench.optimize.artifact``) in ``$RAGFT_CACHE/prompts/``, keyed by everything that
determines the result, so a rerun loads it instead of searching. Generations go through the run's
backend (``load_backend``: the same engine as the evaluation) and the shared generation cache.

Example: ``ragft optimize configs/demo.toml --task minato_qa``
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console

from bench.backends import Backend, backend_session
from bench.config import ExperimentConfig, TaskSection
from bench.models import cache_dir
from bench.optimize.artifact import PromptArtifact, SearchSetup, artifact_path
from bench.optimize.evaluate import DevEvaluator
from bench.optimize.space import ShotPicker, candidate_space
from bench.optimize.strategies import planned_generations, run_strategy
from bench.progress import progress_bar
from bench.store.cache import GenerationCache
from bench.store.provenance import package_versions
from tasks.loaders import Task

log = logging.getLogger(__name__)


def optimize_task(
    cfg: ExperimentConfig,
    task: Task,
    tc: TaskSection,
    *,
    backend: Backend | None = None,
    console: Console | None = None,
    force: bool = False,
) -> tuple[PromptArtifact, Path, bool]:
    """Search (or load the frozen search of) one task: (artifact, its path, loaded from cache)."""
    setup = SearchSetup.resolve(cfg, task, tc)
    console = console or Console(stderr=True)
    with backend_session(cfg.model, given=backend, seed=cfg.run.seed) as be:
        fingerprint = be.fingerprint()
        key = setup.key(fingerprint)
        path = artifact_path(task.name, key)
        if path.is_file() and not force:
            try:
                return PromptArtifact.load(path), path, True
            except (ValidationError, ValueError) as e:
                log.warning("%s: unreadable prompt artifact (%s); searching again", path, e)
        art = _search(setup, be, fingerprint, key, console)
    art.save(path)
    return art, path, False


def _search(
    setup: SearchSetup, backend: Backend, fingerprint: str, key: str, console: Console
) -> PromptArtifact:
    s, task = setup.settings, setup.task
    started0 = getattr(backend, "start_seconds", None)
    t0 = time.perf_counter()
    picker = ShotPicker(setup.train, setup.shots, setup.cfg.run.seed)
    cands = candidate_space(setup.base, task, setup.dev, s, setup.shots, len(setup.train))
    n0, _, planned = planned_generations(s, len(cands), len(setup.dev))
    console.print(
        f"[bold]prompt search[/] {task.name}: {len(cands)} candidates, {s.strategy} over {n0} of them, "
        f"{len(setup.dev)} dev items, at most {planned} generations (budget {s.budget})"
    )
    cache = GenerationCache(cache_dir() / "generations.sqlite", read=setup.cfg.run.cache)
    try:
        with progress_bar(console) as bar:
            job = bar.add_task(f"search {task.name}", total=planned)
            done = [0]

            def advance(n: int) -> None:
                bar.advance(job, n)
                done[0] += n
                if not console.is_terminal and (done[0] % 20 < n or done[0] == planned):
                    console.print(f"  {task.name}: {done[0]}/{planned} dev generations ({time.perf_counter() - t0:.0f} s)")

            ev = DevEvaluator(
                task=task, cands=cands, picker=picker, sampling=setup.sampling, scorer=setup.scorer,
                backend=lambda: backend, cache=cache, fingerprint=fingerprint,
                batch_size=setup.cfg.model.batch_size, progress=advance,
            )
            best, steps = run_strategy(s, ev, setup.dev, random.Random(setup.cfg.run.seed))
    finally:
        cache.close()
    wall = time.perf_counter() - t0
    started = getattr(backend, "start_seconds", None)
    if started is not None and started0 is None:  # the engine started inside the search: its own fixed cost
        wall = max(0.0, wall - float(started))
    full = {ci: ev.stats(ci, setup.dev) for ci in range(len(cands)) if all((ci, e.id) in ev.results for e in setup.dev)}
    chosen = cands[best]
    fixed = [] if chosen.shot_selection == "similar" else [x.id for x in picker.pick(chosen, setup.dev[0])]
    art = PromptArtifact(
        key=key, task=task.name, kind=task.kind, model_id=setup.cfg.model.id, model_fingerprint=fingerprint,
        scorer=setup.scorer.id, metrics=task.metrics, settings=s.model_dump(mode="json"),
        seed=setup.cfg.run.seed, template=chosen, base_template=cands[0], default_shots=setup.shots,
        few_shot_ids=fixed, shot_pool=sorted(e.id for e in setup.train), seen_ids=sorted(
            {e.id for e in setup.dev} | ev.shot_ids
        ),
        dev_split=s.dev_split, dev_ids=[e.id for e in setup.dev],
        dev_score=full[best].mean, base_dev_score=full[0].mean,
        dev_scores={cands[ci].name: sc for ci, sc in full.items()}, candidates=cands, log=steps,
        planned=planned, generations=ev.tally.as_dict(), wall_s=round(wall, 3),
        versions=package_versions(), created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    console.print(
        f"  {task.name}: chose [bold]{chosen.name}[/] dev {_f(art.dev_score)} vs base {_f(art.base_dev_score)} "
        f"({ev.tally.requested} generations: {ev.tally.generated} new, {ev.tally.cached} cached; {wall:.1f} s)"
    )
    return art


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


