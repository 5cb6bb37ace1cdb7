"""The demo path on the bundled sample documents: init -> synth (recorded replies) -> validate and load.

The generator is the recording of ``tasks/data/synth_recording.jsonl`` (the model's quality is
not the point here); the readers, chunker, parser, filters, splits and writers are the real ones.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from bench.config import bundled_data_dir, config_from_dict
from tasks.ingest import init_project
from tasks.readers import load_registered
from tasks.synth import SynthSettings, load_project, replay_generator, synthesize
from tasks.synth.csvio import export_csv, import_csv
from tasks.validate import validate

DATA = bundled_data_dir()


def test_documents_to_validated_synthetic_tasks(tmp_path: Path) -> None:
    project = tmp_path / "project"
    init = init_project(DATA / "raw", project)
    assert len(init.documents) == 5 and not init.problems

    data = tomllib.loads((project / "ragft.toml").read_text(encoding="utf-8"))
    settings = SynthSettings.model_validate({**data.pop("synth"), "require_context": True})
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

    cfg = config_from_dict(data, source=str(project / "ragft.toml"), base_dir=str(project))
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
