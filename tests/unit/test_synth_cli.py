"""``ragft init`` / ``ragft synth`` / ``synth-export`` / ``synth-import`` through the real CLI, the ``[synth]``
table of a config, the ingest extra check and the backend generator's JSON-schema wiring."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.backends.base import GenResult, GuidedRefused
from bench.backends.scripted import ScriptedBackend
from bench.config import SynthSection, bundled_data_dir, config_from_dict, load_config
from bench.errors import InputError, MissingDependencyError
from bench.types import GenRequest
from tasks.ingest import init_project
from tasks.synth import synthesize
from tasks.synth.prompts import schema
from tests.unit.test_synth_driver import _reply, make_docs

ROOT = Path(__file__).resolve().parents[2]
DATA = bundled_data_dir()
RECORDING = DATA / "synth_recording.jsonl"


def ragft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_starter_config_has_a_typed_synth_table(tmp_path: Path) -> None:
    init_project(DATA / "raw", tmp_path / "p")
    cfg = load_config(tmp_path / "p" / "ragft.toml", check_paths=False)
    assert isinstance(cfg.synth, SynthSection) and cfg.synth.split_by == "document" and cfg.synth.model is None
    assert cfg.synth.kinds == ["qa", "document", "quiz"]
    assert cfg.run_id().startswith("p-")  # the project's name, not "ragft" (every project's file name)
    init_project(DATA / "raw", tmp_path / "市の文書")
    other = load_config(tmp_path / "市の文書" / "ragft.toml", check_paths=False)
    assert other.run.name and other.run.name.startswith("project-") and other.run_id() != cfg.run_id()
    with pytest.raises(InputError, match=r"tasks.0.path"):  # the task files do not exist before synth
        load_config(tmp_path / "p" / "ragft.toml")
    base = {"tasks": [{"name": "t", "loader": "qa-jsonl", "path": str(DATA / "qa")}]}
    cfg = config_from_dict({**base, "synth": {"model": {"id": "m", "backend": "vllm"}, "fresh_after": "2026-04-01"}})
    assert cfg.synth.model is not None and cfg.synth.model.backend == "vllm"
    assert str(cfg.synth.fresh_after) == "2026-04-01"
    assert cfg.identity() == config_from_dict(base).identity()  # [synth] is not part of the run id
    with pytest.raises(InputError, match=r"synth.kindz.*no such key"):
        config_from_dict({**base, "synth": {"kindz": ["qa"]}})
    with pytest.raises(InputError, match=r"synth.model.*model.server"):
        config_from_dict({**base, "synth": {"model": {"id": "m", "backend": "openai"}}})
    with pytest.raises(InputError, match=r"synth.*train split"):
        config_from_dict({**base, "synth": {"test_share": 0.6, "dev_share": 0.4}})


def test_init_synth_review_commands_on_the_sample_documents(tmp_path: Path) -> None:
    project = tmp_path / "project"
    r = ragft("init", str(DATA / "raw"), "--out", str(project), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "5 document(s), 26 passage(s) from 5 file(s)" in r.stdout and "next: ragft synth" in r.stdout
    config = project / "ragft.toml"
    r = ragft("synth", str(config), "--replay", str(RECORDING), "--require-context", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "recording:synth_recording.jsonl (recorded), split by document" in r.stdout
    assert "(unparseable): no JSON in the reply (prose:" in r.stdout  # the unit is named
    assert "(unknown_passage): passage id" in r.stdout and "more rejected item(s)" in r.stdout
    rep = json.loads((project / "synth" / "generation_report.json").read_text(encoding="utf-8"))
    assert rep["decoding"] == "recorded" and rep["settings"]["require_context"] is True
    assert rep["kinds"]["qa"]["answerable_without_context"] == 4 and rep["kinds"]["qa"]["kept"] == 40
    journal = (project / "synth" / "generations.jsonl").read_bytes()

    # resumable: a rerun asks the generator nothing (an empty recording would fail every request)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    r = ragft("synth", str(config), "--replay", str(empty), "--require-context", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (project / "synth" / "generations.jsonl").read_bytes() == journal
    assert json.loads((project / "synth" / "generation_report.json").read_text())["kinds"]["qa"]["kept"] == 40

    # the other split, from the same journal
    r = ragft("synth", str(config), "--replay", str(RECORDING), "--split-by", "question", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = json.loads((project / "synth" / "generation_report.json").read_text(encoding="utf-8"))
    assert rep["split_by"] == "question" and rep["kinds"]["qa"]["answerable_without_context"] == 0
    assert (project / "synth" / "generations.jsonl").read_bytes() == journal

    # the config now validates with its task files, and the review round trip keeps the files
    load_config(config)
    r = ragft("validate", str(config), cwd=tmp_path)
    assert r.returncode == 0 and "synth/quiz/test/synth_choice.json: jaster" in r.stdout and "ok: no problems" in r.stdout
    before = (project / "synth" / "qa" / "test.jsonl").read_bytes()
    r = ragft("synth-export", str(config), str(tmp_path / "review.csv"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = ragft("synth-import", str(config), str(tmp_path / "review.csv"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (project / "synth" / "qa" / "test.jsonl").read_bytes() == before

    qa_test = project / "synth" / "qa" / "test.jsonl"
    qa_test.write_text(qa_test.read_text(encoding="utf-8").replace('"gold_passages": ["', '"gold_passages": ["x', 1),
                       encoding="utf-8")
    r = ragft("validate", str(config), cwd=tmp_path)
    assert r.returncode == 1 and f"{qa_test}:1: gold_passages" in r.stdout, r.stdout

    r = ragft("synth", str(config), "--split-by", "chapter", cwd=tmp_path)
    assert r.returncode == 2 and "--split-by: expected document or question, got 'chapter'" in r.stderr


def test_init_bad_input_is_one_clear_message(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.pdf").write_bytes(b"")
    (docs / "broken.pdf").write_bytes((DATA / "raw" / "health_checkup.pdf").read_bytes()[:2000])
    r = ragft("init", str(docs), "--out", str(tmp_path / "p"), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "no readable document" in r.stderr and "empty.pdf: empty file (0 bytes)" in r.stderr
    assert "broken.pdf: damaged PDF" in r.stderr
    shutil.copy(DATA / "raw" / "library_guide.md", docs / "guide.md")
    r = ragft("init", str(docs), "--out", str(tmp_path / "p"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "skipped empty.pdf: empty file (0 bytes)" in r.stdout and "skipped broken.pdf: damaged PDF" in r.stdout
    assert "1 document(s)" in r.stdout and "2 skipped" in r.stdout
    r = ragft("synth", str(tmp_path / "p" / "ragft.toml"), "--replay", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert r.returncode == 2 and "nope.jsonl: no such recording" in r.stderr and "Traceback" not in r.stderr


def test_init_without_the_ingest_extra_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("pypdf", "docx") else real(name, *a))
    with pytest.raises(MissingDependencyError) as err:
        init_project(DATA / "raw", tmp_path / "p")
    msg = str(err.value)
    assert "pypdf" in msg and "python-docx" in msg and "pip install 'ragft[ingest]'" in msg
    assert ".docx" in msg and ".pdf" in msg
    assert not (tmp_path / "p").exists()  # nothing written
    md = tmp_path / "md"
    md.mkdir()
    shutil.copy(DATA / "raw" / "library_guide.md", md / "guide.md")
    assert init_project(md, tmp_path / "q").ok  # Markdown needs no extra


class Replying(ScriptedBackend):
    """A scripted backend replying like the driver tests' generator; records the schema each request got."""

    def __init__(self) -> None:
        super().__init__()
        self.schemas: list[tuple[str, dict[str, Any] | None]] = []

    def generate(self, requests: list[GenRequest], progress: Any = None) -> list[GenResult]:
        return self._answer(requests, None)

    def _answer(self, requests: list[GenRequest], schema: dict[str, Any] | None) -> list[GenResult]:
        self.schemas.extend((r.arm, schema) for r in requests)
        self.answers = {r.example_id: _reply(r) for r in requests}
        return super().generate(requests)


