"""``data:`` paths: resolved against --data-dir, run.data_dir or $RAGFT_DATA_DIR; a clear error otherwise."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bench.config import TaskSection, load_config
from bench.errors import InputError
from bench.registry import TABLES
from tasks.readers import load_task
from tests.external_fixtures import write_jsquad

CONFIG = """
[run]
{run}
[[tasks]]
name = "jsq"
loader = "jsquad-qa"
path = "data:jglue/jsquad-v1.3"
"""


def _setup(tmp_path: Path, run: str = "") -> tuple[Path, Path]:
    data = tmp_path / "shared" / "data"
    write_jsquad(data / "jglue" / "jsquad-v1.3")
    cfg = tmp_path / "proj" / "exp.toml"
    cfg.parent.mkdir()
    cfg.write_text(CONFIG.format(run=run), encoding="utf-8")
    return cfg, data


def test_missing_data_dir_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFT_DATA_DIR", raising=False)
    cfg, _ = _setup(tmp_path)
    with pytest.raises(InputError, match=r"exp.toml: field 'tasks.0.path'.*--data-dir.*run.data_dir.*RAGFT_DATA_DIR"):
        load_config(cfg)


def test_data_dir_from_cli_config_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGFT_DATA_DIR", raising=False)
    cfg, data = _setup(tmp_path)
    c = load_config(cfg, data_dir=data)
    assert c.resolve_path("data:jglue/jsquad-v1.3") == data / "jglue" / "jsquad-v1.3"
    task = load_task(c.tasks[0], c)
    assert len(task.split("test")) > 0 and task.kind == "qa"
    cfg2, _ = _setup(tmp_path / "b", run='data_dir = "../shared/data"')
    assert load_config(cfg2).resolve_path("data:x") == cfg2.parent.resolve() / "../shared/data" / "x"
    monkeypatch.setenv("RAGFT_DATA_DIR", str(data))
    assert load_config(cfg).resolve_path("data:x") == data / "x"
    with pytest.raises(InputError, match=r"tasks.0.path.*an existing file or folder"):
        load_config(cfg, data_dir=tmp_path / "nowhere")


def test_registry_matches_config_loader_names() -> None:
    literal = typing.get_args(TaskSection.model_fields["loader"].annotation)
    assert set(literal) == set(TABLES["loader"])


def test_num_few_shots_default_used_only_when_config_is_silent() -> None:
    tc = TaskSection(name="t", loader="jaster", path="p", dataset="d")
    assert "few_shots" not in tc.model_fields_set
    assert "few_shots" in TaskSection(name="t", loader="jaster", path="p", dataset="d", few_shots=0).model_fields_set


def test_data_report_section_lists_splits_and_notes(tmp_path: Path) -> None:
    import json

    from bench.report.rundata import RunData
    from bench.report.sections.data import data_section

    (tmp_path / "selection.json").write_text(json.dumps({}), encoding="utf-8")
    assert data_section(RunData.load(tmp_path)) == ""
    (tmp_path / "selection.json").write_text(json.dumps({
        "jsq": {"kind": "qa", "metrics": ["char_f1"], "split": "test", "examples": ["a", "b"], "arms": ["base"],
                "split_sizes": {"train": 3, "test": 9}, "notes": ["no train file: train/dev carved"]},
    }), encoding="utf-8")
    md = data_section(RunData.load(tmp_path))
    assert "| jsq | qa | train 3, test 9 | test | 2 |" in md and "- jsq: no train file" in md


@pytest.mark.parametrize("command", ["index", "contamination", "optimize", "train", "run"])
def test_every_config_command_takes_data_dir(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a data directory the config's 'data:' path is a clear error; with --data-dir it resolves
    (a wrong one names the missing folder, so the option reached the config)."""
    from typer.testing import CliRunner

    from bench.cli import _load_commands, app

    _load_commands()
    monkeypatch.delenv("RAGFT_DATA_DIR", raising=False)
    cfg, data = _setup(tmp_path)
    r = CliRunner().invoke(app, [command, str(cfg)])
    assert isinstance(r.exception, InputError) and "--data-dir" in str(r.exception), r.output
    r = CliRunner().invoke(app, [command, str(cfg), "--data-dir", str(tmp_path / "nowhere")])
    assert isinstance(r.exception, InputError) and "an existing file or folder" in str(r.exception), r.output
    assert str(tmp_path / "nowhere") in str(r.exception)
    if command in ("index", "contamination"):  # no model needed: these run to the end
        r = CliRunner().invoke(app, [command, str(cfg), "--data-dir", str(data)])
        assert r.exit_code == 0, (r.output, r.exception)
