"""Flat result rows — one per (task, arm, item, judge) — from a run directory, and their exports
(``results.csv`` always, ``results.parquet`` when pyarrow is installed).

Example: ``rows = load_rows(RunData.load(Path("reports/demo-1a2b3c4d"))); write_exports(run_dir, rows)``
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from bench.report.rundata import RunData

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


def write_exports(run_dir: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """Write ``results.csv`` (and ``results.parquet`` if pyarrow is importable); returns the paths."""
    cols = columns(rows)
    out = [run_dir / "results.csv"]
    tmp = run_dir / ".results.csv.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(r[k], ensure_ascii=False) if k == "hits" else r.get(k)) for k in cols})
    tmp.replace(out[0])
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return out
    table = pa.Table.from_pylist([{k: r.get(k) for k in cols} for r in rows])
    pq.write_table(table, run_dir / "results.parquet")
    out.append(run_dir / "results.parquet")
    return out
