"""MLflow tracking of a finished run (``[tracking] mlflow = true`` or ``ragft run --mlflow``).

One MLflow run per ``ragft run``: params from the resolved config (``config.json``, flattened),
metrics per task × arm (mean, CI bounds, n, failed, unscored, cost per query), the report files
and ``summary.json`` as artifacts, and tags for the model, backend, adapter hashes, git commit and
ragft run id. Works offline: the default tracking URI is a local store in ``./mlruns`` (SQLite
database + artifact folder; MLflow's plain-folder store is deprecated); ``$MLFLOW_TRACKING_URI``
or ``[tracking] uri`` wins. Needs the ``mlflow`` extra (``mlflow-skinny``: the client only).

Example: ``log_run(Path("reports/demo-1a2b3c4d"), TrackingSection(mlflow=True))``
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.config.tracking import TrackingSection
from bench.errors import MissingDependencyError, RagftError
from bench.report.decision import main_judge
from bench.types import AdapterSpec

DEFAULT_DIR = "mlruns"
ARTIFACTS = ("summary.json", "report.html", "report.md", "results.csv", "results.parquet", "config.json",
             "selection.json", "provenance.json")
MAX_PARAM = 6000  # MLflow's limit on a param value


def import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise MissingDependencyError("mlflow-skinny", "mlflow", "MLflow tracking ([tracking] mlflow / --mlflow)") from None
    return mlflow


def require_mlflow() -> None:
    """Fail before a run starts (not after it) when tracking is on and the extra is missing."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise MissingDependencyError("mlflow-skinny", "mlflow", "MLflow tracking ([tracking] mlflow / --mlflow)")


def default_uri(cwd: Path | None = None) -> str:
    """The local store: ``sqlite:///<cwd>/mlruns/mlflow.db`` (artifacts in ``mlruns/artifacts``)."""
    root = (cwd or Path.cwd()).resolve() / DEFAULT_DIR
    return f"sqlite:///{root / 'mlflow.db'}"


def flatten(d: Any, prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"model.id": "...", "tasks.0.name": "..."}`` (values as strings)."""
    out: dict[str, str] = {}
    if isinstance(d, Mapping):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, Mapping) for x in d):
        for i, v in enumerate(d):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        text = d if isinstance(d, str) else json.dumps(d, ensure_ascii=False)
        out[prefix.rstrip(".")] = text[:MAX_PARAM]
    return out


def metric_key(*parts: str) -> str:
    """MLflow allows letters, digits, ``_ - . / :`` and spaces in names: ``rag+lora`` -> ``rag_lora``."""
    return ".".join(re.sub(r"[^A-Za-z0-9_\-/: ]", "_", p) for p in parts)


def run_metrics(record: dict[str, Any], judge: str | None) -> dict[str, float]:
    """``<task>.<arm>.<name>`` (``<task>.<arm>.<judge>.<name>`` for other judges) from summary.json."""
    out: dict[str, float] = {}
    for s in record.get("summaries", []):
        parts = [s["task"], s["arm"]] + ([] if s["judge"] == judge else [s["judge"]])
        vals: dict[str, float | None] = {
            "mean": s.get("mean"), "ci_low": s.get("ci_low"), "ci_high": s.get("ci_high"), "n": s["n"],
            "failed": s["n_failed"], "unscored": s["n_unscored"],
            "cost_per_query": s.get("cost", {}).get("per_query_money"),
        }
        for name, v in vals.items():
            if v is not None:
                out[metric_key(*parts, name)] = float(v)
    return out


def log_run(
    run_dir: Path, settings: TrackingSection, *, adapters: Mapping[str, AdapterSpec] | None = None,
    cwd: Path | None = None,
) -> str:
    """Log the finished run in ``run_dir`` to MLflow; returns the MLflow run id."""
    mlflow = import_mlflow()
    record_path = run_dir / "summary.json"
    if not record_path.is_file():
        raise RagftError(f"{run_dir}: no summary.json to log to MLflow")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    config: dict[str, Any] = record.get("config", {})
    provenance: dict[str, Any] = record.get("provenance", {})
    uri = settings.uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    artifact_location: str | None = None
    if uri is None:
        uri = default_uri(cwd)
        root = Path(uri[len("sqlite:///"):]).parent
        root.mkdir(parents=True, exist_ok=True)
        artifact_location = (root / "artifacts").as_uri()
    client = mlflow.MlflowClient(tracking_uri=uri)
    try:
        exp = client.get_experiment_by_name(settings.experiment)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(
            settings.experiment, artifact_location=artifact_location
        )
        model = config.get("model", {})
        tags = {
            "ragft.run_id": record.get("run_id", run_dir.name),
            "ragft.run_dir": str(run_dir.resolve()),
            "model": str(model.get("id", "")),
            "backend": str(model.get("backend", "")),
            "git_commit": str(provenance.get("git", {}).get("commit") or "unknown"),
            "git_dirty": str(provenance.get("git", {}).get("dirty")),
        }
        for name, spec in sorted((adapters or {}).items()):
            tags[f"adapter.{name}.sha256"] = spec.sha256
        run = client.create_run(exp_id, run_name=str(record.get("run_id", run_dir.name)), tags=tags)
        rid: str = run.info.run_id
        from mlflow.entities import Metric, Param

        params = [Param(k, v) for k, v in sorted(flatten(config).items())]
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k, v in sorted(run_metrics(record, main_judge(record)).items())]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            client.log_batch(rid, params=params[i : i + 100])
        for i in range(0, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[i : i + 1000])
        for name in ARTIFACTS:
            if (run_dir / name).is_file():
                client.log_artifact(rid, str(run_dir / name))
        client.set_terminated(rid)
    except Exception as e:  # server down, bad URI, permissions: the run itself is finished and saved
        if isinstance(e, RagftError):
            raise
        raise RagftError(f"MLflow tracking at {uri}: {type(e).__name__}: {e}") from None
    return rid
