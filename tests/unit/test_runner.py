"""Runner, store and summary logic with the scripted backend (real backends have their own tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from tests.fixture_data import make_tasks


def run(cfg_path: Path, backend: ScriptedBackend, out: Path, **kw: object) -> object:
    return Runner(load_config(cfg_path), backend=backend, output_dir=out, **kw).run()  # type: ignore[arg-type]


def test_run_writes_everything_and_resumes(tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    b = ScriptedBackend(answers={"q-te-0": "四百円", "q-te-1": "四百円", "doc-1": "四百円\n環境課"}, default="x")
    r = run(cfg, b, tmp_path / "out")
    d = tmp_path / "out" / "t1"
    for f in ("config.json", "provenance.json", "predictions.jsonl", "grades.jsonl", "summary.json", "report.md", "selection.json"):
        assert (d / f).is_file(), f
    assert r.generated == 4 + 1 + 5  # type: ignore[attr-defined]
    summary = {(s["task"], s["arm"]): s for s in json.loads((d / "summary.json").read_text())["summaries"]}
    assert summary[("qa", "base")]["n"] == 4
    assert summary[("qa", "base")]["metrics"]["exact_match"] == 0.5
    assert summary[("doc", "base")]["mean"] == 10.0
    # second run: nothing generated, nothing regraded
    b2 = ScriptedBackend(default="SHOULD NOT BE USED")
    r2 = run(cfg, b2, tmp_path / "out")
    assert b2.calls == []
    assert r2.generated == 0 and r2.resumed == 10 and r2.graded == 0  # type: ignore[attr-defined]
    report = (d / "report.md").read_text()
    assert "| qa | qa | base |" in report and "Provenance" in report


def test_failures_are_counted_not_zeroed(tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    b = ScriptedBackend(answers={"q-te-0": "四百円"}, fail={"q-te-1", "q-te-2"}, default="x")
    run(cfg, b, tmp_path / "out", tasks=["qa"])
    s = json.loads((tmp_path / "out" / "t1" / "summary.json").read_text())["summaries"][0]
    assert s["n"] == 4 and s["n_failed"] == 2 and s["n_unscored"] == 0
    # mean over the two scored items only: one exact (10) and one 'x' (char_f1 0)
    assert s["mean"] == 5.0
    # a resume retries the failed items and only those
    b2 = ScriptedBackend(answers={"q-te-1": "四百円", "q-te-2": "四百円"})
    run(cfg, b2, tmp_path / "out", tasks=["qa"])
    assert sorted(b2.calls) == ["qa/base/q-te-1", "qa/base/q-te-2"]
    s = json.loads((tmp_path / "out" / "t1" / "summary.json").read_text())["summaries"][0]
    assert s["n_failed"] == 0 and s["mean"] == 7.5


def test_generation_cache_serves_another_run(tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    run(cfg, ScriptedBackend(default="x"), tmp_path / "out1", tasks=["choice"])
    b = ScriptedBackend(default="never")
    r = run(cfg, b, tmp_path / "out2", tasks=["choice"])
    assert b.calls == [] and r.from_cache == 5  # type: ignore[attr-defined]


def test_few_shot_items_are_never_evaluated(tmp_path: Path) -> None:
    import pytest

    from bench.errors import RagftError

    cfg = make_tasks(tmp_path / "data")
    text = cfg.read_text().replace('few_shots = 2', 'few_shots = 2\nsplit = "train"')
    cfg.write_text(text)
    with pytest.raises(RagftError, match="few-shot"):
        run(cfg, ScriptedBackend(), tmp_path / "out", tasks=["choice"])


def test_limit_and_selection(tmp_path: Path) -> None:
    cfg = make_tasks(tmp_path / "data")
    b = ScriptedBackend(default="x")
    run(cfg, b, tmp_path / "out", limit=2)
    assert len(b.calls) == 2 + 1 + 2


def test_identical_requests_across_arms_are_generated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import registry

    monkeypatch.setitem(registry.TABLES["arm"], "same", registry.Entry("bench.arms.base:BaseArm", "test-only"))
    cfg = make_tasks(tmp_path / "data")
    cfg.write_text(cfg.read_text().replace('arms = ["base"]', 'arms = ["base", "same"]'))
    b = ScriptedBackend(default="x")
    r = run(cfg, b, tmp_path / "out", tasks=["choice"])
    assert len(b.calls) == 5 and r.generated == 5 and r.from_cache == 5  # type: ignore[attr-defined]
    preds = [json.loads(x) for x in (tmp_path / "out" / "t1" / "predictions.jsonl").read_text().splitlines()]
    assert sorted({p["arm"] for p in preds}) == ["base", "same"] and len(preds) == 10


def test_no_cache_regenerates_and_overwrites_the_cache(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import bench.cli.run  # noqa: F401  (registers the command)
    from bench.cli import app

    cfg = make_tasks(tmp_path / "data")
    r1 = run(cfg, ScriptedBackend(default="一回目"), tmp_path / "a")
    assert r1.generated == 10  # type: ignore[attr-defined]
    r2 = run(cfg, ScriptedBackend(default="二回目"), tmp_path / "b")  # another run dir: all from the cache
    assert r2.generated == 0 and r2.from_cache == 10  # type: ignore[attr-defined]
    cold = load_config(cfg)
    cold = cold.model_copy(update={"run": cold.run.model_copy(update={"cache": False})})
    b3 = ScriptedBackend(default="三回目")
    r3 = Runner(cold, backend=b3, output_dir=tmp_path / "c").run()
    assert r3.generated == 10 and r3.from_cache == 0 and len(b3.calls) == 10
    texts = {json.loads(x)["completion"]["text"] for x in (tmp_path / "c" / "t1" / "predictions.jsonl").read_text().splitlines()}
    assert texts == {"三回目"}
    r4 = run(cfg, ScriptedBackend(default="四回目"), tmp_path / "d")  # the cache now holds the cold run's answers
    assert r4.from_cache == 10  # type: ignore[attr-defined]
    texts = {json.loads(x)["completion"]["text"] for x in (tmp_path / "d" / "t1" / "predictions.jsonl").read_text().splitlines()}
    assert texts == {"三回目"}
    # the config key and the command-line flag
    cfg.write_text(cfg.read_text().replace("[run]\n", "[run]\ncache = false\n", 1))
    assert load_config(cfg).run.cache is False
    res = CliRunner().invoke(app, ["run", "--help"])
    assert "--no-cache" in res.output
