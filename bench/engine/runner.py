"""The runner: prepare -> generate -> grade -> report, resumable at every item.

Each stage reads and writes typed files in ``reports/<run-id>/``. Running the same config again
resumes: finished predictions and grades are never redone, and completions come from the
content-addressed generation cache when the same request was made before. The whole run — the
prompt search, the evaluation and any LLM judge naming the same model — uses one backend.

Example: ``Runner(load_config("configs/demo.toml")).run()``
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from bench.backends import Backend, load_backend
from bench.backends.batching import GenOutcome, generate_cached
from bench.config import ExperimentConfig, expand_arm
from bench.engine.plan import Plan, build_plan
from bench.engine.shuffle import run_shuffle_check
from bench.errors import RagftError
from bench.judges.grading import grade_run, reference_spec
from bench.judges.reference import ReferenceJudge
from bench.judges.rubric import prompt_hash
from bench.models import cache_dir
from bench.progress import progress_bar
from bench.report.writer import write_reports
from bench.store.cache import GenerationCache
from bench.store.costs import current_device, record_fixed_cost
from bench.store.files import Caveat, Selection, record_caveats, write_selection
from bench.store.lock import run_lock
from bench.store.provenance import collect_provenance
from bench.store.rundir import RunStore
from bench.types import AdapterSpec, ArmSummary, GenRequest, Prediction

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    generated: int = 0
    from_cache: int = 0
    resumed: int = 0
    failed: int = 0
    graded: int = 0
    summaries: list[ArmSummary] = field(default_factory=list)
    adapters: dict[str, AdapterSpec] = field(default_factory=dict)


def chat_template_id(backend: Backend) -> str:
    """What turns messages into the model's input: the hash of the tokenizer's chat template, the
    plain completion format when it has none, or the server's own template (openai backend)."""
    tok = getattr(backend, "tokenizer", None)
    if tok is None:
        return "applied by the server" if backend.name == "openai" else "none (plain completion format)"
    template = getattr(tok, "chat_template", None)
    if not template:
        return "none (plain completion format)"
    text = template if isinstance(template, str) else repr(template)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def data_caveats(selection: Selection) -> list[Caveat]:
    """The readers' data notes (carved splits, skipped records, metrics not computed) and the arms
    that did not apply, as caveats of their task."""
    out: list[Caveat] = []
    for task, sel in selection.items():
        out += [Caveat(source="data", kind="reader_note", task=task, en=f"data: {n}", ja=f"データ: {n}")
                for n in sel.notes]
        out += [Caveat(source="data", kind="arm_skipped", task=task, arm=arm, en=f"data: arm {arm} not run ({why})",
                       ja=f"データ: アーム {arm} は未実行（{why}）") for arm, why in (sel.skipped_arms or {}).items()]
    return out


