"""Recorded generator replies: answer ``ragft synth`` requests from a JSONL recording (the CPU demo).

Each line is ``{"stage", "ref", "key", "text", "finish_reason"?}``: ``key`` is the hash of the
request's messages (``records.messages_key``), ``ref`` says for people (and ``rekey``) which
request it answers: ``source#pN`` (passage N of a file) for qa/quiz, the source file for
document, the question for closed_book/support. A request without a recorded reply gets a
failure (counted as failed, retried on the next run), never an invented answer.

Example: ``generate = replay_generator(Path("tasks/data/synth_recording.jsonl"))``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from bench.errors import InputError
from bench.types import Completion, GenRequest, Message
from tasks.loaders import iter_jsonl
from tasks.synth.records import GenOutcome, ReplayMiss, messages_key

FinishReason = Literal["stop", "length", "eos", "error"]


def load_recording(path: Path) -> dict[str, tuple[str, FinishReason]]:
    """``{key: (text, finish_reason)}``; a malformed line is an error naming it."""
    out: dict[str, tuple[str, FinishReason]] = {}
    for n, obj in iter_jsonl(path):
        key, text = obj.get("key"), obj.get("text")
        if not isinstance(key, str) or not key:
            raise InputError(str(path), "key", "the request's messages hash", line=n, got=key)
        if not isinstance(text, str):
            raise InputError(str(path), "text", "the recorded reply (a string)", line=n, got=text)
        fr = obj.get("finish_reason", "stop")
        if fr not in ("stop", "length", "eos", "error"):
            raise InputError(str(path), "finish_reason", "stop, length, eos or error", line=n, got=fr)
        out[key] = (text, fr)
    return out


def replay_generator(path: Path) -> Callable[[list[GenRequest]], list[GenOutcome]]:
    """A ``generate`` function for ``synthesize`` that answers from the recording at ``path``."""
    recording = load_recording(path)

    def generate(requests: list[GenRequest]) -> list[GenOutcome]:
        out: list[GenOutcome] = []
        for r in requests:
            key = messages_key(r.messages)
            if key not in recording:
                out.append(ReplayMiss(f"no recorded reply for {r.arm} {r.example_id} (key {key}): "
                                      "the prompts or documents changed since the recording was made"))
                continue
            text, finish = recording[key]
            out.append(Completion(text=text, finish_reason=finish, prompt_tokens=0, output_tokens=0,
                                  latency_s=0.0, cached=True))
        return out

    return generate


def rekey(path: Path, messages_by_ref: dict[tuple[str, str], list[Message]]) -> tuple[int, list[str]]:
    """Recompute the keys of a recording from ``(stage, ref) -> messages``; returns (updated, refs not found)."""
    lines: list[str] = []
    updated, missing = 0, []
    for _n, obj in iter_jsonl(path):
        msgs = messages_by_ref.get((str(obj.get("stage")), str(obj.get("ref"))))
        if msgs is None:
            missing.append(f"{obj.get('stage')} {obj.get('ref')}")
        else:
            new = messages_key(msgs)
            updated += new != obj.get("key")
            obj["key"] = new
        lines.append(json.dumps(obj, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return updated, missing
