"""The whole TOML schema of ragft, one table per file; ``load_config`` reads and validates a file.

Example: ``cfg = load_config("configs/demo.toml")``
"""

from bench.config.base import Section
from bench.config.experiment import (
    BUNDLED_PREFIX,
    DATA_DIR_ENV,
    DATA_PREFIX,
    ExperimentConfig,
    JudgeSection,
    RunSection,
    TaskSection,
    bundled_data_dir,
    config_from_dict,
    expand_arm,
    load_config,
    new_tokens_for,
)
from bench.config.judges import JudgeSpec, judges_from_list, load_judges
from bench.config.lora import ContaminationSection, GateSection, LoraSection, fraction_name
from bench.config.model import ModelSection, ServerSection
from bench.config.prompt_search import PromptSearchSection
from bench.config.report import CostSection, ReportSection
from bench.config.retrieval import RetrievalSection
from bench.config.synth import SynthSection
from bench.config.templates import TemplateSection
from bench.config.tracking import TrackingSection

__all__ = [
    "BUNDLED_PREFIX", "DATA_DIR_ENV", "DATA_PREFIX", "ContaminationSection", "CostSection", "ExperimentConfig",
    "GateSection", "JudgeSection", "JudgeSpec", "LoraSection", "ModelSection", "PromptSearchSection",
    "ReportSection", "RetrievalSection", "RunSection", "Section", "ServerSection", "SynthSection", "TaskSection", "TemplateSection", "TrackingSection",
    "bundled_data_dir", "config_from_dict", "expand_arm", "fraction_name", "judges_from_list", "load_config", "load_judges", "new_tokens_for",
]
