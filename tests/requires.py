"""Optional heavy dependencies in tests: skipped on a developer machine without them, but a failure
in CI (``CI=true``), where `make test` installs them — a broken install must not turn into skips."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str) -> ModuleType:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)  # an ImportError fails the test module loudly
    return pytest.importorskip(module)
