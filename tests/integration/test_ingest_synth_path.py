"""The demo path on the bundled sample documents: init -> synth (recorded replies) -> validate, load and run.

The generator is the recording of ``tasks/data/synth_recording.jsonl`` (the model's quality is
not the point here); the readers, chunker, parser, filters, splits and writers are the real ones,
and the run on the items uses the real hf backend with the tiny random model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import bundled_data_dir, load_config
from bench.engine.runner import Runner
from tasks.ingest import init_project
from tasks.readers import load_registered
from tasks.synth import SynthSettings, load_project, replay_generator, synthesize
from tasks.synth.csvio import export_csv, import_csv
from tasks.validate import validate

DATA = bundled_data_dir()

pytestmark = pytest.mark.slow  # a tiny model's run


def test_documents_to_validated_synthetic_tasks(tmp_path: Path, tiny_model: Path) -> None:
    project = tmp_path / "project"
    init = init_project(DATA / "raw", project)
    assert len(init.documents) == 5 and not init.problems

    settings = load_config(project / "ragft.toml", check_paths=False).synth.model_copy(update={"require_context": True})
    assert isinstance(settings, SynthSettings)
    docs = load_project(project)
    report = synthesize(docs, settings, replay_generator(DATA / "synth_recording.jsonl"), project / "synth",
                        generator_id="recording")

    counts = {k: c.model_dump() for k, c in report.kinds.items()}
    # every recorded reply answers a current request (no failures) and every filter fired once or more
    assert all(c["failed"] == 0 for c in counts.values())
    assert counts["qa"] | {"splits": None} == {
        "units": 25, "failed": 0, "unparseable": 1, "candidates": 47, "invalid": 0, "unknown_passage": 1,
        "unsupported": 1, "duplicate": 1, "llm_unsupported": 0, "llm_check_unclear": 0,
        "answerable_without_context": 4, "kept": 40, "splits": None,
    }
    assert (counts["quiz"]["unparseable"], counts["quiz"]["invalid"], counts["quiz"]["answerable_without_context"]) == (1, 1, 1)
    assert counts["document"]["unsupported"] == 1 and counts["document"]["kept"] == 9
    rejected = (project / "synth" / "rejected.jsonl").read_text(encoding="utf-8")
    assert "cut at max_new_tokens" in rejected and "no JSON in the reply" in rejected
    test_docs = set(report.split_documents["test"])
    assert test_docs and not test_docs & set(report.split_documents["train"])

    corpus = project / "corpus.jsonl"
    for sub in ("synth/qa", "synth/document", "synth/quiz"):
        r = validate(project / sub, corpus=corpus)
        assert r.ok, [str(p) for p in r.problems]

    cfg = load_config(project / "ragft.toml")
    assert set(cfg.arms) >= {"base", "prompt", "rag", "oracle", "lora"}
    for t in cfg.tasks:
        task = load_registered(t.loader, t.name, cfg.resolve_path(t.path),
                               cfg.resolve_path(t.corpus) if t.corpus else None, t.dataset)
        assert {"train", "dev", "test"} <= set(task.splits)
        test = task.split("test")
        assert test and all(e.metadata.get("synthetic") is True for e in test)
        assert all(e.metadata["doc_id"] in test_docs for e in test)
        train_docs = {e.metadata["doc_id"] for e in task.split("train")}
        assert not train_docs & test_docs
        if t.loader == "qa-jsonl":
            pages = {p.id: p.page for p in task.passages}
            assert all(g in pages for e in test for g in e.gold_passages)

    # review by spreadsheet leaves the files as they were
    before = {p: p.read_bytes() for p in sorted((project / "synth").rglob("*")) if p.is_file() and p.suffix != ".csv"}
    export_csv(project / "synth", tmp_path / "review.csv")
    import_csv(tmp_path / "review.csv", project / "synth")
    after = {p: p.read_bytes() for p in sorted((project / "synth").rglob("*")) if p.is_file() and p.suffix != ".csv"}
    assert after == before

    # ... and a run on them: the report names the split and marks the synthetic items and their share
    # the real hf backend with the tiny random model (its answers are not the point, the path is)
    toml = (project / "ragft.toml").read_text(encoding="utf-8")
    (project / "ragft.toml").write_text(
        toml.replace('id = "embedded:gemma-3-270m"', f'id = "{tiny_model}"')
        .replace("max_new_tokens = 48", "max_new_tokens = 4").replace("max_new_tokens = 64", "max_new_tokens = 4"),
        encoding="utf-8")
    run_cfg = load_config(project / "ragft.toml")
    Runner(run_cfg, arms=["base", "oracle"], output_dir=tmp_path / "runs", limit=4).run()
    run_dir = next((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert {(s["task"], s["arm"]) for s in summary["summaries"]} == {
        ("synth_qa", "base"), ("synth_qa", "oracle"), ("synth_document", "base"), ("synth_document", "oracle"),
        ("synth_choice", "base")}
    report_md = (run_dir / "report.md").read_text(encoding="utf-8")
    assert all(s["n_failed"] == 0 for s in summary["summaries"])
    assert "synth_qa: 4 of 4 evaluated items are synthetic (100 %)" in report_md
    assert "synth_choice: synthetic items of ragft synth: generator recording, prompt quiz#" in report_md
    assert "; split by document: train, dev and test items come from different documents" in report_md
    assert "synth_qa: generation: 25 call(s), 47 candidate item(s), kept 40; removed: unparseable 1" in report_md
