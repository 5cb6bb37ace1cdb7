"""The documents ``ragft synth`` works on: a project's ``corpus.jsonl`` plus the dates of ``documents.jsonl``.

Example: ``docs = load_project(Path("myproject"))``
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import InputError
from tasks.loaders import iter_jsonl, load_corpus
from tasks.synth.records import SourceDoc

CORPUS = "corpus.jsonl"
MANIFEST = "documents.jsonl"


def load_project(project_dir: Path, corpus: Path | None = None) -> list[SourceDoc]:
    """Documents of the corpus (default ``PROJECT_DIR/corpus.jsonl``), with source file and added date when known."""
    path = corpus or project_dir / CORPUS
    if not path.is_file():
        raise InputError(str(path), None, "a corpus JSONL file (run `ragft init DOCS_DIR --out PROJECT_DIR` first)")
    docs = load_corpus(path)
    info: dict[str, tuple[str, str]] = {}
    manifest = project_dir / MANIFEST
    if manifest.is_file():
        for n, obj in iter_jsonl(manifest):
            doc_id, added = obj.get("doc_id"), obj.get("added", "")
            if not isinstance(doc_id, str) or not isinstance(added, str):
                raise InputError(str(manifest), "doc_id", "a string doc_id and an ISO 'added' date", line=n)
            info[doc_id] = (str(obj.get("source", "")), added)
    out: list[SourceDoc] = []
    for d in docs.values():
        source, added = info.get(d.doc_id, ("", ""))
        if not source and d.passages and d.passages[0].source:
            source = d.passages[0].source
        out.append(SourceDoc(d.doc_id, d.title, d.passages, source=source, added=added))
    return out
