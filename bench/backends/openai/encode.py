"""What goes over the wire for the openai backend: the request body (token ids rendered like the
in-process backends for ``api = "completions"``, messages for ``api = "chat"``).

Example: ``body = request_body(item, "completions")``
"""

from __future__ import annotations

from typing import Any

from bench.backends.openai.pool import Item
from bench.types import Sampling


def request_body(item: Item, api: str) -> dict[str, Any]:
    s: Sampling = item.request.sampling
    body: dict[str, Any] = {"model": item.model, "max_tokens": s.max_new_tokens, "seed": s.seed}
    if s.temperature > 0:
        body.update(temperature=s.temperature, top_p=s.top_p)
    else:
        body.update(temperature=0.0)
    stops = [x for x in s.stop if x]
    if stops and item.use_stops:
        body["stop"] = stops
    if api == "completions":
        body["prompt"] = item.prompt_ids
        body["return_token_ids"] = True  # vLLM: decode here, exactly like the in-process backends
    else:
        body["messages"] = [m.model_dump() for m in item.request.messages]
    if item.schema is not None:  # OpenAI structured outputs; vLLM takes it on both APIs
        body["response_format"] = {
            "type": "json_schema", "json_schema": {"name": "judgement", "schema": item.schema, "strict": True},
        }
    return body

