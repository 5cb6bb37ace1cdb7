"""The Python API (``ragft.run`` / ``ragft.load_run`` / ``Run``) on a finished three-arm run of the
scripted backend, checked against the run's own ``summary.json`` and ``results.parquet``; the
MLflow round trip through a real local MLflow store; ``ragft open``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ragft
from bench.errors import RagftError
from tests.unit.test_report import ArmBackend, arms, make_data  # noqa: F401  (arms: fixture)

ROOT = Path(__file__).resolve().parents[2]


def three_arm_run(tmp_path: Path, fail: set[str] | None = None) -> ragft.Run:
    cfg = make_data(tmp_path / "data")
    backend = ArmBackend({
        "base": lambda e: "四百円" if int(e[-2:]) % 4 == 0 else "わかりません",
        "noshots": lambda e: "四百円" if e != "te-05" else "五百円",
        "twin": lambda e: "四百円" if int(e[-2:]) % 2 == 0 else "五百円",
    })
    backend.fail = fail or set()
    return ragft.run(cfg, backend=backend, output_dir=tmp_path / "out")


def test_items_shape_dtypes_and_agreement_with_summary(tmp_path: Path, arms: None) -> None:  # noqa: F811
    run = three_arm_run(tmp_path, fail={"te-03"})
    items = run.items()
    assert items.shape[0] == 3 * 24  # one judge (reference): one row per task, arm and item
    assert list(items.columns[:10]) == ["task", "arm", "example", "judge", "score", "failed", "unscored",
                                        "tokens", "latency", "hits"]
    assert items["score"].dtype == "float64" and items["failed"].dtype == bool and items["unscored"].dtype == bool
    assert str(items["tokens"].dtype) == "Int64" and items["latency"].dtype == "float64"
    assert all(isinstance(h, list) for h in items["hits"])
    assert items.loc[items.arm == "noshots", "hits"].map(len).eq(1).all()
    failed = items[items.failed]
    assert len(failed) == 3 and failed["score"].isna().all() and not failed["unscored"].any()  # never a 0
    assert failed["tokens"].isna().all()

    summary = run.summary()
    record = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    assert summary.shape[0] == len(record["summaries"]) == 3
    assert {"task", "arm", "judge", "mean", "ci_low", "ci_high", "n", "n_failed", "n_unscored",
            "cost_per_query_money", "cost_fixed_money", "metric_exact_match"} <= set(summary.columns)
    assert summary["mean"].dtype == "float64" and summary["n"].dtype == "int64"
    means = items.groupby(["task", "arm", "judge"])["score"].mean()
    for s in record["summaries"]:
        key = (s["task"], s["arm"], s["judge"])
        rows = items[(items.task == s["task"]) & (items.arm == s["arm"]) & (items.judge == s["judge"])]
        assert means[key] == pytest.approx(s["mean"])
        assert (rows.example.nunique(), int(rows.failed.sum()), int(rows.unscored.sum())) == (
            s["n"], s["n_failed"], s["n_unscored"])
        row = summary[(summary.task == s["task"]) & (summary.arm == s["arm"])].iloc[0]
        assert row["mean"] == pytest.approx(s["mean"]) and row["ci_low"] == pytest.approx(s["ci_low"])

    # the parquet export is the same table
    pq = pd.read_parquet(run.path / "results.parquet")
    assert len(pq) == len(items) and pq["score"].dtype == "float64"
    assert pq["score"].isna().sum() == items["score"].isna().sum()


def test_paired_is_oriented_b_minus_a(tmp_path: Path, arms: None) -> None:  # noqa: F811
    run = three_arm_run(tmp_path)
    record = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    stored = next(p for p in record["paired_diffs"] if (p["arm_a"], p["arm_b"]) == ("base", "noshots"))
    p = run.paired("qa", "base", "noshots")
    assert (p.diff, p.ci_low, p.ci_high, p.p_holm, p.n) == (
        stored["diff"], stored["ci_low"], stored["ci_high"], stored["p_holm"], stored["n"])
    assert p.significant and p.diff is not None and p.diff > 5
    q = run.paired("qa", "noshots", "base")
    assert q.diff == -p.diff and q.ci_low == -stored["ci_high"] and q.mean_a == p.mean_b
    with pytest.raises(RagftError, match="no paired comparison of arms 'base' and 'rag'"):
        run.paired("qa", "base", "rag")
    assert run.report_path == run.path / "report.html"
    again = ragft.load_run(run.path)
    assert again.summary().equals(run.summary())


def test_load_run_errors(tmp_path: Path) -> None:
    with pytest.raises(RagftError, match="no such run folder"):
        ragft.load_run(tmp_path / "nope")
    with pytest.raises(RagftError, match="not a ragft run folder"):
        ragft.load_run(tmp_path)
    (tmp_path / "summary.json").write_text('{"run_id": "x", "summaries": [], "paired_diffs": []}', encoding="utf-8")
    assert ragft.load_run(tmp_path).summary().empty
    with pytest.raises(RagftError, match="summary.json alone"):
        ragft.load_run(tmp_path).items()
    with pytest.raises(RagftError, match="unknown override"):
        ragft.run({"tasks": []}, limits=3)


def test_mlflow_round_trip(tmp_path: Path, arms: None, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A real local MLflow store (sqlite + artifact folder in ./mlruns), read back with search_runs."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = make_data(tmp_path / "data")
    backend = ArmBackend({"base": lambda e: "わかりません", "noshots": lambda e: "四百円", "twin": lambda e: "四百円"})
    run = ragft.run(cfg, backend=backend, output_dir=tmp_path / "out", mlflow=True)
    record = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    df = mlflow.search_runs(experiment_names=["ragft"])
    assert len(df) == 1
    got = df.iloc[0]
    assert got["tags.ragft.run_id"] == "m1" and got["tags.model"] == "MODEL" and got["status"] == "FINISHED"
    assert got["tags.git_commit"] == record["provenance"]["git"]["commit"]
    assert got["params.model.id"] == "MODEL" and got["params.tasks.0.name"] == "qa"
    assert got["params.report.language"] == "both"
    for s in record["summaries"]:
        assert got[f"metrics.qa.{s['arm']}.mean"] == pytest.approx(s["mean"])
        assert got[f"metrics.qa.{s['arm']}.ci_low"] == pytest.approx(s["ci_low"])
        assert got[f"metrics.qa.{s['arm']}.n"] == s["n"] and got[f"metrics.qa.{s['arm']}.failed"] == 0
    client = mlflow.MlflowClient(tracking_uri=uri)
    names = {a.path for a in client.list_artifacts(got["run_id"])}
    assert {"summary.json", "report.html", "report.md", "results.parquet"} <= names
    local = client.download_artifacts(got["run_id"], "summary.json", str(tmp_path / "dl"))
    assert json.loads(Path(local).read_text(encoding="utf-8"))["run_id"] == "m1"
    assert (tmp_path / "mlruns" / "artifacts").is_dir()

    # MLFLOW_TRACKING_URI is honoured: a second store elsewhere gets the next run
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{other / 'm.db'}")
    from bench.config import TrackingSection
    from bench.tracking import log_run

    log_run(run.path, TrackingSection(mlflow=True, experiment="second"))
    assert len(mlflow.search_runs(experiment_names=["ragft"])) == 1  # the first store is unchanged
    mlflow.set_tracking_uri(f"sqlite:///{other / 'm.db'}")
    assert len(mlflow.search_runs(experiment_names=["second"])) == 1


def test_mlflow_missing_is_actionable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from bench.config import TrackingSection
    from bench.errors import MissingDependencyError
    from bench.tracking import log_run

    real = builtins.__import__

    def no_mlflow(name: str, *a: object, **k: object) -> object:
        if name == "mlflow" or name.startswith("mlflow."):
            raise ImportError(name)
        return real(name, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_mlflow)
    with pytest.raises(MissingDependencyError, match=r"pip install 'ragft\[mlflow\]'"):
        log_run(tmp_path, TrackingSection(mlflow=True))


def test_open_prints_the_report_path(tmp_path: Path, arms: None) -> None:  # noqa: F811
    run = three_arm_run(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BROWSER": "true"}  # `true` accepts the URL and exits
    r = subprocess.run([sys.executable, "-m", "bench", "open", "--runs-dir", str(tmp_path / "out")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().replace("\n", "") == str((run.path / "report.html").resolve())
    (run.path / "report.html").unlink()
    r = subprocess.run([sys.executable, "-m", "bench", "open", str(run.path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0 and "report.md" in r.stdout and "no report.html" in r.stdout
    r = subprocess.run([sys.executable, "-m", "bench", "open", str(tmp_path / "none")], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 2 and "no such run directory" in " ".join(r.stderr.split()) and "Traceback" not in r.stderr


def test_decision_grid_matches_summary_and_leads_the_page(tmp_path: Path, arms: None) -> None:  # noqa: F811
    import warnings

    from bench.report.decision import grid_cells
    from bench.report.html import plots
    from bench.report.recommend import analyse
    from bench.report.rundata import RunData

    run = three_arm_run(tmp_path)
    record = json.loads((run.path / "summary.json").read_text(encoding="utf-8"))
    a = analyse(RunData.load(run.path))
    cells = {(c.task, c.arm): c for c in grid_cells(a)}
    assert set(cells) == {("qa", "base"), ("qa", "noshots"), ("qa", "twin")}
    assert cells[("qa", "base")].diff == 0.0
    pairs = {(p["arm_a"], p["arm_b"]): p for p in record["paired_diffs"]}
    cost = {s["arm"]: s["cost"]["per_query_money"] for s in record["summaries"]}
    for arm in ("noshots", "twin"):
        stored, c = pairs[("base", arm)], cells[("qa", arm)]
        assert (c.diff, c.ci_low, c.ci_high, c.p_holm, c.significant) == (
            stored["diff"], stored["ci_low"], stored["ci_high"], stored["p_holm"], stored["significant"])
        assert c.cost_per_1k == pytest.approx(cost[arm] * 1000)
    assert cells[("qa", "noshots")].significant and cells[("qa", "noshots")].diff > 5
    # Run.grid() (from summary.json) holds the same values as the picture (from the run's files)
    grid = run.grid().set_index(["task", "arm"])
    for key, c in cells.items():
        row = grid.loc[key]
        assert (row["diff"], row["significant"], row["cost_per_1k"]) == (c.diff, c.significant, c.cost_per_1k)
        assert row["ci_low"] == c.ci_low or (c.ci_low is None and pd.isna(row["ci_low"]))
    assert ragft.load_run(run.path).grid().pivot(index="task", columns="arm", values="diff").shape == (1, 3)

    html = (run.path / "report.html").read_text(encoding="utf-8")
    body = html[html.index("<body>"):]
    # the grid picture and the decision lines come before any table or other picture
    assert body.index('id="decision-grid"') < body.index('id="decisions"') < body.index("<table")
    assert body.index("data:image/png") > body.index('id="decision-grid"')
    choice = a.recommendations[0].choice
    decisions = body[body.index('id="decisions"'):body.index('id="recommendation"')]
    assert f"<b>qa</b> → <strong>{choice}</strong>" in decisions
    # language "both": English reasoning open, the Japanese folded in <details>
    folded = body[body.index('<details class="other-lang" lang="ja">'):]
    assert a.recommendations[0].ja[:20] in folded.split("</details>")[0]
    assert a.recommendations[0].ja[:20] not in body[:body.index('<details class="other-lang"')]
    # Japanese text is drawn with the bundled font: no glyph is missing
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
        assert set(plots(a)) >= {"grid", "forest", "distributions"}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_report_language_opens_one_and_folds_or_drops_the_other(tmp_path: Path, arms: None, language: str) -> None:  # noqa: F811
    from bench.report.writer import write_reports

    run = three_arm_run(tmp_path)
    cfg = json.loads((run.path / "config.json").read_text(encoding="utf-8"))
    cfg["report"]["language"] = language
    (run.path / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    write_reports(run.path)
    body = (run.path / "report.html").read_text(encoding="utf-8").split("<body>")[1]
    decisions = body[body.index('id="decisions"'):body.index('id="recommendation"')]
    if language == "ja":
        assert "有意" in decisions and "significant" not in decisions
        assert "推奨の理由" in body and "を選びます" in body and "<details class=\"other-lang\"" not in body
    else:
        assert "significant" in decisions and "有意" not in decisions
        assert "By the rule, choose" in body and "を選びます" not in body
