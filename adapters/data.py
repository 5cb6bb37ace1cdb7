"""Training items for a LoRA adapter: each train-split example rendered with exactly the prompt
the ``lora`` arm sends at evaluation (the base template, the task's few-shot examples, the model's
own rendering via ``bench.prompts.render_prompt`` + ``ensure_bos``), followed by the reference
answer and EOS as the target. With ``lora.raft`` (retrieval-augmented fine-tuning, RAFT), items of
tasks with a corpus are rendered as the ``rag`` arm renders them, with the passages the caller
retrieved for them (gold plus distractors: ``bench.arms.raft_data``).

Items longer than ``max_length`` (default: the model's ``max_model_len``) are skipped, counted
and named; a ``fraction`` below 1 keeps a seeded, nested share of the training examples (the
points of a learning curve train on growing supersets of the same items).

Example: ``items, skipped = build_training_items(cfg, tokenizer, cfg.lora_for("short"))``
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.config import ExperimentConfig, LoraSection, TaskSection
from bench.errors import RagftError
from bench.prompts import ensure_bos, rag_template, render_prompt
from bench.types import Example
from tasks.readers import base_template, load_task, task_few_shots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainItem:
    """One supervised item: prompt token ids (no loss) + answer token ids ending in EOS (loss)."""

    task: str
    example_id: str
    prompt_ids: list[int]
    answer_ids: list[int]
    prompt: str
    answer: str

    def __len__(self) -> int:
        return len(self.prompt_ids) + len(self.answer_ids)


def training_tasks(cfg: ExperimentConfig, lc: LoraSection | None = None) -> list[TaskSection]:
    """The tasks whose train split trains the adapter (``tasks``; default: every task with a train split)."""
    lc = lc or cfg.lora_for(None)
    by_name = {t.name: t for t in cfg.tasks}
    if lc.tasks is not None:
        unknown = [n for n in lc.tasks if n not in by_name]
        if unknown:
            raise RagftError(
                f"{cfg.source}: lora '{lc.name}' tasks names {unknown}, which are not tasks of this config "
                f"(tasks: {', '.join(by_name)})"
            )
        return [by_name[n] for n in lc.tasks]
    return [tc for tc in cfg.tasks if load_task(tc, cfg).splits.get("train")]


def train_examples(cfg: ExperimentConfig, tc: TaskSection) -> tuple[list[Example], list[Example], Any]:
    """(train items, few-shot examples, task) for one task: the train split minus its few-shot examples."""
    task = load_task(tc, cfg)
    train = task.splits.get("train", [])
    if not train:
        raise RagftError(f"{cfg.source}: task '{tc.name}' has no train split to train an adapter on")
    shots = task_few_shots(tc, task, cfg.run.seed)
    shot_ids = {s.id for s in shots}
    return [e for e in train if e.id not in shot_ids and e.reference], shots, task


# task -> example id -> the passages a RAFT item is rendered with (``bench.arms.raft_data``)
Contexts = Mapping[str, Mapping[str, str]]


def selected_examples(cfg: ExperimentConfig, lc: LoraSection) -> list[tuple[TaskSection, Example, list[Example], Any]]:
    """(task config, example, few-shot examples, task) of every item the adapter trains on: all train
    items of its tasks, or a seeded share ``fraction`` of them; smaller shares are subsets of larger ones."""
    rows = []
    for tc in training_tasks(cfg, lc):
        examples, shots, task = train_examples(cfg, tc)
        rows += [(tc, ex, shots, task) for ex in examples]
    if lc.fraction >= 1.0:
        return rows
    order = sorted(range(len(rows)), key=lambda i: (rows[i][0].name, rows[i][1].id))
    random.Random(lc.seed).shuffle(order)
    keep = set(order[: max(1, math.ceil(lc.fraction * len(rows)))])
    return [r for i, r in enumerate(rows) if i in keep]


def build_training_items(
    cfg: ExperimentConfig, tokenizer: Any, lc: LoraSection | None = None, contexts: Contexts | None = None
) -> tuple[list[TrainItem], dict[str, list[str]]]:
    """Rendered, tokenized items of the adapter's training examples, and the ids of those skipped as
    too long (by task). The length limit is ``max_length``, default the model's ``max_model_len``.

    With ``raft = true``, the items of tasks in ``contexts`` are rendered as the rag arm renders
    them (the passages under 参考情報 before the question); other tasks' items stay plain."""
    lc = lc or cfg.lora_for(None)
    if lc.raft and contexts is None:
        raise RagftError(
            f"{cfg.source}: lora '{lc.name}' has raft = true: its training items are rendered with retrieved "
            "passages; build it through the raft arm, the lora arm or `ragft train`, which retrieve them"
        )
    limit = lc.max_length if lc.max_length is not None else cfg.model.max_model_len
    items: list[TrainItem] = []
    skipped: dict[str, list[str]] = {}
    eos = tokenizer.eos_token_id
    if eos is None:
        raise RagftError("the model's tokenizer has no EOS token; cannot mark where an answer ends")
    passages = (contexts or {}) if lc.raft else {}
    for tc, ex, shots, task in selected_examples(cfg, lc):
        plain = base_template(tc, task)
        context = passages.get(tc.name, {}).get(ex.id)
        template = rag_template(plain) if context is not None else plain
        prompt = render_prompt(template.messages(ex, shots, context), tokenizer)
        p_ids = ensure_bos(list(tokenizer(prompt, add_special_tokens=False)["input_ids"]), tokenizer)
        answer = ex.reference or ""
        a_ids = [*tokenizer(answer, add_special_tokens=False)["input_ids"], int(eos)]
        item = TrainItem(tc.name, ex.id, p_ids, a_ids, prompt, answer)
        if len(item) > limit:
            skipped.setdefault(tc.name, []).append(ex.id)
            continue
        items.append(item)
    what = "lora.max_length" if lc.max_length is not None else "model.max_model_len"
    for name, ids in skipped.items():
        log.warning("lora %s: skipped %d item(s) of task %s longer than %s=%d tokens: %s",
                    lc.name, len(ids), name, what, limit, ", ".join(ids[:10]))
    if not items:
        hint = " (RAFT items carry passages: raise lora.max_length)" if lc.raft else ""
        raise RagftError(
            f"{cfg.source}: lora '{lc.name}': no training items fit {what}={limit} tokens "
            f"(skipped: {({k: len(v) for k, v in skipped.items()}) or 'none available'}){hint}"
        )
    return items, skipped


def training_texts(cfg: ExperimentConfig, lc: LoraSection | None = None) -> list[tuple[str, str]]:
    """(source, text) pairs of what the adapter saw, item by item (question, context, answer),
    for the contamination check. The shared template text is left out: it is in every prompt."""
    out: list[tuple[str, str]] = []
    for tc, ex, _shots, _task in selected_examples(cfg, lc or cfg.lora_for(None)):
        text = "\n".join(x for x in (ex.question, ex.context or "", ex.reference or "") if x)
        out.append((f"lora-train:{tc.name}/{ex.id}", text))
    return out


def train_data_hash(items: list[TrainItem]) -> str:
    """Content hash of the exact token sequences trained on."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps([it.task, it.example_id, it.prompt_ids, it.answer_ids]).encode())
    return h.hexdigest()[:16]
