"""Keep ``tasks/data/synth_recording.jsonl`` (recorded generator replies for the sample documents
of ``tasks/data/raw``) in step with the prompts and the ingestion: recompute each reply's request
key, and rewrite passage ids in the replies when the chunker gave the passages new ids.

Run it after changing the synth prompts, the readers or the chunker; it lists replies whose
request no longer exists and requests that have no reply.

Example: ``PYTHONPATH=. python tasks/data/make_synth_recording.py``
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.types import Message
from tasks.ingest import init_project
from tasks.synth import SynthSettings, build_units, load_project
from tasks.synth.driver import _per_unit
from tasks.synth.prompts import closed_book_messages, generation_messages

DATA = Path(__file__).resolve().parent
RECORDING = DATA / "synth_recording.jsonl"


def unit_refs(settings: SynthSettings | None = None) -> dict[tuple[str, str], tuple[str, list[Message]]]:
    """``(stage, ref) -> (unit id, messages)`` for every generation request on the sample documents."""
    settings = settings or SynthSettings()
    with tempfile.TemporaryDirectory() as tmp:
        init_project(DATA / "raw", Path(tmp))
        docs = load_project(Path(tmp))
    ref_of: dict[str, str] = {}
    for d in docs:
        ref_of[f"document:{d.doc_id}"] = d.source
        for i, p in enumerate(d.passages, start=1):
            for kind in ("qa", "quiz"):
                ref_of[f"{kind}:{p.id}"] = f"{d.source}#p{i}"
    out: dict[tuple[str, str], tuple[str, list[Message]]] = {}
    for u in build_units(docs, settings):
        out[(u.kind, ref_of[u.id])] = (u.id, generation_messages(u, _per_unit(u.kind, settings)))
    return out


def main() -> None:
    from tasks.synth.records import messages_key

    refs = unit_refs()
    entries = [json.loads(line) for line in RECORDING.read_text(encoding="utf-8").splitlines() if line.strip()]
    answered: set[tuple[str, str]] = set()
    changed = 0
    for e in entries:
        stage, ref = e["stage"], e["ref"]
        if stage in ("closed_book",):
            msgs = closed_book_messages(ref)
        elif (stage, ref) in refs:
            unit, msgs = refs[(stage, ref)]
            old_pid, new_pid = str(e.get("unit", unit)).split(":", 1)[1], unit.split(":", 1)[1]
            if old_pid != new_pid:
                old_doc, new_doc = old_pid.split("-")[0], new_pid.split("-")[0]
                e["text"] = e["text"].replace(old_pid, new_pid).replace(old_doc + "-", new_doc + "-")
                e["unit"] = unit
            answered.add((stage, ref))
        else:
            print(f"no such request any more: {stage} {ref}")
            continue
        key = messages_key(msgs)
        changed += key != e.get("key")
        e["key"] = key
    RECORDING.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    for stage, ref in sorted(set(refs) - answered):
        print(f"no recorded reply: {stage} {ref}")
    print(f"{len(entries)} replies, {changed} key(s) updated")


if __name__ == "__main__":
    main()
