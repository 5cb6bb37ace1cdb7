"""The run-directory format, typed: append-only JSONL logs, atomic JSON files with one model each,
the cross-run generation cache, cost records and provenance.

Example: ``store = RunStore(Path("reports/demo-1a2b3c4d")); store.latest_predictions()``
"""

from bench.store.cache import GenerationCache
from bench.store.rundir import JsonlLog, RunStore

__all__ = ["GenerationCache", "JsonlLog", "RunStore"]
