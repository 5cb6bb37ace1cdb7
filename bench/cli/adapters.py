"""``ragft`` commands for LoRA: ``train``, ``contamination``, ``gate`` and ``adapters`` (registry).

Example: ``ragft train configs/demo.toml``; ``ragft gate --baseline reports/demo-1a2b3c4d --candidate ADAPTER``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench.cli import DataDir, app, console
from bench.errors import RagftError


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="experiment TOML file with a [lora] section")],
    data_dir: DataDir = None,
) -> None:
    """Train (or reuse from the cache) every LoRA adapter of the config ([lora] / [[lora]] tables, each
    learning-curve point) on its tasks' train splits and register it."""
    from adapters.build import ensure_adapter
    from bench.config import load_config

    cfg = load_config(config, data_dir=data_dir)
    out = Console()
    for name, lc in cfg.lora_variants().items():
        contexts = None
        if lc.raft and not lc.adapter:
            from bench.arms.raft_data import raft_contexts

            contexts = raft_contexts(cfg, lc)
        ref, folder = ensure_adapter(cfg, lc, console=console, contexts=contexts)
        out.print(f"{name}: adapter [bold]{ref.name}[/] (int id {ref.int_id}) at {folder}")
        if ref.metrics:
            out.print("  " + ", ".join(f"{k} {v}" for k, v in ref.metrics.items()))
        out.print(f"  loss curve: {folder / 'loss_curve.json'}")


@app.command()
def contamination(
    config: Annotated[Path, typer.Argument(help="experiment TOML file")],
    output: Annotated[Path | None, typer.Option(help="write the full result as JSON here")] = None,
    data_dir: DataDir = None,
) -> None:
    """Character n-gram overlap between the adapters' training items and every task's evaluation items."""
    from adapters.contamination import check_overlap, item_text
    from adapters.data import training_texts
    from bench.config import load_config
    from tasks.readers import load_task

    cfg = load_config(config, data_dir=data_dir)
    c = cfg.contamination
    sources = list(dict.fromkeys(s for lc in cfg.lora_variants().values() for s in training_texts(cfg, lc)))
    table = Table(title=f"contamination: {len(sources)} training items, {c.ngram}-grams, flag ≥ {c.threshold:.0%}")
    for col in ("task", "split", "items", "flagged", "max overlap", "flagged items"):
        table.add_column(col)
    result: dict[str, dict[str, dict[str, object]]] = {}
    for tc in cfg.tasks:
        items = load_task(tc, cfg).split(tc.split)
        ov = check_overlap(sources, [(e.id, item_text(e)) for e in items], n=c.ngram)
        flagged = sorted(k for k, v in ov.items() if v.ratio >= c.threshold)
        result[tc.name] = {k: {"ratio": v.ratio, "source": v.source, "flagged": k in flagged} for k, v in ov.items()}
        top = max((v.ratio for v in ov.values()), default=0.0)
        table.add_row(tc.name, tc.split, str(len(items)), str(len(flagged)), f"{top:.0%}", ", ".join(flagged[:6]))
    Console().print(table)
    if output:
        output.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        console.print(f"wrote {output}")


@app.command()
def gate(
    baseline: Annotated[Path, typer.Option(help="a finished run directory (reports/<run-id>)")],
    candidate: Annotated[str, typer.Option(help="adapter folder, registry name, or a config TOML whose [lora] trains it")],
    config: Annotated[Path | None, typer.Option(help="the baseline's config file, when its task paths are relative")] = None,
    verdict: Annotated[Path | None, typer.Option(help="also copy the Markdown verdict here (for CI)")] = None,
    against: Annotated[str | None, typer.Option(
        help="the baseline arm to compare with: base, lora, or any arm of the run, e.g. lora:v1 "
             "(default: lora.gate.against, auto = the baseline's lora arm)")] = None,
) -> None:
    """Evaluate only the candidate's arm, compare per item with the baseline, exit 1 when it regresses."""
    from bench.engine.gate import run_gate, verdict_markdown

    if not baseline.is_dir():
        raise RagftError(f"--baseline {baseline}: no such run directory")
    r = run_gate(baseline, candidate, config=config, against=against, console=console)
    md = verdict_markdown(r)
    out = Console()
    out.print(md, soft_wrap=True, markup=False, highlight=False)
    out.print(f"verdict: {Path(r.run_dir) / 'verdict.md'} (gate took {r.seconds:.0f} s)")
    if verdict:
        verdict.write_text(md, encoding="utf-8")
    if not r.passed:
        sys.exit(1)


adapters_app = typer.Typer(help="The adapter registry: list and register adapters.", no_args_is_help=True)
app.add_typer(adapters_app, name="adapters")


@adapters_app.command("list")
def adapters_list(registry: Annotated[Path | None, typer.Option(help="registry root")] = None) -> None:
    """Registered adapters (name, int id, base model, path)."""
    from adapters.registry import Registry

    reg = Registry.default(registry)
    t = Table(title=str(reg.file))
    for col in ("name", "int id", "base model", "train data", "path"):
        t.add_column(col)
    for r in reg.entries():
        t.add_row(r.name, str(r.int_id), r.base_model, r.train_data_hash or "—", r.path)
    Console().print(t)


@adapters_app.command("register")
def adapters_register(
    folder: Annotated[Path, typer.Argument(help="a peft adapter folder (safetensors)")],
    base_model: Annotated[str, typer.Option(help="the model it was trained on: embedded:…, a local folder")],
    name: Annotated[str, typer.Option(help="name prefix")] = "lora",
    registry: Annotated[Path | None, typer.Option(help="registry root")] = None,
) -> None:
    """Register a downloaded adapter for a base model (copies it into the registry)."""
    from adapters.registry import Registry
    from bench.models import fingerprint_model, resolve_model

    ref = Registry.default(registry).register(folder, base_model=fingerprint_model(resolve_model(base_model)), prefix=name)
    Console().print(f"registered [bold]{ref.name}[/] (int id {ref.int_id})")
