"""Japanese generator prompts of ``ragft synth`` (chat messages) and a JSON schema per kind.

Kinds: ``qa`` (short-answer questions on one passage, with the gold passage id), ``quiz``
(5-choice items with 4 distractors, written in the llm-jp-eval "jaster" layout), ``document``
(analysis questions over a whole document, with grading criteria). Two check prompts:
``closed_book`` (the question alone, for ``require_context``) and ``support`` (does the passage
support the answer: はい/いいえ). The schemas serve backends with JSON-constrained decoding
(e.g. vLLM guided decoding); the parser accepts the same shape without them.

Example: ``messages = generation_messages(unit, n=2)``
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bench.types import GenRequest, Message, Sampling
from tasks.synth.records import Unit
from tasks.synth.settings import SynthKind, SynthSettings

SYSTEM = (
    "あなたは、日本語の文書から評価用データを作成する専門家です。"
    "指示された形式のJSONだけを出力し、説明や前置きは書かないでください。"
)

TEMPLATES: dict[str, str] = {
    "qa": """次の文書の一節（パッセージ）を読み、その内容だけで答えられる短答式の質問を{n}個作成してください。

条件:
- パッセージを読まなければ答えられない具体的な内容（数値、期間、金額、名称、条件など）を問うこと。
- 質問だけを読んで意味が通るように、制度・施設・手続の名称を質問に含めること。「この文書」「上記」などの表現は使わないこと。
- answer は、パッセージ中の語句をそのまま使った30文字以内の短い語句にすること。
- evidence には、回答の根拠となる一文をパッセージからそのまま引用すること。
- passage_ids には、根拠となるパッセージのIDを入れること。
- 同じことを問う質問を重複して作らないこと。

出力形式（JSON）:
{{"items": [{{"question": "…", "answer": "…", "evidence": "…", "passage_ids": ["…"]}}]}}

文書名: {title}
パッセージID: {pid}
パッセージ:
{text}""",
    "quiz": """次の文書の一節（パッセージ）を読み、内容の理解を確かめる5択問題を{n}個作成してください。

条件:
- 正解（answer）がパッセージの内容から一つに決まる問題にすること。
- 誤答（distractors）を4個作ること。誤答は正解と同じ種類の語句（金額なら金額、期間なら期間）で、もっともらしいがパッセージの内容とは異なるものにすること。
- 正解と誤答、誤答どうしが重複しないこと。各選択肢は20文字以内にすること。
- 質問だけを読んで意味が通るように、制度・施設・手続の名称を質問に含めること。
- evidence には、正解の根拠となる一文をパッセージからそのまま引用すること。

出力形式（JSON）:
{{"items": [{{"question": "…", "answer": "…", "distractors": ["…", "…", "…", "…"], "evidence": "…"}}]}}

文書名: {title}
パッセージID: {pid}
パッセージ:
{text}""",
    "document": """次の文書全体を読み、文書の複数の箇所を読み合わせて答える分析的な質問を{n}個作成してください。

条件:
- 要約、条件の整理、複数の項目の列挙など、文書全体の理解が必要な質問にすること。
- answer は模範解答とすること。項目の列挙を求める質問では answer を項目の配列（["…", "…"]）にし、それ以外は1〜3文の文章にすること。
- criteria には、回答を採点するための観点を2〜4個、具体的に書くこと（例:「申請期限に触れている」）。
- 質問だけを読んで意味が通るように、制度・施設・手続の名称を質問に含めること。

出力形式（JSON）:
{{"items": [{{"question": "…", "answer": "…", "criteria": ["…", "…"]}}]}}

文書名: {title}
文書:
{text}""",
}

CLOSED_BOOK = """次の質問に、あなたの知識だけで短く答えてください。分からない場合は「分かりません」とだけ答えてください。

質問: {question}"""

SUPPORT = """次のパッセージと、質問・回答の組を読み、回答がパッセージの内容によって裏付けられているかを判定してください。「はい」または「いいえ」の一語だけを出力してください。

パッセージ:
{text}

質問: {question}
回答: {answer}"""

_STR = {"type": "string", "minLength": 1}
_ITEM_SCHEMAS: dict[str, dict[str, Any]] = {
    "qa": {"question": _STR, "answer": _STR, "evidence": _STR, "passage_ids": {"type": "array", "items": _STR}},
    "quiz": {"question": _STR, "answer": _STR, "evidence": _STR,
             "distractors": {"type": "array", "items": _STR, "minItems": 4, "maxItems": 4}},
    "document": {"question": _STR, "answer": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
                 "criteria": {"type": "array", "items": _STR, "minItems": 1}},
}


def schema(kind: SynthKind) -> dict[str, Any]:
    """JSON schema of a generator reply of ``kind``: ``{"items": [...]}``."""
    props = _ITEM_SCHEMAS[kind]
    item = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return {
        "type": "object", "properties": {"items": {"type": "array", "items": item, "minItems": 1}},
        "required": ["items"], "additionalProperties": False,
    }


def prompt_hash(kind: SynthKind) -> str:
    """Identifies the prompt version of a kind (system text, template and schema)."""
    blob = json.dumps([SYSTEM, TEMPLATES[kind], schema(kind)], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def generation_messages(unit: Unit, n: int) -> list[Message]:
    user = TEMPLATES[unit.kind].format(
        n=n, title=unit.title or "（無題）", pid=", ".join(unit.passage_ids), text=unit.text
    )
    return [Message(role="system", content=SYSTEM), Message(role="user", content=user)]


def closed_book_messages(question: str) -> list[Message]:
    return [Message(role="user", content=CLOSED_BOOK.format(question=question))]


def support_messages(text: str, question: str, answer: str) -> list[Message]:
    return [Message(role="user", content=SUPPORT.format(text=text, question=question, answer=answer))]


ARM_PREFIX = "synth-"


def make_request(example_id: str, stage: str, messages: list[Message], settings: SynthSettings,
                 max_new_tokens: int | None = None) -> GenRequest:
    """A generator request; ``arm`` names the stage (``synth-qa``, ``synth-closed_book``, …)."""
    sampling = Sampling(
        max_new_tokens=max_new_tokens or settings.max_new_tokens, temperature=settings.temperature,
        seed=settings.seed,
    )
    return GenRequest(example_id=example_id, task="synth", arm=ARM_PREFIX + stage, messages=messages, sampling=sampling)


def schema_for(request: GenRequest) -> dict[str, Any] | None:
    """The JSON schema to constrain a synth request's output with, or None (free text checks)."""
    stage = request.arm.removeprefix(ARM_PREFIX)
    return schema(stage) if stage in _ITEM_SCHEMAS else None  # type: ignore[arg-type]
