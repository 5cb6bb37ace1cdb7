"""Synthetic evaluation and training items from a corpus: prompts, parsing, filters, splits, writers.

Example: ``from tasks.synth import synthesize, SynthSettings, load_project, replay_generator``
"""

from tasks.synth.driver import build_units, synthesize
from tasks.synth.records import GenerationReport, KindCounts, SourceDoc, SynthItem
from tasks.synth.replay import replay_generator
from tasks.synth.settings import SynthSettings
from tasks.synth.source import load_project

__all__ = [
    "GenerationReport", "KindCounts", "SourceDoc", "SynthItem", "SynthSettings", "build_units", "load_project",
    "replay_generator", "synthesize",
]
