"""The settings of ``ragft synth``: the ``[synth]`` table of an experiment config
(``bench.config.synth.SynthSection``), under the name the synth modules use.

Example (TOML)::

    [synth]
    kinds = ["qa", "quiz"]
    split_by = "question"
    require_context = true
"""

from __future__ import annotations

from bench.config.synth import ALL_KINDS, SynthKind, SynthSection

SynthSettings = SynthSection

__all__ = ["ALL_KINDS", "SynthKind", "SynthSettings"]
