"""Number formatting shared by the Markdown and HTML reports.

Example: ``money(0.0123, "USD")  # '0.0123 USD'``
"""

from __future__ import annotations


def fmt(x: float | None, nd: int = 2) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def money(x: float | None, cur: str) -> str:
    if x is None:
        return "—"
    return f"{x:.4g} {cur}" if x < 1 else f"{x:,.2f} {cur}"
