"""Recording what arms spend: fixed costs (index build, LoRA training, prompt search, engine start)
and per-query costs outside the completion (retrieval), into the run's ``costs.json``.

``task=None`` means the cost is shared by every task of the run (e.g. one adapter for all tasks).
Re-recording the same (arm, task, kind) replaces the earlier entry, so cached, idempotent
``prepare`` steps record the original build time again without double counting.

Example: ``record_fixed_cost(run_dir, arm="lora", task=None, kind="lora_training", seconds=31.0, device="cpu")``
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from bench.store.files import COSTS, CostsFile, FixedCost, QueryCost, read_model, update_model


def current_device() -> str:
    """``cuda`` when a GPU is visible to torch, else ``cpu`` (for recording where a cost was paid)."""
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_seconds(seconds: float) -> None:
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")


def record_fixed_cost(
    run_dir: Path | str,
    arm: str,
    task: str | None,
    kind: str,
    seconds: float,
    device: str,
    *,
    generations: int | None = None,
    note: str = "",
) -> None:
    """Record a one-off cost of ``arm`` (``task=None``: shared by all tasks) into ``costs.json``.

    ``kind`` names it (``index_build``, ``lora_training``, ``prompt_search`` …); ``device`` is
    where it ran (``cpu``, ``cuda``, ``NVIDIA H100`` …); ``generations`` counts model calls spent
    (prompt search)."""
    _check_seconds(seconds)
    entry = FixedCost(arm=arm, task=task, kind=kind, seconds=float(seconds), device=device,
                      generations=generations, note=note, recorded=_now())

    def change(data: CostsFile) -> None:
        data.fixed = [e for e in data.fixed if (e.arm, e.task, e.kind) != (arm, task, kind)] + [entry]

    update_model(Path(run_dir) / COSTS, CostsFile, change)


def record_query_cost(
    run_dir: Path | str, arm: str, task: str | None, kind: str, seconds: float, queries: int,
    device: str,
) -> None:
    """Record per-query time outside the completion (e.g. retrieval): ``seconds`` over ``queries``."""
    if queries < 1:
        raise ValueError(f"queries must be >= 1, got {queries!r}")
    _check_seconds(seconds)
    entry = QueryCost(arm=arm, task=task, kind=kind, seconds=float(seconds), queries=int(queries),
                      device=device, recorded=_now())

    def change(data: CostsFile) -> None:
        data.per_query = [e for e in data.per_query if (e.arm, e.task, e.kind) != (arm, task, kind)] + [entry]

    update_model(Path(run_dir) / COSTS, CostsFile, change)


def read_costs(run_dir: Path | str) -> CostsFile:
    """The run's ``costs.json`` (empty lists when nothing was recorded)."""
    return read_model(Path(run_dir) / COSTS, CostsFile) or CostsFile()