class GuidedReplying(Replying):
    """The same, offering JSON-schema constrained output (the ``GuidedBackend`` capability);
    ``refuse`` names stages whose schema the "engine" refuses."""

    supports_json_schema = True

    def __init__(self, refuse: set[str] | None = None) -> None:
        super().__init__()
        self.refuse = refuse or set()

    def generate_json(self, requests: list[GenRequest], schema: dict[str, Any], progress: Any = None) -> list[GenResult]:
        if any(r.arm.removeprefix("synth-") in self.refuse for r in requests):
            self.schemas.extend((r.arm, {"refused": True}) for r in requests)
            return [GuidedRefused("the engine cannot compile this schema") for _ in requests]
        return self._answer(requests, schema)


@pytest.mark.parametrize("mode", ["guided", "free", "refused"])
def test_backend_generator_passes_the_schema_and_caches(tmp_path: Path, mode: str) -> None:
    from bench.cli.ingest import BackendGenerator
    from bench.store.cache import GenerationCache
    from tasks.synth import SynthSettings

    backend = Replying() if mode == "free" else GuidedReplying(refuse={"quiz"} if mode == "refused" else None)
    cache = GenerationCache(tmp_path / "gen.sqlite")
    generate = BackendGenerator(backend, cache, batch_size=4, guided=True)
    assert generate.constrained is (mode != "free")
    docs = make_docs(4)
    settings = SynthSettings(kinds=["qa", "quiz"], require_context=True)
    report = synthesize(docs, settings, generate, tmp_path / "a", generator_id="g", decoding=lambda: generate.decoding)
    assert report.kinds["qa"].kept > 0 and report.kinds["quiz"].kept > 0 and report.pending == 0
    got: dict[str, list[Any]] = {}
    for arm, sch in backend.schemas:
        got.setdefault(arm, []).append(sch)
    assert got["synth-qa"] == [schema("qa") if mode != "free" else None] * len(got["synth-qa"])
    assert got["synth-closed_book"] == [None] * len(got["synth-closed_book"])  # free-text checks
    if mode == "guided":
        assert report.decoding == "json-schema" and got["synth-quiz"] == [schema("quiz")] * len(got["synth-quiz"])
    elif mode == "free":
        assert report.decoding == "unconstrained" and set(map(str, got["synth-quiz"])) == {"None"}
    else:  # refused, then asked again in free text: counted and named in the report
        n = len(docs) * 3
        assert got["synth-quiz"] == [{"refused": True}] * n + [None] * n
        assert report.decoding == (f"json-schema; {n} request(s) asked again in free text "
                                   "(the backend refused the schema: the engine cannot compile this schema)")
    n = len(backend.schemas)
    # another project from the same generator is served by the generation cache: no new request
    again = synthesize(docs, settings, generate, tmp_path / "b", generator_id="g", decoding=lambda: generate.decoding)
    assert len(backend.schemas) == n
    assert again.model_dump(exclude={"decoding"}) == report.model_dump(exclude={"decoding"})
    cache.close()


