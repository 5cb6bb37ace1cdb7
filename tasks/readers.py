"""Task readers by loader name (``TaskSection.loader``), and ``load_task`` for a config's task.

Each reader takes ``(name, path, corpus, dataset)`` and returns a ``Task``; the name -> reader
table is ``bench.registry`` (kind ``loader``), so readers of external sets import lazily.

Example: ``task = load_task(cfg.tasks[0], cfg)``
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench import registry
from bench.prompts import PromptTemplate, few_shot_examples
from bench.types import Example
from tasks.jaster import load_jaster
from tasks.loaders import Task, load_document, load_qa
from tasks.synth.provenance import synth_notes

if TYPE_CHECKING:
    from bench.config import ExperimentConfig, TaskSection

LoaderFn = Callable[[str, Path, Path | None, str | None], Task]


def load_registered(
    loader: str, name: str, path: Path, corpus: Path | None = None, dataset: str | None = None
) -> Task:
    fn: LoaderFn = registry.load("loader", loader)
    return fn(name, path, corpus, dataset)


def load_task(tc: TaskSection, cfg: ExperimentConfig) -> Task:
    """The task a ``[[tasks]]`` entry names, read with its loader (paths resolved against the config)."""
    path = cfg.resolve_path(tc.path)
    corpus = cfg.resolve_path(tc.corpus) if tc.corpus else None
    task = load_registered(tc.loader, tc.name, path, corpus, tc.dataset)
    task.notes = [*task.notes, *synth_notes(task, path)]  # items of `ragft synth`: generator, split, filters
    if tc.metrics:
        task.metrics = list(tc.metrics)
    return task


def task_few_shots(tc: TaskSection, task: Task, seed: int) -> list[Example]:
    """The task's few-shot examples, the same for evaluation and LoRA training: ``few_shots`` when the
    config sets it, else the jaster file's ``num_few_shots``, else none; drawn once from train."""
    return few_shot_examples(task.splits.get("train", []), few_shot_count(tc, task), seed)


def base_template(tc: TaskSection, task: Task) -> PromptTemplate:
    """The task's base prompt: the kind's layout with the config's instruction and labels when set,
    else the data's (a jaster file's instruction and ``custom_prompt_template``)."""
    t = PromptTemplate.for_kind(task.kind, tc.instruction or task.instruction)
    upd = {k: getattr(tc, k) for k in ("question_label", "context_label", "answer_cue") if getattr(tc, k)}
    if task.custom_prompt_template and not upd:  # field labels in the config win over the file's layout
        upd["custom_template"] = task.custom_prompt_template
    return t.model_copy(update=upd) if upd else t


def few_shot_count(tc: TaskSection, task: Task) -> int:
    return tc.few_shots if "few_shots" in tc.model_fields_set else (task.num_few_shots or 0)


def qa_jsonl(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    return load_qa(name, path, corpus)


def document_jsonl(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    return load_document(name, path, corpus)


def jaster(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    return load_jaster(name, path, dataset or "")


def jsquad_qa(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.jglue import load_jsquad_qa

    return load_jsquad_qa(name, path)


def jsquad_quiz(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.jglue import load_jsquad_quiz

    return load_jsquad_quiz(name, path)


def jsquad_document(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.jglue import load_jsquad_document

    return load_jsquad_document(name, path)


def jcqa(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.jglue import load_jcommonsenseqa

    return load_jcommonsenseqa(name, path)


def jnli(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.jglue import load_jnli

    return load_jnli(name, path)


def lawqa_qa(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.lawqa import load_lawqa_qa

    return load_lawqa_qa(name, path)


def lawqa_quiz(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.lawqa import load_lawqa_quiz

    return load_lawqa_quiz(name, path)


def niilc(name: str, path: Path, corpus: Path | None, dataset: str | None) -> Task:
    from tasks.niilc import load_niilc

    return load_niilc(name, path)
