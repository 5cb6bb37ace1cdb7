"""Prompt templates as data, and the one rendering path every backend uses.

A ``PromptTemplate`` turns an ``Example`` (plus few-shot examples) into chat ``messages``.
``render_prompt`` turns messages into the model's input text: the model's own chat
template when it has one, else a plain completion layout for base models.

A template is a point in the prompt space the ``prompt`` arm searches (``bench.optimize``):
instruction, field order (query before/after the context), ``plain`` or ``structured``
(DSPy-signature-like: declared input fields and output format) layout, an output-format
block, few-shot slots (count and selection) and stop strings. The defaults are the base
arm's template, whose rendered text never changes when fields are added here.

Example: ``render_prompt(PromptTemplate.for_kind("qa").messages(ex, shots), tokenizer)``
"""

from __future__ import annotations

import random
import re
from typing import Any, Literal

from pydantic import Field

from bench.types import Example, Message, Record

PREAMBLE = "以下は、タスクを説明する指示と、入力の組み合わせです。要求を適切に満たす応答を書きなさい。"

DEFAULT_INSTRUCTIONS: dict[str, str] = {
    "qa": "質問に対する答えだけを、簡潔に一行で書いてください。",
    "document": "文書を読み、質問に日本語で簡潔に答えてください。複数の項目を挙げるときは一行に一つずつ書いてください。",
    "quiz": "質問に答えてください。答えだけを書いてください。",
}


STRUCTURED_FIELD_HINTS: dict[str, str] = {
    "context": "質問に答えるための資料",
    "question": "答えるべき質問",
    "answer": "質問への答え",
}


class PromptTemplate(Record):
    """A point in the prompt space: instruction, field labels and order, layout, few-shot slots, stops.

    ``shots`` None uses the task's configured few-shot count; ``shot_selection`` says how the
    arm picks them from the train split (``random``: one seeded draw per task, as the base arm;
    ``similar``: the train items nearest each question). Selection happens in the arm;
    ``messages`` renders whatever shots it is given.
    """

    name: str = "base"
    preamble: str = PREAMBLE
    instruction: str = ""
    query_position: Literal["before", "after"] = "after"
    context_label: str = "文書"
    question_label: str = "質問"
    answer_cue: str = "### 応答:"
    stop: list[str] = Field(default_factory=lambda: ["\n"])
    style: Literal["plain", "structured"] = "plain"
    output_format: str = ""
    answer_label: str = "応答"
    shots: int | None = Field(default=None, ge=0, le=64)
    shot_selection: Literal["random", "similar"] = "random"
    # llm-jp-eval's ``custom_prompt_template`` of a jaster file: one user turn with ``{instruction}``
    # (the few-shot examples appended to it, as llm-jp-eval does) and ``{input}``; "" = the layout above
    custom_template: str = ""

    @classmethod
    def for_kind(cls, kind: str, instruction: str | None = None) -> PromptTemplate:
        stop = ["\n\n", "###"] if kind == "document" else ["\n"]
        return cls(instruction=instruction or DEFAULT_INSTRUCTIONS[kind], stop=stop)

    def _field(self, label: str, body: str) -> str:
        if self.style == "structured":
            return f"[[ ## {label} ## ]]\n{body}"
        return f"### {label}:\n{body}"

    def user_text(self, ex: Example, context: str | None = None) -> str:
        ctx = context if context is not None else ex.context
        q = self._field(self.question_label, ex.question)
        parts: list[str] = []
        if ctx:
            c = self._field(self.context_label, ctx)
            parts = [q, c] if self.query_position == "before" else [c, q]
        else:
            parts = [q]
        cue = f"[[ ## {self.answer_label} ## ]]" if self.style == "structured" else self.answer_cue
        return "\n\n".join(parts) + f"\n\n{cue}"

    def system_text(self, has_context: bool) -> str:
        """The instruction block; ``structured`` declares the input and output fields (DSPy-style)."""
        system = f"{self.preamble}\n\n### 指示:\n{self.instruction}".strip()
        if self.style == "structured":
            fields = [(self.context_label, STRUCTURED_FIELD_HINTS["context"])] if has_context else []
            q = (self.question_label, STRUCTURED_FIELD_HINTS["question"])
            fields = [q, *fields] if self.query_position == "before" else [*fields, q]
            inputs = "\n".join(f"- {label}: {hint}" for label, hint in fields)
            answer = self.output_format or STRUCTURED_FIELD_HINTS["answer"]
            system += f"\n\n### 入力:\n{inputs}\n\n### 出力:\n- {self.answer_label}: {answer}"
        elif self.output_format:
            system += f"\n\n### 出力形式:\n{self.output_format}"
        return system

    def custom_text(self, ex: Example, shots: list[Example], context: str | None = None) -> str:
        """``custom_template`` filled in: few-shots after the instruction (llm-jp-eval's layout),
        the question (after the context, when there is one) as ``{input}``."""
        shot_text = "".join(f"\n\n### 入力:\n{s.question}\n\n### 応答:\n{s.reference or ''}" for s in shots)
        ctx = context if context is not None else ex.context
        inp = f"{ctx}\n\n{ex.question}" if ctx else ex.question
        # one pass over the placeholders, so braces in the data are never read as placeholders
        fill = {"{instruction}": self.instruction + shot_text, "{input}": inp}
        return re.sub(r"\{instruction\}|\{input\}", lambda m: fill[m.group(0)], self.custom_template)

    def messages(
        self, ex: Example, shots: list[Example] | None = None, context: str | None = None
    ) -> list[Message]:
        if self.custom_template:
            return [Message(role="user", content=self.custom_text(ex, list(shots or []), context))]
        has_context = bool(context if context is not None else ex.context)
        msgs = [Message(role="system", content=self.system_text(has_context))]
        for s in shots or []:
            msgs.append(Message(role="user", content=self.user_text(s)))
            msgs.append(Message(role="assistant", content=s.reference or ""))
        msgs.append(Message(role="user", content=self.user_text(ex, context)))
        return msgs


