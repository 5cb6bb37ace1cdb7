"""The prompt space the ``prompt`` arm searches: candidate templates around the task's base template
(query placement, plain vs structured layout, instruction variants, an output-format block, few-shot
count and selection) and the few-shot picker (``random``: the base arm's seeded draw; ``similar``:
nearest train items by character-bigram overlap).

Example: ``cands = candidate_space(base, task, dev, cfg.prompt, default_shots=2, n_train=20)``
"""

from __future__ import annotations

from collections import Counter

from bench.config.prompt_search import PromptSearchSection
from bench.prompts import PromptTemplate, few_shot_examples
from bench.types import Example
from tasks.loaders import Task

# Instruction variants per task kind ("default" is the task's own instruction).
VARIANT_INSTRUCTIONS: dict[str, str] = {
    "qa": "質問に対する答えを、文ではなく語句だけで一行で書いてください。前置きや説明は書かないでください。",
    "document": (
        "文書に書かれている内容だけに基づいて質問に答えてください。文書にないことは書かないでください。"
        "複数の項目を挙げるときは一行に一つずつ、項目だけを書いてください。"
    ),
    "quiz": "例と同じ形式で、答えだけを出力してください。",
}

# Answer-format constraints by the task's primary metric (document tasks get their own).
OUTPUT_FORMATS: dict[str, str] = {
    "document": "項目を挙げるときは一行に一つずつ、項目だけを書く（番号・記号・説明は付けない）。一つの答えなら一行で簡潔に書く。",
    "set_f1": "項目を一行に一つずつ、項目だけを書く。番号・記号・説明は付けない。",
    "exact_match": "答えの語句だけを一行で書く。説明・前置き・句点は付けない。",
    "char_f1": "答えだけを一行で簡潔に書く。説明や前置きは付けない。",
    "choice_accuracy": "選択肢のラベルだけを書く。",
}


# --------------------------------------------------------------------------- few-shot selection
def char_bigrams(text: str) -> Counter[str]:
    """Character bigrams of whitespace-stripped text (a tokenizer-free similarity for Japanese)."""
    s = "".join(text.split())
    return Counter(s[i : i + 2] for i in range(len(s) - 1)) if len(s) > 1 else Counter(s)


def bigram_dice(a: Counter[str], b: Counter[str]) -> float:
    """Dice coefficient of two bigram multisets, in [0, 1]."""
    total = sum(a.values()) + sum(b.values())
    return 2.0 * sum((a & b).values()) / total if total else 0.0


class ShotPicker:
    """Few-shot examples for a template and an item: ``random`` (one seeded draw per task, the
    base arm's choice) or ``similar`` (the train items with the most character-bigram overlap)."""

    def __init__(self, train: list[Example], default_n: int, seed: int) -> None:
        self.train = sorted(train, key=lambda e: e.id)
        self.default_n = default_n
        self.seed = seed
        self._grams: list[Counter[str]] | None = None
        self._random: dict[int, list[Example]] = {}

    def count(self, template: PromptTemplate) -> int:
        return self.default_n if template.shots is None else template.shots

    def pick(self, template: PromptTemplate, ex: Example) -> list[Example]:
        n = self.count(template)
        if n <= 0 or not self.train:
            return []
        if template.shot_selection == "random":
            if n not in self._random:
                self._random[n] = few_shot_examples(self.train, n, self.seed)
            return list(self._random[n])
        if self._grams is None:
            self._grams = [char_bigrams(e.question) for e in self.train]
        q = char_bigrams(ex.question)
        ranked = sorted(
            ((bigram_dice(q, g), e) for g, e in zip(self._grams, self.train, strict=True) if e.id != ex.id),
            key=lambda se: (-se[0], se[1].id),
        )
        # nearest last: the most similar example sits next to the question
        return [e for _, e in ranked[:n]][::-1]


# --------------------------------------------------------------------------- candidate space
def output_format_for(task: Task, dev: list[Example]) -> str:
    if task.kind == "document":
        return OUTPUT_FORMATS["document"]
    fmt = OUTPUT_FORMATS.get(task.metrics[0], OUTPUT_FORMATS["char_f1"])
    choices = next((e.choices for e in dev if e.choices), None)
    if choices:
        fmt += f" 答えは {'、'.join(choices)} のいずれか一つ。"
    return fmt


def candidate_name(t: PromptTemplate, base: PromptTemplate, default_shots: int) -> str:
    parts: list[str] = []
    if t.query_position != base.query_position:
        parts.append(f"query-{t.query_position}")
    if t.style != base.style:
        parts.append(t.style)
    if t.instruction != base.instruction:
        parts.append("instruction-variant")
    if t.output_format != base.output_format:
        parts.append("format")
    n = default_shots if t.shots is None else t.shots
    if n != default_shots or t.shot_selection != base.shot_selection:
        parts.append(f"{n}-shot" + (f"-{t.shot_selection}" if n else ""))
    return "+".join(parts) or "base"


def candidate_space(
    base: PromptTemplate, task: Task, dev: list[Example], settings: PromptSearchSection,
    default_shots: int, n_train: int,
) -> list[PromptTemplate]:
    """Every distinct template over the searched dimensions; the base template comes first."""
    dims = set(settings.dimensions)
    has_context = any(e.context for e in dev)
    positions = ["after", "before"] if "query_position" in dims and has_context else [base.query_position]
    styles = ["plain", "structured"] if "style" in dims else [base.style]
    variant = VARIANT_INSTRUCTIONS[task.kind]
    if task.kind == "quiz":
        variant = f"{base.instruction}\n{variant}"
    instructions = [base.instruction, variant] if "instruction" in dims else [base.instruction]
    formats = ["", output_format_for(task, dev)] if "output_format" in dims else [base.output_format]
    counts: list[int | None] = [None]
    if "shots" in dims:
        counts += [n for n in sorted({0, settings.max_shots}) if n != default_shots and n <= n_train]
    selections = ["random", "similar"] if "shot_selection" in dims and n_train else [base.shot_selection]
    out: list[PromptTemplate] = []
    seen: set[str] = set()
    for pos in positions:
        for style in styles:
            for instr in instructions:
                for fmt in formats:
                    for n in counts:
                        for sel in selections:
                            eff = default_shots if n is None else n
                            stop = list(base.stop)
                            if style == "structured" and "[[" not in stop:
                                stop.append("[[")
                            t = base.model_copy(update={
                                "query_position": pos, "style": style, "instruction": instr,
                                "output_format": fmt, "shots": n,
                                "shot_selection": sel if eff > 0 else base.shot_selection,
                                "stop": stop,
                            })
                            t = t.model_copy(update={"name": candidate_name(t, base, default_shots)})
                            sig = t.model_dump_json(exclude={"name"})
                            if sig not in seen:
                                seen.add(sig)
                                out.append(t)
    return out


