"""``ragft.run`` / ``ragft.load_run`` and the ``Run`` they return: a finished run folder as pandas.

``Run.items()`` reads the run folder's predictions and grades (one row per task, arm, item and
judge); ``Run.summary()`` and ``Run.paired()`` read ``summary.json``, so they agree with the report.

Example: ``ragft.load_run("reports/demo-1a2b3c4d").summary()[["task", "arm", "mean"]]``
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.errors import RagftError

if TYPE_CHECKING:
    import pandas as pd

    from bench.config import ExperimentConfig

# Run.items(): these first, in this order, then the rest of results.csv's columns
ITEM_COLUMNS = ["task", "arm", "example", "judge", "score", "failed", "unscored", "tokens", "latency", "hits"]
SUMMARY_COLUMNS = ["task", "arm", "judge", "mean", "ci_low", "ci_high", "n", "n_failed", "n_unscored"]


@dataclass(frozen=True)
class Paired:
    """``b − a`` on the items both arms scored, as in the report (Holm-adjusted within the task)."""

    task: str
    judge: str
    a: str
    b: str
    n: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p_holm: float
    significant: bool


class Run:
    """A run folder (``reports/<run-id>/``) written by ``ragft run``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not any((self.path / f).is_file() for f in ("selection.json", "summary.json")):
            raise RagftError(f"{self.path}: not a ragft run folder (no selection.json or summary.json)")

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def report_path(self) -> Path | None:
        """``report.html``, else ``report.md``; None before the run has a report."""
        for name in ("report.html", "report.md"):
            if (self.path / name).is_file():
                return self.path / name
        return None

    @cached_property
    def record(self) -> dict[str, Any]:
        """``summary.json`` as written by the report stage."""
        p = self.path / "summary.json"
        if not p.is_file():
            raise RagftError(f"{self.path}: no summary.json yet; write it with `ragft report {self.path}`")
        data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
        return data

    @property
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = self.record.get("config", {})
        return cfg

    def items(self) -> pd.DataFrame:
        """One row per (task, arm, item, judge). ``score`` is float (NaN when there is none),
        ``failed`` (generation failed: no score, never 0) and ``unscored`` (answered but not
        graded) are bool, ``tokens`` (prompt + output) is Int64, ``latency`` seconds, ``hits``
        the retrieved passage ids. The other columns of ``results.csv`` follow."""
        from bench.report.results import load_rows, rows_frame
        from bench.report.rundata import RunData

        if not (self.path / "selection.json").is_file():
            raise RagftError(f"{self.path}: has no per-item files (selection.json, predictions.jsonl): "
                             "summary(), grid() and paired() work from summary.json alone")
        df = rows_frame(load_rows(RunData.load(self.path)))
        df = df.rename(columns={"example_id": "example", "latency_s": "latency"})
        df["unscored"] = ~df["failed"] & df["score"].isna()
        df["tokens"] = (df["prompt_tokens"] + df["output_tokens"]).astype("Int64")
        rest = [c for c in df.columns if c not in ITEM_COLUMNS]
        return df[ITEM_COLUMNS + rest].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """One row per (task, arm, judge) from ``summary.json``: mean, 95% CI, n, failed and
        unscored counts, then the cost figures (``cost_*``, money in the run's currency) and the
        per-metric means (``metric_*``)."""
        import pandas as pd

        rows = []
        for s in self.record.get("summaries", []):
            row = {k: s.get(k) for k in SUMMARY_COLUMNS}
            row.update({f"cost_{k}": v for k, v in s.get("cost", {}).items()})
            row.update({f"metric_{k}": v for k, v in s.get("metrics", {}).items()})
            rows.append(row)
        df = pd.DataFrame(rows, columns=None if rows else SUMMARY_COLUMNS)
        for c in ("mean", "ci_low", "ci_high"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        for c in ("n", "n_failed", "n_unscored"):
            df[c] = df[c].astype("int64")
        return df

    def grid(self) -> pd.DataFrame:
        """The report's decision grid, one row per (task, arm) of the main judge: ``diff`` is
        arm − base on the same items (0 for base), its 95% CI, Holm p, ``significant``, and
        ``cost_per_1k`` (running cost of 1,000 queries). Pivot it:
        ``run.grid().pivot(index="task", columns="arm", values="diff")``."""
        import pandas as pd

        from bench.report.decision import GridCell, cells_from_record

        cols = list(GridCell.__dataclass_fields__)
        return pd.DataFrame([asdict(c) for c in cells_from_record(self.record)], columns=cols)

    def paired(self, task: str, a: str, b: str, judge: str | None = None) -> Paired:
        """The paired difference ``b − a`` of two arms on ``task`` (the report's main judge when
        ``judge`` is None)."""
        pairs = [p for p in self.record.get("paired_diffs", []) if p["task"] == task]
        if judge is None:
            from bench.report.decision import main_judge

            judge = main_judge(self.record) or "reference"
        for p in pairs:
            if p["judge"] != judge:
                continue
            if (p["arm_a"], p["arm_b"]) == (a, b):
                return _paired(p, a, b, 1)
            if (p["arm_a"], p["arm_b"]) == (b, a):
                return _paired(p, a, b, -1)
        known = sorted({(p["arm_a"], p["arm_b"]) for p in pairs})
        raise RagftError(
            f"{self.path}: no paired comparison of arms {a!r} and {b!r} on task {task!r} (judge {judge!r}); "
            f"pairs there: {', '.join(f'{x}/{y}' for x, y in known) or 'none'}"
        )


def _paired(p: dict[str, Any], a: str, b: str, sign: int) -> Paired:
    def neg(x: float | None) -> float | None:
        return None if x is None else -x

    diff, lo, hi = p["diff"], p["ci_low"], p["ci_high"]
    ma, mb = p["mean_a"], p["mean_b"]
    if sign == -1:
        diff, lo, hi, ma, mb = neg(diff), neg(hi), neg(lo), mb, ma
    return Paired(task=p["task"], judge=p["judge"], a=a, b=b, n=p["n"], mean_a=ma, mean_b=mb, diff=diff,
                  ci_low=lo, ci_high=hi, p_holm=p["p_holm"], significant=p["significant"])


def load_run(path: str | Path) -> Run:
    """A finished (or interrupted) run folder; ``ragft.load_run("reports/demo-1a2b3c4d")``."""
    p = Path(path)
    if not p.is_dir():
        raise RagftError(f"{p}: no such run folder")
    return Run(p)


def run(config: str | Path | dict[str, Any] | ExperimentConfig, **overrides: Any) -> Run:
    """Run an experiment as ``ragft run`` does and return the finished ``Run``.

    ``config`` is a TOML path, a dict in the TOML's shape or an ``ExperimentConfig``. Overrides:
    ``limit``, ``tasks``, ``arms``, ``output_dir``, ``data_dir``, ``mlflow`` (bool), ``verbose``
    (bool: show the backend's own log lines), ``backend`` (a constructed backend, for tests)."""
    from bench.config import ExperimentConfig, config_from_dict, load_config
    from bench.engine.runner import Runner

    known = {"limit", "tasks", "arms", "output_dir", "data_dir", "mlflow", "verbose", "backend"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise RagftError(f"ragft.run: unknown override(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    data_dir = overrides.pop("data_dir", None)
    if isinstance(config, ExperimentConfig):
        cfg = config
    elif isinstance(config, dict):
        cfg = config_from_dict(config, data_dir=data_dir)
    else:
        cfg = load_config(config, data_dir=data_dir)
    out = overrides.pop("output_dir", None)
    result = Runner(cfg, output_dir=Path(out) if out is not None else None, **overrides).run()
    return Run(result.run_dir)
