"""The base class of every config table: unknown keys are errors.

Example: ``class RetrievalSection(Section): k: int = 3``
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config table: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
