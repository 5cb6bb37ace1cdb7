"""Training items for a LoRA adapter: each train-split example rendered with exactly the prompt
the ``lora`` arm sends at evaluation (the base template, the task's few-shot examples, the model's
own rendering via ``bench.prompts.render_prompt`` + ``ensure_bos``), followed by the reference
answer and EOS as the target. With ``lora.raft`` (retrieval-augmented fine-tuning, RAFT), items of
tasks with a corpus are rendered as the ``rag`` arm renders them, with the passages the caller
retrieved for them (gold plus distractors: ``bench.arms.raft_data``).

Example: ``items = build_training_items(load_config("configs/demo.toml"), tokenizer)``
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.config import ExperimentConfig, TaskSection
from bench.errors import RagftError
from bench.prompts import PromptTemplate, ensure_bos, rag_template, render_prompt
from bench.types import Example
from tasks.readers import load_task, task_few_shots

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


def training_tasks(cfg: ExperimentConfig) -> list[TaskSection]:
    """The tasks whose train split trains the adapter (``lora.tasks``; default: every qa and quiz task)."""
    by_name = {t.name: t for t in cfg.tasks}
    if cfg.lora.tasks is not None:
        unknown = [n for n in cfg.lora.tasks if n not in by_name]
        if unknown:
            raise RagftError(
                f"{cfg.source}: lora.tasks names {unknown}, which are not tasks of this config "
                f"(tasks: {', '.join(by_name)})"
            )
        return [by_name[n] for n in cfg.lora.tasks]
    return [tc for tc in cfg.tasks if load_task(tc, cfg).kind != "document"]


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


def build_training_items(
    cfg: ExperimentConfig, tokenizer: Any, contexts: Contexts | None = None
) -> tuple[list[TrainItem], dict[str, int]]:
    """Rendered, tokenized items of every training task, and counts of items skipped as too long.

    With ``lora.raft``, the items of tasks in ``contexts`` are rendered as the rag arm renders
    them (the passages under 参考情報 before the question); other tasks' items stay plain."""
    if cfg.lora.raft and contexts is None:
        raise RagftError(
            f"{cfg.source}: lora.raft renders training items with retrieved passages; build the adapter through "
            "the raft arm, the lora arm or `ragft train`, which retrieve them"
        )
    items: list[TrainItem] = []
    skipped: dict[str, int] = {}
    eos = tokenizer.eos_token_id
    if eos is None:
        raise RagftError("the model's tokenizer has no EOS token; cannot mark where an answer ends")
    for tc in training_tasks(cfg):
        examples, shots, task = train_examples(cfg, tc)
        plain = PromptTemplate.for_kind(task.kind, task.instruction)
        passages = (contexts or {}).get(tc.name, {}) if cfg.lora.raft else {}
        for ex in examples:
            context = passages.get(ex.id)
            template = rag_template(plain) if context is not None else plain
            prompt = render_prompt(template.messages(ex, shots, context), tokenizer)
            p_ids = ensure_bos(list(tokenizer(prompt, add_special_tokens=False)["input_ids"]), tokenizer)
            answer = ex.reference or ""
            a_ids = [*tokenizer(answer, add_special_tokens=False)["input_ids"], int(eos)]
            item = TrainItem(tc.name, ex.id, p_ids, a_ids, prompt, answer)
            if len(item) > cfg.lora.max_length:
                skipped[tc.name] = skipped.get(tc.name, 0) + 1
                continue
            items.append(item)
    for name, n in skipped.items():
        log.warning("lora: skipped %d item(s) of task %s longer than lora.max_length=%d tokens", n, name, cfg.lora.max_length)
    if not items:
        hint = " (RAFT items carry passages: raise lora.max_length)" if cfg.lora.raft else ""
        raise RagftError(
            f"{cfg.source}: no training items fit lora.max_length={cfg.lora.max_length} tokens "
            f"(skipped: {skipped or 'none available'}){hint}"
        )
    return items, skipped


def training_texts(cfg: ExperimentConfig) -> list[tuple[str, str]]:
    """(source, text) pairs of what the adapter saw, item by item (question, context, answer),
    for the contamination check. The shared template text is left out: it is in every prompt."""
    out: list[tuple[str, str]] = []
    for tc in training_tasks(cfg):
        examples, _shots, _task = train_examples(cfg, tc)
        for ex in examples:
            text = "\n".join(x for x in (ex.question, ex.context or "", ex.reference or "") if x)
            out.append((f"lora-train:{tc.name}/{ex.id}", text))
    return out


def train_data_hash(items: list[TrainItem]) -> str:
    """Content hash of the exact token sequences trained on."""
    h = hashlib.sha256()
    for it in items:
        h.update(json.dumps([it.task, it.example_id, it.prompt_ids, it.answer_ids]).encode())
    return h.hexdigest()[:16]