def test_documents_added_later_are_evaluated_apart(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bench.cli.ingest import synth
    from tasks.readers import load_task

    docs = tmp_path / "docs"
    shutil.copytree(DATA / "raw", docs)
    later = docs / "library_guide.md"
    held = later.read_bytes()
    later.unlink()
    project = tmp_path / "p"
    init_project(docs, project, now=datetime(2026, 1, 10, tzinfo=UTC))
    later.write_bytes(held)  # a document that arrived after the adapter was trained
    init_project(docs, project, now=datetime(2026, 5, 10, tzinfo=UTC))
    config = project / "ragft.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text + '\n[[tasks]]\nname = "synth_qa_fresh"\nloader = "qa-jsonl"\npath = "synth/qa"\n'
                      'corpus = "corpus.jsonl"\nsplit = "fresh"\n', encoding="utf-8")
    synth(config, replay=RECORDING, fresh_after="2026-04-01")
    rep = json.loads((project / "synth" / "generation_report.json").read_text(encoding="utf-8"))
    library = [json.loads(x)["doc_id"] for x in (project / "documents.jsonl").read_text().splitlines()
               if json.loads(x)["source"] == "library_guide.md"]
    assert rep["split_documents"]["fresh"] == library
    cfg = load_config(config)
    fresh = load_task(next(t for t in cfg.tasks if t.name == "synth_qa_fresh"), cfg)
    assert fresh.split("fresh") and all(e.metadata["doc_id"] == library[0] for e in fresh.split("fresh"))
    assert all(e.metadata["doc_id"] != library[0] for s in ("train", "dev", "test") for e in fresh.split(s))
    assert any("split fresh: items on 1 document(s) added later" in n for n in fresh.notes)
