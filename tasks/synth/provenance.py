"""Where a task's synthetic items came from, as task notes a run's report shows in its Data section:
the share of synthetic items, the generator and its output decoding, the prompt hash, the split
(``document`` or ``question``, with what each measures), the fresh split and the filter counts.

They come from ``generation_report.json``, which ``ragft synth`` writes beside the task folders.

Example: ``task.notes += synth_notes(task, Path("myproject/synth/qa"))``
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from tasks.loaders import Task
from tasks.synth.records import GenerationReport

REPORT = "generation_report.json"
KIND_OF_DIR = {"qa": "qa", "document": "document", "quiz": "quiz"}
SPLIT_MEANING = {
    "document": "train, dev and test items come from different documents (does LoRA learn the skill?)",
    "question": "the same documents in every split, different questions (does LoRA absorb the facts?)",
}
_FILTERS = ("failed", "unparseable", "invalid", "unknown_passage", "unsupported", "duplicate", "llm_unsupported",
            "answerable_without_context")


def find_report(path: Path) -> tuple[GenerationReport, str] | None:
    """(the generation report, the synth kind of ``path``) when ``path`` is a task folder ``ragft synth`` wrote."""
    folder = path if path.is_dir() else path.parent
    kind = KIND_OF_DIR.get(folder.name)
    report = folder.parent / REPORT
    if kind is None or not report.is_file():
        return None
    try:
        return GenerationReport.model_validate_json(report.read_text(encoding="utf-8")), kind
    except (ValidationError, OSError, UnicodeDecodeError):
        return None


def synth_notes(task: Task, path: Path) -> list[str]:
    """Notes on the task's synthetic items (none when it has no item marked ``synthetic``)."""
    items = [e for split in task.splits.values() for e in split]
    synthetic = sum(1 for e in items if e.metadata.get("synthetic") is True)
    if not synthetic:
        return []
    found = find_report(path)
    if found is None:
        return [f"{synthetic} of {len(items)} items are synthetic, without their generation report "
                f"({REPORT} not found beside {path.name})"]
    rep, kind = found
    decoding = f" ({rep.decoding} output)" if rep.decoding else ""
    meaning = SPLIT_MEANING.get(rep.split_by)
    notes = [f"synthetic items of ragft synth: generator {rep.generator}{decoding}, prompt {kind}#"
             f"{rep.prompt_hashes.get(kind, '?')}; split by {rep.split_by}" + (f": {meaning}" if meaning else "")]
    if "fresh" in rep.split_documents:
        notes.append(f"split fresh: items on {len(rep.split_documents['fresh'])} document(s) added later, "
                     "never in train (evaluate with split = \"fresh\")")
    c = rep.kinds.get(kind)
    if c is not None:
        removed = ", ".join(f"{f} {getattr(c, f)}" for f in _FILTERS if getattr(c, f))
        notes.append(f"generation: {c.units} call(s), {c.candidates} candidate item(s), kept {c.kept}"
                     + (f"; removed: {removed}" if removed else ""))
    return notes
