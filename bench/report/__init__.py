"""The report stage: a run directory read once (``RunData``) into summaries, paired statistics,
costs, a recommendation, Markdown, HTML and CSV. It never generates or grades.

Example: ``ragft report reports/demo-1a2b3c4d``
"""

from bench.report.writer import write_reports

__all__ = ["write_reports"]