RAG_CONTEXT_LABEL = "参考情報"
RAG_INSTRUCTION_PREFIX = "参考情報を読み、"


def rag_template(t: PromptTemplate) -> PromptTemplate:
    """The layout of prompts with passages (rag, oracle, longctx, RAFT training): the context
    labelled 参考情報 before the question, the instruction prefixed to read it."""
    instr = t.instruction if t.instruction.startswith(RAG_INSTRUCTION_PREFIX) else RAG_INSTRUCTION_PREFIX + t.instruction
    return t.model_copy(update={"context_label": RAG_CONTEXT_LABEL, "query_position": "after", "instruction": instr})


def few_shot_examples(train: list[Example], n: int, seed: int) -> list[Example]:
    """``n`` examples from the train split, chosen once per task by a local seeded RNG."""
    if n <= 0 or not train:
        return []
    rng = random.Random(seed)
    pool = sorted(train, key=lambda e: e.id)
    return rng.sample(pool, min(n, len(pool)))


def render_completion(messages: list[Message]) -> str:
    """Plain layout for base models without a chat template (the same for every backend)."""
    out: list[str] = []
    for m in messages:
        if m.role == "system":
            out.append(m.content + "\n\n")
        elif m.role == "user":
            out.append(m.content + "\n")
        else:
            out.append(m.content + "\n\n")
    return "".join(out)


def render_prompt(messages: list[Message], tokenizer: Any) -> str:
    """Messages -> model input text: the model's own chat template, else ``render_completion``.

    The beginning-of-sequence token is not part of the text; backends add it (see ``ensure_bos``).
    """
    template = getattr(tokenizer, "chat_template", None)
    if template:
        text = tokenizer.apply_chat_template(
            [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=True
        )
        bos = getattr(tokenizer, "bos_token", None)
        if bos and isinstance(text, str) and text.startswith(bos):
            text = text[len(bos) :]
        return str(text)
    return render_completion(messages)


def ensure_bos(ids: list[int], tokenizer: Any) -> list[int]:
    """Prepend BOS when the tokenizer has one and did not add it (Gemma echoes prompts without it)."""
    bos_id = getattr(tokenizer, "bos_token_id", None)
    if bos_id is None:
        return ids
    if ids and ids[0] == bos_id:
        return ids
    return [int(bos_id), *ids]


def apply_stops(text: str, stops: list[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string after any leading whitespace; True if one was found."""
    lead = len(text) - len(text.lstrip())
    body = text[lead:]
    cut = len(body)
    found = False
    for s in stops:
        if not s:
            continue
        i = body.find(s)
        if i != -1 and i < cut:
            cut, found = i, True
    return body[:cut].strip(), found
