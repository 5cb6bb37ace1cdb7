"""``ragft init DOCS_DIR --out PROJECT_DIR``: a folder of documents -> corpus, manifest, report, starter config.

Writes into PROJECT_DIR:
- ``corpus.jsonl``: one line per document ``{doc_id, title, passages: [{id, text, source, page}]}``
  (the corpus format of ``tasks.loaders.load_corpus``);
- ``documents.jsonl``: one line per document (source file, format, pages, sha256, when first added);
- ``ingest_report.json``: every file that was skipped and why, and warnings (e.g. pages without text);
- ``ragft.toml``: a starter experiment config running every arm on the synthetic tasks that
  ``ragft synth`` writes (never overwritten once it exists).

Ids are content hashes: a document's id hashes its text, a passage's id hashes the passage
text under its document, so an unchanged folder gives the same ids on every run and an edited
document gets new ones (its synthetic items must then be regenerated).

Example: ``report = init_project(Path("docs"), Path("myproject"))``
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bench.errors import InputError, RagftError
from tasks.ingest.chunk import split_passages
from tasks.ingest.readers import ProblemKind, RawDocument, Unreadable, check_readers, read_document
from tasks.ingest.starter import starter_config

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (files done, files in all, current file)

CORPUS_FILE = "corpus.jsonl"
MANIFEST_FILE = "documents.jsonl"
REPORT_FILE = "ingest_report.json"
CONFIG_FILE = "ragft.toml"


class IngestSettings(BaseModel):
    """How files are read and cut; the ``[ingest]`` options of ``ragft init``."""

    model_config = ConfigDict(extra="forbid")

    max_file_mb: float = Field(default=20.0, gt=0)  # larger files are listed as oversize, not read
    passage_chars: int = Field(default=400, ge=40, le=20_000)  # passage size limit, heading included


class _Rec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileProblem(_Rec):
    """A file that gave no document, and why."""

    source: str
    kind: ProblemKind
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


class DocumentInfo(_Rec):
    doc_id: str
    source: str
    title: str
    format: str
    passages: int
    chars: int
    sha256: str
    pages: int | None = None
    encoding: str | None = None
    added: str  # when this doc_id was first ingested into the project (UTC, ISO 8601)
    modified: str  # the file's modification time (UTC, ISO 8601)
    warnings: list[str] = Field(default_factory=list)


class InitReport(_Rec):
    docs_dir: str
    out_dir: str
    files: int
    documents: list[DocumentInfo]
    problems: list[FileProblem]
    passages: int
    config_written: bool

    @property
    def ok(self) -> bool:
        return bool(self.documents)


class NoDocumentsError(RagftError):
    """Not one file of the folder could be read; the report says why for each."""

    def __init__(self, report: InitReport) -> None:
        self.report = report
        lines = [f"  {p}" for p in report.problems[:20]]
        more = f"\n  … and {len(report.problems) - 20} more" if len(report.problems) > 20 else ""
        super().__init__(
            f"no readable document in {report.docs_dir} ({report.files} file(s)); "
            f"nothing was written but {REPORT_FILE}:\n" + "\n".join(lines) + more
        )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def list_files(docs_dir: Path) -> list[Path]:
    """Every regular file under ``docs_dir`` (hidden files and folders left out), sorted by path."""
    out: list[Path] = []
    for root, dirs, files in os.walk(docs_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(Path(root) / f for f in files if not f.startswith("."))
    return sorted(out, key=lambda p: p.relative_to(docs_dir).as_posix())


def _check_size(path: Path, max_bytes: int) -> None:
    size = path.stat().st_size
    if size == 0:
        raise Unreadable("empty", "empty file (0 bytes)")
    if size > max_bytes:
        raise Unreadable("oversize", f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit (raise max_file_mb)")
    if path.name.startswith("~$"):
        raise Unreadable("unsupported", "an Office lock file (the document is open in Word)")


def _read(path: Path, settings: IngestSettings) -> RawDocument:
    _check_size(path, int(settings.max_file_mb * 1e6))
    try:
        return read_document(path)
    except (Unreadable, RagftError):
        raise
    except OSError as e:
        raise Unreadable("error", f"cannot read: {e.strerror or e}") from None
    except Exception as e:  # a reader library failing on a hostile file must not stop the folder
        log.debug("reader failed on %s", path, exc_info=True)
        raise Unreadable("corrupted", f"the reader failed ({type(e).__name__}: {e})") from None


@dataclass
class CorpusDoc:
    """One document as it goes into ``corpus.jsonl``."""

    doc_id: str
    title: str
    passages: list[dict[str, str | int]]

    def line(self) -> str:
        return json.dumps({"doc_id": self.doc_id, "title": self.title, "passages": self.passages}, ensure_ascii=False)

    @property
    def chars(self) -> int:
        return sum(len(str(p["text"])) for p in self.passages)


def build_document(raw: RawDocument, source: str, passage_chars: int) -> CorpusDoc:
    """A read document as a corpus entry: ids from content hashes, source and page per passage."""
    pieces = split_passages(raw.blocks, max_chars=passage_chars)
    if not pieces:
        raise Unreadable("empty", "no passage after normalisation")
    doc_id = "d" + _sha(raw.title + "\n" + "\n\n".join(p.text for p in pieces))[:10]
    seen: dict[str, int] = {}
    passages: list[dict[str, str | int]] = []
    for p in pieces:
        base = f"{doc_id}-{_sha(p.text)[:8]}"
        seen[base] = seen.get(base, 0) + 1
        pid = base if seen[base] == 1 else f"{base}-{seen[base]}"
        rec: dict[str, str | int] = {"id": pid, "text": p.text, "source": source}
        if p.page is not None:
            rec["page"] = p.page
        passages.append(rec)
    return CorpusDoc(doc_id, raw.title, passages)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _previous_added(out_dir: Path) -> dict[str, str]:
    path = out_dir / MANIFEST_FILE
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        try:
            obj = json.loads(line)
            out[str(obj["doc_id"])] = str(obj["added"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def init_project(
    docs_dir: Path, out_dir: Path, settings: IngestSettings | None = None,
    progress: Progress | None = None, now: datetime | None = None,
) -> InitReport:
    """Read every file of ``docs_dir``; write the corpus, manifest, report and starter config to ``out_dir``.

    Files that cannot be read are listed in the report with the reason and skipped. Raises
    ``NoDocumentsError`` (after writing the report) when no file could be read.
    """
    settings = settings or IngestSettings()
    if not docs_dir.is_dir():
        raise InputError(str(docs_dir), None, "a folder of documents (.txt, .md, .html, .pdf, .docx)")
    out_abs = out_dir.resolve()
    files = [p for p in list_files(docs_dir) if not p.resolve().is_relative_to(out_abs)]  # --out inside DOCS_DIR
    check_readers({p.suffix.lower() for p in files})
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    added = _previous_added(out_dir)
    docs: list[DocumentInfo] = []
    lines: list[str] = []
    problems: list[FileProblem] = []
    by_id: dict[str, str] = {}
    for i, path in enumerate(files):
        source = path.relative_to(docs_dir).as_posix()
        if progress:
            progress(i, len(files), source)
        try:
            raw = _read(path, settings)
            cdoc = build_document(raw, source, settings.passage_chars)
            if cdoc.doc_id in by_id:
                raise Unreadable("duplicate", f"same text as {by_id[cdoc.doc_id]} (left out)")
        except Unreadable as e:
            problems.append(FileProblem(source=source, kind=e.kind, reason=e.reason))
            log.info("skipped %s: %s", source, e.reason)
            continue
        by_id[cdoc.doc_id] = source
        lines.append(cdoc.line())
        docs.append(DocumentInfo(
            doc_id=cdoc.doc_id, source=source, title=raw.title, format=raw.format,
            passages=len(cdoc.passages), chars=cdoc.chars,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(), pages=raw.pages, encoding=raw.encoding,
            added=added.get(cdoc.doc_id, stamp), modified=_iso(path.stat().st_mtime), warnings=raw.warnings,
        ))
    if progress:
        progress(len(files), len(files), "")
    config_path = out_dir / CONFIG_FILE
    write_config = bool(docs) and not config_path.exists()
    report = InitReport(
        docs_dir=str(docs_dir), out_dir=str(out_dir), files=len(files), documents=docs, problems=problems,
        passages=sum(d.passages for d in docs), config_written=write_config,
    )
    _write_atomic(out_dir / REPORT_FILE, report.model_dump_json(indent=2) + "\n")
    if not docs:
        raise NoDocumentsError(report)
    _write_atomic(out_dir / CORPUS_FILE, "\n".join(lines) + "\n")
    _write_atomic(out_dir / MANIFEST_FILE, "\n".join(d.model_dump_json() for d in docs) + "\n")
    if write_config:
        _write_atomic(config_path, starter_config(project_name=out_dir.resolve().name))
    return report
