"""The ``[longctx]`` table: how the ``longctx`` arm fills the model's context with whole documents.

Example (TOML)::

    [longctx]
    order = "bm25"               # bm25 (documents ranked against the question) | corpus (file order)
    max_context_tokens = 1200    # cap below max_model_len (cost control); unset: as much as fits
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.config.base import Section


class LongContextSection(Section):
    order: Literal["bm25", "corpus"] = "bm25"
    max_context_tokens: int | None = Field(default=None, ge=16)
