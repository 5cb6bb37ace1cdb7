"""``ragft synth``'s driver: units -> generator -> parse -> filters -> splits -> task files + report.

``generate`` is any function from a batch of ``GenRequest`` to one outcome per request (a
``Completion`` or a failure with ``.error``): the project's cached generation loop over any
backend, or ``tasks.synth.replay`` on CPU. Every outcome is journaled as it arrives
(``generations.jsonl``), so a killed run resumes where it stopped; the filters, splits and
files are then rebuilt from the journal, so they are the same however often the run resumed.

Example: ``report = synthesize(load_project(Path("myproject")), SynthSettings(), generate, Path("myproject/synth"), generator_id="qwen2.5-7b")``
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

from bench.types import Completion, GenRequest
from tasks.synth.filters import (
    answerable_without_context,
    find_near_duplicates,
    is_supported,
    parse_yes_no,
)
from tasks.synth.journal import Entry, Journal
from tasks.synth.parse import ItemProblem, ParseFailure, check_item, parse_reply
from tasks.synth.prompts import (
    closed_book_messages,
    generation_messages,
    make_request,
    prompt_hash,
    support_messages,
)
from tasks.synth.records import (
    GenerationReport,
    GenOutcome,
    KindCounts,
    Rejected,
    SourceDoc,
    SynthItem,
    Unit,
    messages_key,
    short_hash,
)
from tasks.synth.settings import SynthKind, SynthSettings
from tasks.synth.splits import split_items
from tasks.synth.writers import write_tasks

log = logging.getLogger(__name__)

Generate = Callable[[list[GenRequest]], list[GenOutcome]]
Progress = Callable[[int, int, str], None]  # (requests done, requests in this stage, stage)

JOURNAL = "generations.jsonl"
REJECTED = "rejected.jsonl"
REPORT = "generation_report.json"


def build_units(docs: list[SourceDoc], settings: SynthSettings) -> list[Unit]:
    """One unit per passage (qa, quiz) long enough to ask about, one per document (document)."""
    units: list[Unit] = []
    for kind in settings.kinds:
        mine: list[Unit] = []
        for d in docs:
            if kind == "document":
                mine.append(Unit(f"document:{d.doc_id}", "document", d.doc_id, d.title,
                                 [p.id for p in d.passages], d.text[: settings.max_document_chars]))
                continue
            for p in d.passages:
                if len(p.text) >= settings.min_passage_chars:
                    mine.append(Unit(f"{kind}:{p.id}", kind, d.doc_id, d.title, [p.id], p.text))
        if settings.max_units is not None and len(mine) > settings.max_units:
            keep = set(random.Random(settings.seed).sample(range(len(mine)), settings.max_units))
            mine = [u for i, u in enumerate(mine) if i in keep]
        units.extend(mine)
    return units


def _per_unit(kind: SynthKind, settings: SynthSettings) -> int:
    return {"qa": settings.qa_per_passage, "quiz": settings.quiz_per_passage,
            "document": settings.document_questions}[kind]


def _run_stage(journal: Journal, stage: str, todo: list[tuple[str, GenRequest]], generate: Generate,
               settings: SynthSettings, generator_id: str, progress: Progress | None) -> None:
    """Ask ``generate`` for every request not yet answered, journaling each outcome as it arrives."""
    pending = [(u, r) for u, r in todo if not journal.done(stage, u, messages_key(r.messages))]
    if progress and pending:
        progress(0, len(pending), stage)
    for start in range(0, len(pending), settings.batch_size):
        batch = pending[start : start + settings.batch_size]
        results = generate([r for _, r in batch])
        if len(results) != len(batch):
            raise ValueError(f"generate returned {len(results)} results for {len(batch)} requests")
        for (unit, req), res in zip(batch, results, strict=True):
            key = messages_key(req.messages)
            if isinstance(res, Completion):
                entry = Entry(stage=stage, unit=unit, key=key, status="ok", text=res.text,
                              finish_reason=res.finish_reason, generator=generator_id)
            else:
                entry = Entry(stage=stage, unit=unit, key=key, status="failed", error=res.error, generator=generator_id)
            journal.append(entry)
        journal.sync()
        if progress:
            progress(min(start + len(batch), len(pending)), len(pending), stage)


def _candidates(units: list[Unit], journal: Journal, settings: SynthSettings, counts: dict[str, KindCounts],
                rejected: list[Rejected]) -> list[tuple[SynthItem, Unit]]:
    out: list[tuple[SynthItem, Unit]] = []
    for u in units:
        c = counts[u.kind]
        e = journal.get(u.kind, u.id)
        if e is None or e.status != "ok":
            c.failed += 1
            continue
        try:
            raws = parse_reply(e.text, e.finish_reason)
        except ParseFailure as pf:
            c.unparseable += 1
            rejected.append(Rejected(unit=u.id, kind=u.kind, reason="unparseable", detail=pf.reason,
                                     item={"reply": e.text[:500]}))
            continue
        for i, raw in enumerate(raws):
            c.candidates += 1
            checked = check_item(raw, u)
            if isinstance(checked, ItemProblem):
                setattr(c, checked.reason, getattr(c, checked.reason) + 1)
                rejected.append(Rejected(unit=u.id, kind=u.kind, reason=checked.reason,  # type: ignore[arg-type]
                                         detail=checked.detail, item=raw if isinstance(raw, dict) else {}))
                continue
            distractors = checked.pop("distractors", [])
            item_id = f"{u.kind}-{short_hash(u.id)[:8]}-{i + 1}"
            if distractors:
                choices = [checked["answer"], *distractors]
                random.Random(f"{settings.seed}:{item_id}").shuffle(choices)
                checked["choices"] = choices
            item = SynthItem(id=item_id, kind=u.kind, doc_id=u.doc_id, unit=u.id, generator=e.generator,
                             prompt_hash=prompt_hash(u.kind), **checked)
            if not is_supported(item.answer, u.text, settings.support_threshold):
                c.unsupported += 1
                rejected.append(Rejected(unit=u.id, kind=u.kind, reason="unsupported", item=item.model_dump(),
                                         detail=f"the answer {item.answer[:40]!r} is not found in its source text"))
                continue
            out.append((item, u))
    return out


def _duplicates(items: list[SynthItem], settings: SynthSettings) -> dict[int, int]:
    """Near-duplicate questions within each document, across kinds (``{index: index it repeats}``).

    Questions on different documents differ in what they ask about even when worded alike
    ("…図書館の手数料は" / "…体育館の手数料は"); within a document a reworded twin would put
    the same question on both sides of a ``question`` split."""
    groups: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        groups.setdefault(it.doc_id, []).append(i)
    out: dict[int, int] = {}
    for idx in groups.values():
        local = find_near_duplicates([items[i].question for i in idx], settings.duplicate_ngram,
                                     settings.duplicate_threshold)
        out.update({idx[a]: idx[b] for a, b in local.items()})
    return out


def _reject(c: KindCounts, rejected: list[Rejected], item: SynthItem, reason: str, detail: str) -> None:
    setattr(c, reason, getattr(c, reason) + 1)
    rejected.append(Rejected(unit=item.unit, kind=item.kind, reason=reason, detail=detail,  # type: ignore[arg-type]
                             item=item.model_dump()))


def synthesize(
    docs: list[SourceDoc], settings: SynthSettings, generate: Generate, out_dir: Path, *,
    generator_id: str, progress: Progress | None = None, overwrite_edits: bool = False,
    decoding: str | Callable[[], str] = "",
) -> GenerationReport:
    """Generate, filter, split and write synthetic items for ``docs``; resumable from ``out_dir``.

    ``decoding`` is recorded in the report: ``json-schema`` (constrained output), ``unconstrained``
    (free text, parsed) or ``recorded`` (replayed replies); a function is asked once generation is over."""
    out_dir.mkdir(parents=True, exist_ok=True)
    units = build_units(docs, settings)
    counts: dict[str, KindCounts] = {k: KindCounts() for k in settings.kinds}
    for u in units:
        counts[u.kind].units += 1
    journal = Journal(out_dir / JOURNAL)
    try:
        for kind in settings.kinds:
            todo = [(u.id, make_request(u.id, kind, generation_messages(u, _per_unit(kind, settings)), settings))
                    for u in units if u.kind == kind]
            _run_stage(journal, kind, todo, generate, settings, generator_id, progress)
        rejected: list[Rejected] = []
        cands = _candidates(units, journal, settings, counts, rejected)
        dups = _duplicates([it for it, _ in cands], settings)
        for i, j in sorted(dups.items()):
            _reject(counts[cands[i][0].kind], rejected, cands[i][0], "duplicate",
                    f"near-duplicate of {cands[j][0].id}: {cands[j][0].question[:40]!r}")
        cands = [x for i, x in enumerate(cands) if i not in dups]
        if settings.llm_support_check:
            todo = [(it.id, make_request(it.id, "support", support_messages(u.text, it.question, it.answer),
                                         settings, max_new_tokens=8)) for it, u in cands]
            _run_stage(journal, "support", todo, generate, settings, generator_id, progress)
            kept = []
            for it, u in cands:
                e = journal.get("support", it.id)
                verdict = parse_yes_no(e.text) if e is not None and e.status == "ok" else None
                if e is None or e.status != "ok":
                    counts[it.kind].failed += 1
                elif verdict is False:
                    _reject(counts[it.kind], rejected, it, "llm_unsupported", f"the LLM check said: {e.text[:40]!r}")
                else:
                    counts[it.kind].llm_check_unclear += verdict is None
                    kept.append((it, u))
            cands = kept
        if settings.require_context:
            todo = [(it.id, make_request(it.id, "closed_book", closed_book_messages(it.question), settings,
                                         max_new_tokens=64)) for it, _ in cands]
            _run_stage(journal, "closed_book", todo, generate, settings, generator_id, progress)
            kept = []
            for it, u in cands:
                e = journal.get("closed_book", it.id)
                if e is None or e.status != "ok":
                    counts[it.kind].failed += 1
                elif answerable_without_context(it.answer, e.text, settings.closed_book_threshold):
                    _reject(counts[it.kind], rejected, it, "answerable_without_context",
                            f"answered without the passage: {e.text[:40]!r}")
                else:
                    kept.append((it, u))
            cands = kept
    finally:
        journal.close()
    items, doc_splits, warnings = split_items([it for it, _ in cands], docs, settings)
    for it in items:
        c = counts[it.kind]
        c.kept += 1
        c.splits[it.split] = c.splits.get(it.split, 0) + 1
    for name, c in counts.items():
        for split, why in (("test", "nothing to evaluate"), ("dev", "the prompt arm searches on dev"),
                           ("train", "LoRA and few-shot examples use train")):
            if c.kept and split not in c.splits:
                warnings.append(f"{name}: no item in the {split} split ({why})")
    if not items:
        warnings.append("no item was kept: see the counts per filter and rejected.jsonl")
    files = write_tasks(items, out_dir, overwrite_edits=overwrite_edits)
    (out_dir / REJECTED).write_text("".join(r.model_dump_json() + "\n" for r in rejected), encoding="utf-8")
    report = GenerationReport(
        generator=generator_id, decoding=decoding() if callable(decoding) else decoding, prompt_hashes={k: prompt_hash(k) for k in settings.kinds},
        split_by=settings.split_by, seed=settings.seed, settings=settings.model_dump(mode="json"),
        kinds=counts, split_documents=doc_splits, files=files, warnings=warnings,
    )
    (out_dir / REPORT).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if report.pending:
        log.warning("%d generation(s) failed; run ragft synth again to retry them", report.pending)
    return report
