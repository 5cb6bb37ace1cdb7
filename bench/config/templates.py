"""The ``[templates.NAME]`` config tables: fixed prompt variants, each evaluated as arm ``prompt:NAME``.

Unset keys keep the base arm's template (the task's instruction and few-shot count), so a
variant states only what it changes; the searched ``prompt`` arm is unaffected.

Example (TOML)::

    arms = ["base", "prompt:query_first", "prompt:structured"]
    [templates.query_first]
    query_position = "before"
    [templates.structured]
    style = "structured"
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.config.base import Section


class TemplateSection(Section):
    """One fixed prompt variant (fields of ``bench.prompts.PromptTemplate``)."""

    instruction: str | None = None  # None: the task's own instruction
    query_position: Literal["before", "after"] | None = None  # the question before or after the document
    style: Literal["plain", "structured"] | None = None  # structured: declared input/output fields
    output_format: str | None = None
    context_label: str | None = None
    question_label: str | None = None
    shots: int | None = Field(default=None, ge=0, le=64)  # None: the task's few-shot count

    def changes(self) -> dict[str, object]:
        """The template fields this variant sets."""
        return {k: v for k, v in self.model_dump().items() if v is not None}
