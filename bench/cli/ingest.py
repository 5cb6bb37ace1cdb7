"""From documents to a project: ``ragft init`` (documents -> corpus + starter config), ``ragft synth``
(a generator model writes evaluation and training items), ``ragft synth-export`` / ``synth-import``
(CSV review in a spreadsheet).

Example: ``ragft init docs/ --out myproject && ragft synth myproject/ragft.toml``
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from bench.cli import app, console
from bench.errors import RagftError

if TYPE_CHECKING:
    from bench.backends import Backend
    from bench.config import ExperimentConfig
    from bench.store.cache import GenerationCache
    from bench.types import GenRequest
    from tasks.synth.records import GenOutcome


@app.command()
def init(
    docs_dir: Annotated[Path, typer.Argument(help="a folder of .txt, .md, .html, .pdf and .docx documents")],
    out: Annotated[Path, typer.Option("--out", help="the project folder to write (created if missing)")],
    max_file_mb: Annotated[float, typer.Option(min=0.001, help="larger files are listed as oversize, not read")] = 20.0,
    passage_chars: Annotated[int, typer.Option(min=40, max=20_000, help="passage size limit in characters")] = 400,
) -> None:
    """Read every document of DOCS_DIR into OUT/corpus.jsonl (stable ids, source file and page) and
    write a starter config OUT/ragft.toml that runs every arm; unreadable files are listed with the reason."""
    from bench.progress import progress_bar
    from tasks.ingest import IngestSettings, init_project
    from tasks.ingest.project import CONFIG_FILE, CORPUS_FILE, REPORT_FILE

    settings = IngestSettings(max_file_mb=max_file_mb, passage_chars=passage_chars)
    with progress_bar(console) as bar:
        job = bar.add_task("read files", total=None)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(job, completed=done, total=total, description=f"read {name}" if name else "read files")

        report = init_project(docs_dir, out, settings, progress=progress)
    out_console = Console(highlight=False, soft_wrap=True)
    for p in report.problems:
        out_console.print(f"[yellow]skipped[/] {p.source}: {p.reason}", markup=True)
    for d in report.documents:
        for w in d.warnings:
            out_console.print(f"[yellow]warning[/] {d.source}: {w}", markup=True)
    out_console.print(
        f"{len(report.documents)} document(s), {report.passages} passage(s) from {report.files} file(s)"
        + (f"; {len(report.problems)} skipped (see {out / REPORT_FILE})" if report.problems else "")
        + f": wrote {out / CORPUS_FILE}"
    )
    config = out / CONFIG_FILE
    if report.config_written:
        out_console.print(f"wrote {config}; next: ragft synth {config}")
    else:
        out_console.print(f"kept your {config} (not overwritten); next: ragft synth {config}")


def _generator_id(model_id: str, backend_name: str, fingerprint: str) -> str:
    return f"{backend_name}:{model_id}@{hashlib.sha256(fingerprint.encode()).hexdigest()[:8]}"


def backend_generator(
    backend: Backend, cache: GenerationCache | None, batch_size: int, guided: bool,
) -> tuple[Callable[[list[GenRequest]], list[GenOutcome]], bool]:
    """A ``generate`` function for ``tasks.synth.synthesize`` over a real backend, through the cached
    generation loop, and whether its output is JSON-schema constrained (``guided`` asked and the
    backend supports it; the check prompts stay free text)."""
    from bench.backends import GuidedBackend
    from bench.backends.batching import generate_cached
    from tasks.synth.prompts import schema_for

    constrained = bool(guided and isinstance(backend, GuidedBackend) and backend.supports_json_schema)
    base_fp = backend.fingerprint()

    def generate(requests: list[GenRequest]) -> list[GenOutcome]:
        out: list[GenOutcome] = []
        # the driver asks one stage at a time, but group by schema anyway: one schema per call
        groups: dict[str, list[int]] = {}
        schemas: dict[str, dict[str, Any] | None] = {}
        for i, r in enumerate(requests):
            schema = schema_for(r) if constrained else None
            key = repr(sorted(schema.items())) if schema else ""
            groups.setdefault(key, []).append(i)
            schemas[key] = schema
        results: list[Any] = [None] * len(requests)
        for key, idx in groups.items():
            schema = schemas[key]
            outs = generate_cached(
                backend, [requests[i] for i in idx], cache=cache, batch_size=batch_size,
                fingerprint=base_fp + ("|json-schema" if schema else ""), json_schema=schema,
            )
            for i, o in zip(idx, outs, strict=True):
                results[i] = o.result
        out.extend(results)
        return out

    return generate, constrained


def _project_paths(cfg: ExperimentConfig) -> tuple[Path, Path, Path]:
    """(project folder, corpus file, synth output folder) of a config."""
    base = Path(cfg.base_dir)
    return base, cfg.resolve_path(cfg.synth.corpus), cfg.resolve_path(cfg.synth.out_dir)


@app.command()
def synth(
    config: Annotated[Path, typer.Argument(help="the project's ragft.toml (written by ragft init)")],
    split_by: Annotated[
        str | None, typer.Option("--split-by", help="document | question (default: synth.split_by)")
    ] = None,
    require_context: Annotated[
        bool | None,
        typer.Option("--require-context/--no-require-context",
                     help="drop items the generator answers without the passage (default: synth.require_context)"),
    ] = None,
    replay: Annotated[
        Path | None, typer.Option(help="answer from recorded generator replies (JSONL) instead of a model")
    ] = None,
    fresh_after: Annotated[
        str | None, typer.Option(help="documents added after this date (YYYY-MM-DD) go to the split 'fresh' only")
    ] = None,
    max_units: Annotated[int | None, typer.Option(min=1, help="at most N generator calls per kind (a quick try)")] = None,
    overwrite: Annotated[bool, typer.Option(help="rewrite task files even if they were edited by hand")] = False,
) -> None:
    """Generate evaluation and training items from the corpus with the generator model of [synth]
    (any backend), filter them, split them and write them where the config's tasks read them.
    Resumable: a rerun generates only what is missing."""
    from bench.config import SynthSection, load_config
    from bench.progress import progress_bar
    from tasks.synth import load_project, replay_generator, synthesize

    cfg = load_config(config, check_paths=False)  # the task files are what synth writes
    update: dict[str, Any] = {}
    if split_by is not None:
        if split_by not in ("document", "question"):
            raise RagftError(f"--split-by: expected document or question, got '{split_by}'")
        update["split_by"] = split_by
    if require_context is not None:
        update["require_context"] = require_context
    if max_units is not None:
        update["max_units"] = max_units
    if fresh_after is not None:
        try:
            update["fresh_after"] = datetime.fromisoformat(fresh_after) if "T" in fresh_after else \
                date.fromisoformat(fresh_after)
        except ValueError:
            raise RagftError(f"--fresh-after: expected a date like 2026-04-01, got '{fresh_after}'") from None
    settings = SynthSection.model_validate({**cfg.synth.model_dump(), **update})
    project, corpus, out_dir = _project_paths(cfg)
    docs = load_project(project, corpus)
    recording = replay if replay is not None else (cfg.resolve_path(settings.replay) if settings.replay else None)

    backend: Any = None
    cache: Any = None
    decoding: Literal["json-schema", "unconstrained", "recorded"]
    if recording is not None:
        if not recording.is_file():
            raise RagftError(f"{recording}: no such recording (a JSONL file of recorded generator replies)")
        generate = replay_generator(recording)
        generator_id, decoding = f"recording:{recording.name}", "recorded"
    else:
        from bench.backends import load_backend
        from bench.models import cache_dir
        from bench.store.cache import GenerationCache

        model = settings.model or cfg.model
        backend = load_backend(model)
        cache = GenerationCache(cache_dir() / "generations.sqlite")
        generate, constrained = backend_generator(backend, cache, settings.batch_size, settings.guided)
        generator_id = _generator_id(model.id, model.backend, backend.fingerprint())
        decoding = "json-schema" if constrained else "unconstrained"
        if not constrained:
            console.print(f"[yellow]note[/]: the {model.backend} backend gives no JSON-schema constrained output "
                          "here: replies are parsed as free text (unparseable ones are counted)", markup=True)
    try:
        with progress_bar(console) as bar:
            jobs: dict[str, Any] = {}

            def progress(done: int, total: int, stage: str) -> None:
                if stage not in jobs:
                    jobs[stage] = bar.add_task(f"synth {stage}", total=total)
                bar.update(jobs[stage], completed=done, total=total)

            report = synthesize(docs, settings, generate, out_dir, generator_id=generator_id, progress=progress,
                                overwrite_edits=overwrite, decoding=decoding)
    finally:
        if cache is not None:
            cache.close()
        if backend is not None:
            backend.close()
    _print_report(report, out_dir, config)


MAX_SHOWN = 8  # rejected items printed (all of them are in rejected.jsonl)


def _print_report(report: Any, out_dir: Path, config: Path) -> None:
    from rich.table import Table

    from tasks.synth.driver import REJECTED, REPORT

    out = Console(highlight=False, soft_wrap=True)
    out.print(f"generator {report.generator} ({report.decoding}), split by {report.split_by}")
    rows = {"units": "generator calls", "failed": "failed (retried next run)", "unparseable": "unparseable reply",
            "candidates": "items in the replies", "invalid": "invalid", "unknown_passage": "unknown passage id",
            "unsupported": "not supported by the passage", "duplicate": "near-duplicate",
            "llm_unsupported": "LLM check: unsupported", "answerable_without_context": "answerable without context",
            "kept": "kept"}
    kinds = list(report.kinds)
    table = Table("", *kinds, box=None, pad_edge=False)
    for key, label in rows.items():
        table.add_row(label, *(str(getattr(report.kinds[k], key)) for k in kinds))
    for split in sorted({s for c in report.kinds.values() for s in c.splits}):
        table.add_row(f"  in {split}", *(str(report.kinds[k].splits.get(split, 0)) for k in kinds))
    out.print(table)
    rejected = out_dir / REJECTED
    lines = rejected.read_text(encoding="utf-8").splitlines() if rejected.is_file() else []
    for line in lines[:MAX_SHOWN]:
        r = json.loads(line)
        out.print(f"rejected {r['unit']} ({r['reason']}): {r['detail']}")
    if len(lines) > MAX_SHOWN:
        out.print(f"… and {len(lines) - MAX_SHOWN} more rejected item(s)")
    for w in report.warnings:
        out.print(f"[yellow]warning[/] {w}", markup=True)
    out.print(f"wrote {', '.join(report.files) or 'no task file'} under {out_dir}; "
              f"rejected items with the reason: {out_dir / REJECTED}; counts: {out_dir / REPORT}")
    if "fresh" in report.split_documents:
        out.print(f"{len(report.split_documents['fresh'])} document(s) added later are in the split 'fresh' only "
                  "(never trained on): evaluate them apart with a copy of a task that has split = \"fresh\"")
    if report.pending:
        out.print(f"[yellow]{report.pending} generation(s) failed[/]: run the same command again to retry them",
                  markup=True)
    out.print(f"review: ragft synth-export {config} review.csv (edit, then synth-import); next: ragft run {config}")


@app.command("synth-export")
def synth_export(
    config: Annotated[Path, typer.Argument(help="the project's ragft.toml")],
    csv_path: Annotated[Path, typer.Argument(help="the CSV file to write (UTF-8 with BOM: opens in Excel)")],
) -> None:
    """Write the synthetic items to a CSV file for review in a spreadsheet (one row per item)."""
    from bench.config import load_config
    from tasks.synth.csvio import export_csv

    _, _, out_dir = _project_paths(load_config(config, check_paths=False))
    n = export_csv(out_dir, csv_path)
    console.print(f"wrote {n} item(s) to {csv_path}; edit or delete rows, then: ragft synth-import {config} {csv_path}")


@app.command("synth-import")
def synth_import(
    config: Annotated[Path, typer.Argument(help="the project's ragft.toml")],
    csv_path: Annotated[Path, typer.Argument(help="the reviewed CSV file")],
) -> None:
    """Replace the synthetic task files with the reviewed CSV (every row checked first; a deleted row deletes the item)."""
    from bench.config import load_config
    from tasks.loaders import load_corpus
    from tasks.synth.csvio import import_csv

    cfg = load_config(config, check_paths=False)
    _, corpus, out_dir = _project_paths(cfg)
    docs = load_corpus(corpus) if corpus.is_file() else {}
    passages = {p.id for d in docs.values() for p in d.passages} if docs else None
    files = import_csv(csv_path, out_dir, passages, set(docs) if docs else None)
    console.print(f"rewrote {', '.join(files) or 'no file'} under {out_dir}")
