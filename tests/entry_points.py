"""The production entry points that the fuzz and browser tests call, imported in one place so a
move of a module is fixed here once.

Example: ``python -m pytest -q tests/unit/test_fuzz_inputs.py``
"""

from __future__ import annotations

from bench.backends import GenFailure
from bench.backends.scripted import ScriptedBackend
from bench.benchmarks.screenshot_report import find_chromium
from bench.config import config_from_dict, load_config
from bench.engine.runner import Runner
from bench.errors import InputError, RagftError, printable
from bench.judges.parse import ParsedScore, parse_score
from bench.report import write_reports
from tasks import jglue, lawqa, loaders, niilc, validate
from tasks.jaster import load_jaster

__all__ = [
    "GenFailure", "InputError", "find_chromium", "ParsedScore", "RagftError", "Runner", "ScriptedBackend", "config_from_dict", "jglue",
    "lawqa", "load_config", "load_jaster", "loaders", "niilc", "parse_score", "printable", "validate", "write_reports",
]
