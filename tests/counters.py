"""Counts that robustness tests report (kills survived, fuzz cases, faults injected); printed at the
end of every pytest run by ``pytest_terminal_summary`` in conftest.py.

``report(name, line)`` sets a whole line; ``tally(name, key, n)`` adds ``n`` to one entry of a
line made of counts per key (e.g. kills survived per stage), so several tests share one line.
"""

from __future__ import annotations

from collections import Counter

REPORTS: dict[str, str] = {}
TALLIES: dict[str, Counter[str]] = {}


def report(name: str, line: str) -> None:
    REPORTS[name] = line


def tally(name: str, key: str, n: int = 1, *, suffix: str = "") -> None:
    c = TALLIES.setdefault(name, Counter())
    c[key] += n
    total = sum(c.values())
    REPORTS[name] = f"{total} in all: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) + suffix
