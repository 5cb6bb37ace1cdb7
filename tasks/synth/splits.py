"""The honest splits of synthetic items, chosen by ``split_by``:

- ``document``: whole documents go to train, dev or test (the same assignment for every
  kind), so a LoRA adapter trained on the train split never saw a test document: does it
  learn the *skill*?
- ``question``: every document contributes to every split, different questions in each (near
  duplicates were removed before): does LoRA absorb the *facts*, the case RAG is usually picked for?

The freshness split comes first: items on documents added after ``fresh_after`` (or listed in
``fresh_docs``) go to the ``fresh`` split only, to be evaluated apart (knowledge that arrived
after the adapter was trained).

Example: ``items, by_split = split_items(items, docs, settings)``
"""

from __future__ import annotations

import random
from datetime import date, datetime

from bench.errors import RagftError
from tasks.synth.records import SourceDoc, SynthItem
from tasks.synth.settings import SynthSettings


def _added_after(added: str, cutoff: date | datetime) -> bool:
    when = datetime.fromisoformat(added)
    if isinstance(cutoff, datetime):
        if cutoff.tzinfo is None and when.tzinfo is not None:
            when = when.replace(tzinfo=None)
        return when > cutoff
    return when.date() > cutoff


def fresh_documents(docs: list[SourceDoc], settings: SynthSettings) -> tuple[set[str], list[str]]:
    """(doc ids of the fresh split, warnings) from ``fresh_docs`` marks and the ``fresh_after`` date."""
    marks = set(settings.fresh_docs)
    fresh = {d.doc_id for d in docs if d.doc_id in marks or (d.source and d.source in marks)}
    known = {d.doc_id for d in docs} | {d.source for d in docs}
    unknown = sorted(marks - known)
    if unknown:
        raise RagftError(f"synth.fresh_docs names no document of the corpus: {unknown[:5]} "
                         "(use doc ids from corpus.jsonl or source files from documents.jsonl)")
    warnings: list[str] = []
    if settings.fresh_after is not None:
        undated = [d.doc_id for d in docs if not d.added]
        if undated:
            warnings.append(f"{len(undated)} document(s) without an 'added' date are not in the fresh split "
                            "(no documents.jsonl? run ragft init)")
        fresh |= {d.doc_id for d in docs if d.added and _added_after(d.added, settings.fresh_after)}
    return fresh, warnings


def assign_documents(doc_ids: list[str], test_share: float, dev_share: float, seed: int) -> dict[str, str]:
    """Each document's split; at least one test and one train document."""
    ids = sorted(set(doc_ids))
    n = len(ids)
    if n < 2:
        raise RagftError(
            f"split_by = \"document\" needs at least 2 documents with items, got {n}; "
            "add documents or use split_by = \"question\""
        )
    random.Random(seed).shuffle(ids)
    n_test = min(n - 1, max(1, round(n * test_share)))
    n_dev = round(n * dev_share)
    if dev_share > 0:  # the prompt arm searches on dev: give it a document when there is one to spare
        n_dev = max(n_dev, 1)
    n_dev = min(n - 1 - n_test, n_dev)
    out = {d: "test" for d in ids[:n_test]}
    out.update({d: "dev" for d in ids[n_test : n_test + n_dev]})
    out.update({d: "train" for d in ids[n_test + n_dev :]})
    return out


def _quota(k: int, share: float, rng: random.Random) -> int:
    """``k * share`` rounded up or down at random (so that small documents add up to the share)."""
    x = k * share
    return min(k, int(x) + (rng.random() < x - int(x)))


def split_items(
    items: list[SynthItem], docs: list[SourceDoc], settings: SynthSettings
) -> tuple[list[SynthItem], dict[str, list[str]], list[str]]:
    """(items with ``split`` set, split -> doc ids for document splits, warnings)."""
    fresh, warnings = fresh_documents(docs, settings)
    out: list[SynthItem] = []
    by_doc: dict[str, list[SynthItem]] = {}
    for it in items:
        if it.doc_id in fresh:
            out.append(it.model_copy(update={"split": "fresh"}))
        else:
            by_doc.setdefault(it.doc_id, []).append(it)
    doc_splits: dict[str, list[str]] = {"fresh": sorted(fresh)} if fresh else {}
    if not by_doc:
        pass
    elif settings.split_by == "document":
        assign = assign_documents(list(by_doc), settings.test_share, settings.dev_share, settings.seed)
        for d, split in sorted(assign.items()):
            doc_splits.setdefault(split, []).append(d)
        out.extend(it.model_copy(update={"split": assign[it.doc_id]}) for its in by_doc.values() for it in its)
    else:
        rng = random.Random(settings.seed)
        for doc_id in sorted(by_doc):
            its = sorted(by_doc[doc_id], key=lambda x: x.id)
            rng.shuffle(its)
            n_test = _quota(len(its), settings.test_share, rng)
            n_dev = _quota(len(its) - n_test, settings.dev_share / (1 - settings.test_share), rng)
            for i, it in enumerate(its):
                split = "test" if i < n_test else "dev" if i < n_test + n_dev else "train"
                out.append(it.model_copy(update={"split": split}))
    order = {it.id: i for i, it in enumerate(items)}
    out.sort(key=lambda x: order[x.id])
    return out, doc_splits, warnings
