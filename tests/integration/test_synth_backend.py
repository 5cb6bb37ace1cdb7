"""``ragft synth`` with a real generator model: the hf backend with a tiny random model, whose replies
are prose, not JSON (the model's quality is not the point: the bad-reply path is).

Every reply is journaled and counted as unparseable with the unit named, the run does not stop,
the generator id and unconstrained decoding are recorded, and a rerun asks the model nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.backends import constructed
from bench.cli.ingest import synth
from bench.config import bundled_data_dir
from tasks.ingest import init_project

pytestmark = pytest.mark.slow


def test_synth_with_a_model_that_writes_prose(tiny_model: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    init_project(bundled_data_dir() / "raw", project)
    config = project / "ragft.toml"
    text = config.read_text(encoding="utf-8").replace(
        "\n[synth] ", "\n[synth]\nmax_units = 2\nmax_new_tokens = 24\nbatch_size = 4\n# ", 1)
    config.write_text(text + f'\n[synth.model]\nid = "{tiny_model}"\nbackend = "hf"\nmax_model_len = 4096\n',
                      encoding="utf-8")
    before = len(constructed())
    synth(config)
    assert len(constructed()) == before + 1
    out = project / "synth"
    rep = json.loads((out / "generation_report.json").read_text(encoding="utf-8"))
    assert rep["generator"].startswith(f"hf:{tiny_model}@") and rep["decoding"] == "unconstrained"
    for kind in ("qa", "document", "quiz"):
        c = rep["kinds"][kind]
        assert c["units"] == 2 and c["failed"] == 0 and c["unparseable"] == 2 and c["kept"] == 0, (kind, c)
    assert "no item was kept" in " ".join(rep["warnings"])
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rejected) == 6 and all(r["reason"] == "unparseable" and r["unit"] for r in rejected)
    assert all("JSON" in r["detail"] for r in rejected)
    journal = (out / "generations.jsonl").read_bytes()
    assert len(journal.splitlines()) == 6

    synth(config)  # resumable: every unit has its reply, nothing is generated again
    assert (out / "generations.jsonl").read_bytes() == journal
