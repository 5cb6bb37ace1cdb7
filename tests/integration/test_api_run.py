"""``ragft.run`` end to end on the tiny Llama (hf backend, three tasks): the DataFrames of the
finished run against its ``summary.json`` and ``results.parquet``, and the same run logged to a
real local MLflow store and read back with ``mlflow.search_runs``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ragft
from tests.fixture_data import make_tasks

pytestmark = pytest.mark.slow


def test_api_on_a_tiny_model_run_and_mlflow(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = make_tasks(tmp_path / "data")
    cfg.write_text(cfg.read_text().replace('id = "MODEL"', f'id = "{tiny_model}"\nbatch_size = 4')
                   + '\n[sampling]\nmax_new_tokens = 6\n[tracking]\nmlflow = true\nexperiment = "tiny"\n')
    run = ragft.run(cfg, output_dir=tmp_path / "out")
    record = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))

    items = run.items()
    assert items.shape[0] == 4 + 1 + 5  # qa, doc, choice items; one judge; base arm
    assert set(items.task) == {"qa", "doc", "choice"} and set(items.arm) == {"base"}
    assert items.dtypes["score"] == "float64" and str(items.dtypes["failed"]) == "bool"
    assert str(items.dtypes["tokens"]) == "Int64" and (items["tokens"] > 0).all()
    assert (items["tokens"] == items["prompt_tokens"] + items["output_tokens"]).all()
    assert items["answer"].map(lambda a: isinstance(a, str)).all()
    summary = run.summary()
    assert summary.shape[0] == len(record["summaries"]) == 3
    for s in record["summaries"]:
        rows = items[(items.task == s["task"]) & (items.judge == s["judge"])]
        assert rows.score.mean() == pytest.approx(s["mean"])
        assert (len(rows), int(rows.failed.sum()), int(rows.unscored.sum())) == (s["n"], s["n_failed"], s["n_unscored"])
        got = summary.set_index("task").loc[s["task"]]
        assert (got["mean"], got["n"]) == (pytest.approx(s["mean"]), s["n"])
    pq = pd.read_parquet(run.path / "results.parquet")
    assert pq["answer"].tolist() == items["answer"].tolist()

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    (got_run,) = [r for _, r in mlflow.search_runs(experiment_names=["tiny"]).iterrows()]
    assert got_run["tags.model"] == str(tiny_model) and got_run["tags.backend"] == "hf"
    assert got_run["params.sampling.max_new_tokens"] == "6"
    for s in record["summaries"]:
        assert got_run[f"metrics.{s['task']}.base.mean"] == pytest.approx(s["mean"])
        assert got_run[f"metrics.{s['task']}.base.n"] == s["n"]