class Runner:
    def __init__(
        self,
        cfg: ExperimentConfig,
        *,
        limit: int | None = None,
        tasks: list[str] | None = None,
        arms: list[str] | None = None,
        backend: Backend | None = None,
        output_dir: Path | None = None,
        console: Console | None = None,
        mlflow: bool | None = None,
        verbose: bool = False,
    ) -> None:
        self.cfg = cfg
        self.limit = limit
        known_tasks = [t.name for t in cfg.tasks]
        for t in tasks or []:
            if t not in known_tasks:
                raise RagftError(f"--tasks: no task '{t}' in {cfg.source}; tasks there: {', '.join(known_tasks)}")
        arms = [x for a in arms or [] for x in expand_arm(cfg, a)] or None  # lora:curve -> its fractions
        for a in arms or []:
            if a not in cfg.arms:
                raise RagftError(f"--arms: arm '{a}' is not in {cfg.source}; arms there: {', '.join(cfg.arms)}")
        self.task_cfgs = [t for t in cfg.tasks if not tasks or t.name in tasks]
        self.arms = [a for a in cfg.arms if not arms or a in arms]
        self._given = backend
        self.output_dir = output_dir or Path(cfg.run.output_dir)
        self.console = console or Console(stderr=True)
        self.mlflow = cfg.tracking.mlflow if mlflow is None else mlflow  # --mlflow / [tracking] mlflow
        self.verbose = verbose  # True: the backend's own log lines (vLLM) on the terminal
        if self.mlflow:
            from bench.tracking import require_mlflow

            require_mlflow()

    def run(self) -> RunResult:
        """The whole run, holding the run folder's writer lock (a second writer is refused)."""
        run_id = self.cfg.run_id()
        with run_lock(self.output_dir / run_id):
            return self._run(run_id)

    def _run(self, run_id: str) -> RunResult:
        cfg = self.cfg
        store = RunStore(self.output_dir / run_id)
        result = RunResult(run_dir=store.root)
        self.console.print(f"[bold]ragft run[/] {cfg.source} → {store.root}")
        if cfg.model.backend == "vllm" and self._given is None:
            from bench.backends.vllm import route_logs

            if self.verbose:
                route_logs(None)
            else:
                self.console.print(f"vLLM's own output goes to {store.root / 'vllm.log'} (--verbose shows it here)")
                route_logs(store.root / "vllm.log")
        handles: list[Backend] = []

        def get_backend(adapters: dict[str, AdapterSpec]) -> Backend:
            if self._given is not None:
                return self._given
            with self.console.status(f"loading {cfg.model.id} ({cfg.model.backend} backend)…"):
                handles.append(load_backend(cfg.model, adapters=adapters, seed=cfg.run.seed))
            return handles[-1]

        try:
            plan = build_plan(
                cfg, self.task_cfgs, self.arms, limit=self.limit, run_dir=store.root, console=self.console,
                get_backend=get_backend, on_loaded=lambda p: self._say_plan(p, store),
            )
            backend = self._given if self._given is not None else handles[0]
            result.adapters = plan.adapters
            store.write_json("config.json", cfg.model_dump(mode="json"))
            write_selection(store.root, plan.selection)
            record_caveats(store.root, "data", data_caveats(plan.selection))
            store.write_json("examples.json", plan.examples_json())
            fingerprint = backend.fingerprint()
            self._generate(plan, store, backend, fingerprint, run_id, result)
            if any(tp.tc.shuffle_choices for tp in plan.tasks):
                result.generated += run_shuffle_check(plan, store.root, backend, fingerprint, cfg.model.batch_size)
            record_engine_start(store.root, backend)
            ref = ReferenceJudge()
            store.write_json(
                "provenance.json",
                collect_provenance(
                    run_id=run_id, config_source=cfg.source, model_fingerprint=fingerprint,
                    datasets=plan.datasets, judge={"id": ref.id, "version": ref.version},
                    chat_template=chat_template_id(backend),
                    judge_prompt_hash={s.name: prompt_hash(s.rubric) for s in cfg.judges if s.kind == "llm"},
                ),
            )
            # the reference judge, then any [[judges]]; an LLM judge naming the run's model
            # gets the run's backend from load_backend while this run still holds it
            result.graded = grade_run(
                store.root, [reference_spec(), *cfg.judges], console=self.console, seed=cfg.run.seed,
                use_cache=cfg.run.cache,
            )
        finally:
            for h in handles:
                h.close()
        with self.console.status("writing the report (statistics, plots)…"):
            result.summaries = write_reports(store.root).summaries
        self._say_done(result)
        if self.mlflow:
            from bench.tracking import log_run

            rid = log_run(store.root, self.cfg.tracking, adapters=result.adapters)
            self.console.print(f"logged to MLflow: run {rid} (experiment {self.cfg.tracking.experiment!r})")
        return result

    def _generate(
        self, plan: Plan, store: RunStore, backend: Backend, fingerprint: str, run_id: str, result: RunResult
    ) -> None:
        done = store.latest_predictions()
        pending: list[GenRequest] = []
        for r in plan.requests():
            prev = done.get((r.task, r.arm, r.example_id))
            if prev is not None and prev.request_key == r.key(fingerprint) and prev.completion is not None:
                result.resumed += 1
                continue
            pending.append(r)
        if not pending:
            return

        def write(o: GenOutcome) -> None:
            r = o.request
            p = Prediction(
                run_id=run_id, task=r.task, arm=r.arm, example_id=r.example_id, request_key=o.key,
                prompt=backend.render(r), hits=r.hits,
                completion=o.result if o.ok else None,  # type: ignore[arg-type]
                error=None if o.ok else getattr(o.result, "error", "generation failed"),
            )
            store.append_prediction(p)
            if not o.ok:
                result.failed += 1
            elif o.source == "generated":
                result.generated += 1
            else:
                result.from_cache += 1

        cache = GenerationCache(cache_dir() / "generations.sqlite", read=self.cfg.run.cache)
        try:
            with progress_bar(self.console) as bar:
                job = bar.add_task("generate", total=len(pending))
                t0 = time.perf_counter()
                done_n = [0]

                def advance(n: int) -> None:
                    bar.advance(job, n)
                    done_n[0] += n
                    if not self.console.is_terminal and result.generated + result.failed:
                        el = time.perf_counter() - t0
                        self.console.print(f"  generated {done_n[0]}/{len(pending)} ({el:.0f} s)")

                generate_cached(
                    backend, pending, cache=cache, batch_size=self.cfg.model.batch_size,
                    fingerprint=fingerprint, progress=advance, on_result=write,
                )
        finally:
            cache.close()

    def _say_plan(self, plan: Plan, store: RunStore) -> None:
        """One line before the long stages: tasks × arms, items, generations, what this run folder has."""
        items = sum(len(tp.examples) for tp in plan.tasks)
        gens = sum(len(tp.examples) * len(tp.selection.arms) for tp in plan.tasks)
        done = store.latest_predictions()
        resumed = sum(
            1 for tp in plan.tasks for arm in tp.selection.arms for e in tp.examples
            if (p := done.get((tp.task.name, arm, e.id))) is not None and p.completion is not None
        )
        cached = f"{resumed} already answered in this run folder" if resumed else "nothing answered yet in this run folder"
        self.console.print(
            f"plan: {_n(len(plan.tasks), 'task')} × {_n(len(self.arms), 'arm')}, {items} items → up to {gens} generations; {cached}"
            " (identical earlier requests come from the generation cache; indexes and adapters are reused when cached)",
            highlight=False,
        )

    def _say_done(self, r: RunResult) -> None:
        c = self.console
        if r.generated == 0 and r.from_cache == 0 and r.failed == 0:
            c.print(f"[green]Nothing to generate:[/] all {r.resumed} predictions were already in this run (resumed).")
        else:
            c.print(
                f"generated {r.generated}, from cache {r.from_cache}, resumed {r.resumed}, failed {r.failed}"
            )
        c.print(f"graded {r.graded} new; report: {r.run_dir / 'report.md'}")
        for s in r.summaries:
            mean = "—" if s.mean is None else f"{s.mean:.2f}"
            c.print(f"  {s.task:<20} {s.arm:<8} mean {mean:>5} / 10  n={s.n} failed={s.n_failed} unscored={s.n_unscored}")


def record_engine_start(run_dir: Path, backend: Backend) -> None:
    """The backend's start (vLLM engine start, hf weight loading) as a fixed cost every arm pays;
    a fully resumed run starts nothing and keeps the time recorded when it did."""
    seconds = getattr(backend, "start_seconds", None)
    if seconds is None:
        return
    on_cpu = bool(getattr(backend, "on_cpu", False)) or getattr(backend, "device", None) == "cpu"
    record_fixed_cost(
        run_dir, arm="*", task=None, kind="engine_start", seconds=float(seconds),
        device="cpu" if on_cpu else current_device(), note=f"{getattr(backend, 'name', 'backend')} start",
    )


def _n(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")
