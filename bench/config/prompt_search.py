"""The ``[prompt]`` config section: how ``ragft optimize`` and the ``prompt`` arm search prompts.

Example (TOML)::

    [prompt]
    strategy = "halving"      # grid | random | halving
    budget = 60               # dev generations per task
    [prompt.tasks.minato_document]
    strategy = "grid"
    dimensions = ["query_position"]
    dev_limit = 2
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.config.base import Section

Strategy = Literal["grid", "random", "halving"]
Dimension = Literal["query_position", "style", "instruction", "output_format", "shots", "shot_selection"]
ALL_DIMENSIONS: list[Dimension] = [
    "query_position", "style", "instruction", "output_format", "shots", "shot_selection",
]


class PromptTaskOverride(Section):
    """Per-task overrides of the search settings (unset keys inherit ``[prompt]``)."""

    strategy: Strategy | None = None
    budget: int | None = Field(default=None, ge=1, le=1_000_000)
    dev_limit: int | None = Field(default=None, ge=1)
    dimensions: list[Dimension] | None = None
    max_shots: int | None = Field(default=None, ge=0, le=32)


class PromptSearchSection(Section):
    """Search settings; ``budget`` counts dev generations (candidate × dev item) per task."""

    strategy: Strategy = "halving"
    budget: int = Field(default=60, ge=1, le=1_000_000)
    dev_split: str = "dev"
    dev_limit: int | None = Field(default=None, ge=1)
    dimensions: list[Dimension] = Field(default_factory=lambda: list(ALL_DIMENSIONS))
    max_shots: int = Field(default=4, ge=0, le=32)
    min_items: int = Field(default=2, ge=1, le=1000)
    tasks: dict[str, PromptTaskOverride] = Field(default_factory=dict)

    def for_task(self, name: str) -> PromptSearchSection:
        """The settings for one task: ``[prompt]`` with ``[prompt.tasks.NAME]`` applied."""
        o = self.tasks.get(name)
        if o is None:
            return self.model_copy(update={"tasks": {}})
        upd = {k: v for k, v in o.model_dump().items() if v is not None}
        return self.model_copy(update={**upd, "tasks": {}})
