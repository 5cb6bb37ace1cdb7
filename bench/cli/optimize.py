"""``ragft optimize``: search and freeze the prompt of each task (the ``prompt`` arm's artifact).

Example: ``ragft optimize configs/demo.toml --task minato_qa --strategy grid --budget 200``
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.cli import DataDir, app, console


@app.command()
def optimize(
    config: Annotated[Path, typer.Argument(help="experiment TOML file")],
    task: Annotated[list[str] | None, typer.Option("--task", help="only these tasks (repeatable; default all)")] = None,
    strategy: Annotated[str | None, typer.Option(help="grid | random | halving (default: prompt.strategy)")] = None,
    budget: Annotated[int | None, typer.Option(min=1, help="dev generations per task (default: prompt.budget)")] = None,
    dev_limit: Annotated[int | None, typer.Option(min=1, help="at most N dev items per task")] = None,
    force: Annotated[bool, typer.Option(help="search again even when a frozen artifact exists")] = False,
    data_dir: DataDir = None,
) -> None:
    """Search prompt templates on the dev split and freeze the best per task (cached)."""
    from bench.config import config_from_dict, load_config
    from bench.errors import RagftError
    from bench.optimize.search import optimize_task
    from tasks.readers import load_task

    cfg = load_config(config, data_dir=data_dir)
    if strategy is not None or budget is not None or dev_limit is not None:
        data = cfg.model_dump(mode="json")
        upd = {"strategy": strategy, "budget": budget, "dev_limit": dev_limit}
        data["prompt"].update({k: v for k, v in upd.items() if v is not None})
        for o in data["prompt"]["tasks"].values():  # command-line values win over per-task ones
            o.update({k: None for k, v in upd.items() if v is not None})
        cfg = config_from_dict(data, source=f"{cfg.source} (with command-line options)", base_dir=cfg.base_dir,
                              data_dir=cfg.data_dir)
    known = [t.name for t in cfg.tasks]
    for t in task or []:
        if t not in known:
            raise RagftError(f"--task: no task '{t}' in {cfg.source}; tasks there: {', '.join(known)}")
    for tc in cfg.tasks:
        if task and tc.name not in task:
            continue
        art, path, cached = optimize_task(cfg, load_task(tc, cfg), tc, console=console, force=force)
        how = "frozen earlier (cached)" if cached else f"searched in {art.wall_s:.1f} s"
        g = art.generations
        console.print(
            f"[bold]{tc.name}[/]: `{art.template.name}` dev {_f(art.dev_score)} vs base {_f(art.base_dev_score)} "
            f"on {len(art.dev_ids)} {art.dev_split} items; {g.get('requested', 0)} generations "
            f"({g.get('generated', 0)} new); {how}\n  artifact: {path}"
        )


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"
