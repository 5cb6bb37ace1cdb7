"""Flat result rows — one per (task, arm, item, judge) — from a run directory, as a pandas
DataFrame (``rows_frame``) and its exports ``results.csv`` and ``results.parquet``.

Example: ``rows = load_rows(RunData.load(Path("reports/demo-1a2b3c4d"))); write_exports(run_dir, rows)``
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report.rundata import RunData
from bench.store.disk import atomic_write

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BASE_COLUMNS = [
    "task", "kind", "arm", "example_id", "judge", "score", "failed", "error", "prompt_tokens",
    "output_tokens", "latency_s", "device_s", "cached", "finish_reason", "question", "reference", "answer", "hits",
]


def load_rows(rd: RunData) -> list[dict[str, Any]]:
    """Every (task, arm, item, judge) of the run's selection; failed items have ``failed=True`` and
    no score, unscored ones ``score=None`` (never 0). A failed item with no grade gets one row with
    ``judge=""``."""
    selection = rd.selection
    examples = rd.examples
    preds = rd.predictions
    grades = rd.grades
    judges = sorted({g.judge for g in grades.values()})
    rows: list[dict[str, Any]] = []
    for task, sel in selection.items():
        for arm in sel.arms:
            for eid in sel.examples:
                ex = examples.get(task, {}).get(eid, {})
                p = preds.get((task, arm, eid))
                c = p.completion if p is not None else None
                base: dict[str, Any] = {
                    "task": task, "kind": sel.kind, "arm": arm, "example_id": eid,
                    "failed": c is None,
                    "error": (p.error if p is not None else "missing prediction") if c is None else None,
                    "prompt_tokens": c.prompt_tokens if c else None,
                    "output_tokens": c.output_tokens if c else None,
                    "latency_s": c.latency_s if c else None,
                    "device_s": c.device_s if c else None,
                    "cached": c.cached if c else None,
                    "finish_reason": c.finish_reason if c else None,
                    "question": ex.get("question", ""), "reference": ex.get("reference"),
                    "answer": c.text if c else None,
                    "hits": list(p.hits) if p is not None else [],
                }
                made = False
                for judge in judges:
                    g = grades.get((task, arm, eid, judge))
                    if c is not None and (g is None or p is None or g.prediction_key != p.request_key):
                        g = None  # stale or missing grade: unscored
                    if g is None and c is None:
                        continue
                    row = dict(base, judge=judge, score=g.score if g else None)
                    if g is not None:
                        if g.error and row["error"] is None:
                            row["error"] = g.error
                        for k, v in g.metrics.items():
                            row[f"metric_{k}"] = v
                    rows.append(row)
                    made = True
                if not made:
                    rows.append(dict(base, judge="", score=None))
    return rows


def columns(rows: list[dict[str, Any]]) -> list[str]:
    extra = sorted({k for r in rows for k in r if k not in BASE_COLUMNS})
    return BASE_COLUMNS + extra


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame with stable dtypes: ``score`` float (NaN = no score), token counts
    nullable ``Int64``, ``failed``/``cached`` booleans, ``hits`` lists of passage ids."""
    import pandas as pd

    cols = columns(rows)
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols)
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype("float64")
    for c in ("prompt_tokens", "output_tokens"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    df["latency_s"] = pd.to_numeric(df["latency_s"], errors="coerce").astype("float64")
    df["failed"] = df["failed"].astype(bool)
    df["cached"] = df["cached"].astype("boolean")
    for c in cols:
        if c.startswith("metric_"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df["hits"] = [list(h) if isinstance(h, list | tuple) else [] for h in df["hits"]]
    return df


def write_exports(run_dir: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """Write ``results.csv`` and ``results.parquet`` (pandas + pyarrow); returns the paths.

    In the CSV an empty score is a failed or unscored item (never 0) and ``hits`` is a JSON list."""
    df = rows_frame(rows)
    out = [run_dir / "results.csv", run_dir / "results.parquet"]
    csv_df = df.assign(hits=[json.dumps(h, ensure_ascii=False) for h in df["hits"]])
    atomic_write(out[0], csv_df.to_csv(index=False, na_rep=""))
    tmp = run_dir / ".results.parquet.tmp"
    df.to_parquet(tmp, index=False, engine="pyarrow")
    tmp.replace(out[1])
    return out
