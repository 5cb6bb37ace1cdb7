"""``ragft index CONFIG``: build (or load from the cache) the BM25 and dense indexes of every task
with a corpus, with progress, and print a one-line check per task.

Example: ``ragft index configs/demo.toml``
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from bench.cli import DataDir, app, console
from bench.progress import StageProgress


@app.command()
def index(
    config: Annotated[Path, typer.Argument(help="experiment TOML file")],
    tasks: Annotated[list[str] | None, typer.Option("--tasks", help="only these tasks (repeatable)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Build the retrieval indexes ([retrieval] section) for the tasks that have a corpus."""
    from bench.config import load_config
    from bench.errors import RagftError
    from retrievers.index import build_stack, retrieval_cache
    from retrievers.passages import corpus_passages
    from tasks.readers import load_task

    cfg = load_config(config, data_dir=data_dir)
    rc = cfg.retrieval
    known = [t.name for t in cfg.tasks]
    for t in tasks or []:
        if t not in known:
            raise RagftError(f"--tasks: no task '{t}' in {cfg.source}; tasks there: {', '.join(known)}")
    built = 0
    for tc in cfg.tasks:
        if tasks and tc.name not in tasks:
            continue
        if not tc.corpus:
            console.print(f"  {tc.name}: no corpus, skipped")
            continue
        task = load_task(tc, cfg)
        passages = corpus_passages(task, rc)
        t0 = time.perf_counter()
        with StageProgress(console, tc.name) as progress:
            stack = build_stack(passages, rc, what=f"task {tc.name}", progress=progress)
        first = task.split(tc.split)[0] if task.splits.get(tc.split) else None
        probe = ""
        if first is not None:
            hits = stack.get(rc.retriever).search(first.question, rc.k)
            probe = f"; {first.id} → {[h.id for h in hits]}"
        console.print(
            f"  {tc.name}: {len(passages)} passages, {stack.bm25.id}, {stack.dense.id} "
            f"({time.perf_counter() - t0:.1f} s){probe}"
        )
        built += 1
    console.print(f"indexes for {built} task(s) in {retrieval_cache()}")
