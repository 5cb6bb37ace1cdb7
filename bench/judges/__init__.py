"""Judges: the one ``Judge.grade(items)`` protocol, implemented by the reference metrics, LLM judges
and juries; the grading stage; judge calibration and reliability.

Example: ``ragft grade reports/demo-1a2b3c4d --judge configs/judge-gemma.toml``
"""
