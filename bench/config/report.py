"""Config sections for reporting: ``[report]`` (language, statistics) and ``[cost]`` (prices).

Example (TOML)::

    [report]
    language = "both"      # "ja" | "en" | "both"
    [cost]
    gpu_hour = 2.5
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bench.config.base import Section


class ReportSection(Section):
    """``[report]``: recommendation language and the statistics behind it."""

    language: Literal["ja", "en", "both"] = "both"
    alpha: float = Field(default=0.05, gt=0, lt=1)  # family-wise error rate (Holm) per task
    pass_threshold: float = Field(default=5.0, ge=0, le=10)  # score >= this is "right" (McNemar)
    n_boot: int = Field(default=2000, ge=100, le=100_000)  # bootstrap resamples
    html: bool = True  # write report.html next to report.md
    # among the arms not significantly worse than the best: "simplest" (base < prompt < rag < lora <
    # combinations, then the cheaper) or "cheapest" (total cost at cost.queries)
    tie_break: Literal["simplest", "cheapest"] = "simplest"
    # a task × arm whose most frequent answer (or identical outputs across arms) reaches this share
    # gets a degenerate-output caveat
    degenerate_share: float = Field(default=0.8, gt=0, le=1)


class CostSection(Section):
    """``[cost]``: prices that turn measured time and tokens into money (defaults are examples)."""

    currency: str = "USD"
    gpu_hour: float = Field(default=2.5, ge=0)  # one GPU-hour (device "cuda"/"gpu"/GPU names)
    cpu_hour: float = Field(default=0.1, ge=0)  # one CPU-machine hour (device "cpu")
    per_1k_prompt_tokens: float = Field(default=0.0, ge=0)  # hosted-API style token prices
    per_1k_output_tokens: float = Field(default=0.0, ge=0)
    queries: int = Field(default=10_000, ge=1)  # planned query volume for the total-cost ranking
