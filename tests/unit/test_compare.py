"""``ragft compare``: items matched by id, paired differences, regressions, incomparable settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.backends.scripted import ScriptedBackend
from bench.config import load_config
from bench.engine.runner import Runner
from bench.report.compare import compare_runs, differing_settings
from tests.unit.test_report import make_data


def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, change_sampling: bool) -> tuple[Path, Path]:
    cfg = make_data(tmp_path / "data", n=20)
    text = cfg.read_text(encoding="utf-8").replace('["base", "noshots", "twin"]', '["base"]')
    cfg.write_text(text.replace('id = "m1"', 'id = "runA"'), encoding="utf-8")
    Runner(load_config(cfg), backend=ScriptedBackend(default="四百円"), output_dir=tmp_path / "out").run()
    text = cfg.read_text(encoding="utf-8").replace('id = "runA"', 'id = "runB"')
    if change_sampling:
        text += "[sampling]\ntemperature = 0.7\n"
    cfg.write_text(text, encoding="utf-8")
    # B is wrong on most items (own generation cache, or it would reuse A's completions)
    monkeypatch.setenv("RAGFT_CACHE", str(tmp_path / "cache-b"))
    ok = {f"te-{i:02d}": "四百円" for i in range(3)}
    Runner(load_config(cfg), backend=ScriptedBackend(answers=ok, default="わかりません"),
           output_dir=tmp_path / "out").run()
    return tmp_path / "out" / "runA", tmp_path / "out" / "runB"


def test_compare_flags_regression(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = two_runs(tmp_path, monkeypatch, change_sampling=False)
    c = compare_runs(a, b)
    (p,) = c["pairs"]
    assert p.n == 20 and p.diff is not None and p.diff < -5 and p.significant
    assert c["differences"] == []
    assert len(c["item_drops"][("qa", "base", p.judge)]) == 17
    # output parity: the 3 items B answers like A are identical, the other 17 differ, and are named
    (row,) = c["outputs"]
    assert (row["n"], row["identical"], row["differ"], row["score_mismatch"]) == (20, 3, 17, 0)
    assert "te-00" not in row["differing_ids"] and len(row["differing_ids"]) == 17
    from bench.report.compare import render_markdown

    assert "**17 of 20 differ**" in render_markdown(c)


def test_compare_cli_and_incomparable_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.cli import _load_commands, app

    a, b = two_runs(tmp_path, monkeypatch, change_sampling=True)
    diffs = dict((k, (x, y)) for k, x, y in differing_settings(a, b))
    assert diffs["config.json:sampling.temperature"] == (0.0, 0.7)
    assert not any(k.startswith("config.json:tasks") for k in diffs)
    _load_commands()
    res = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert "**REGRESSION**" in res.output and "sampling.temperature" in res.output
    html = (b / "compare-runA-vs-runB.html").read_text(encoding="utf-8")
    assert 'class="reg"' in html and "http" not in html


def test_task_settings_are_named(tmp_path: Path) -> None:
    import json

    for name, shots in (("a", 1), ("b", 0)):
        d = tmp_path / name
        d.mkdir()
        (d / "config.json").write_text(json.dumps({"tasks": [{"name": "qa", "few_shots": shots},
                                                             {"name": "only_" + name, "few_shots": 0}]}))
    assert differing_settings(tmp_path / "a", tmp_path / "b") == [("config.json:tasks.qa.few_shots", 1, 0)]


def test_compare_rejects_non_run(tmp_path: Path) -> None:
    from bench.errors import RagftError

    (tmp_path / "x").mkdir()
    with pytest.raises(RagftError, match="not a ragft run directory"):
        compare_runs(tmp_path / "x", tmp_path / "x")


def test_provenance_has_chat_template_and_judge_prompt_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two comparability keys ragft compare checks are written by every run, and a changed
    chat template is flagged."""
    import json
    from types import SimpleNamespace

    from bench.judges.rubric import prompt_hash

    class Templated(ScriptedBackend):
        tokenizer = SimpleNamespace(chat_template="{% for m in messages %}{{ m.content }}{% endfor %}")

    cfg = make_data(tmp_path / "data", n=6)
    text = cfg.read_text(encoding="utf-8").replace('["base", "noshots", "twin"]', '["base"]')
    text += '[[judges]]\nname = "j"\n[judges.model]\nid = "MODEL"\n'
    cfg.write_text(text.replace('id = "m1"', 'id = "runA"'), encoding="utf-8")
    runner = Runner(load_config(cfg), backend=ScriptedBackend(default="四百円"), output_dir=tmp_path / "out")
    monkeypatch.setattr("bench.engine.runner.grade_run", lambda *a, **k: 0)  # provenance is the point here
    runner.run()
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('id = "runA"', 'id = "runB"'), encoding="utf-8")
    Runner(load_config(cfg), backend=Templated(default="四百円"), output_dir=tmp_path / "out").run()
    a, b = tmp_path / "out" / "runA", tmp_path / "out" / "runB"
    pa = json.loads((a / "provenance.json").read_text(encoding="utf-8"))
    pb = json.loads((b / "provenance.json").read_text(encoding="utf-8"))
    assert pa["chat_template"] == "none (plain completion format)" and pb["chat_template"].startswith("sha256:")
    assert pa["judge_prompt_hash"] == {"j": prompt_hash("ja-v1")} == pb["judge_prompt_hash"]
    keys = [k for k, _x, _y in differing_settings(a, b)]
    assert keys == ["provenance.json:chat_template"]
