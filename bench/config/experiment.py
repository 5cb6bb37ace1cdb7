"""Experiment configs: TOML files validated by pydantic, with errors that name file, key and expectation.

The tables live one per file in this package (``model``, ``judges``, ``lora``, ``retrieval``,
``prompt_search``, ``report``, ``synth``); this module assembles them into ``ExperimentConfig``.

Example: ``cfg = load_config("configs/demo.toml")``
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from bench.config.base import Section
from bench.config.judges import JudgeSpec
from bench.config.longctx import LongContextSection
from bench.config.lora import ContaminationSection, GateSection, LoraSection
from bench.config.model import ModelSection
from bench.config.prompt_search import PromptSearchSection
from bench.config.report import CostSection, ReportSection
from bench.config.retrieval import RetrievalSection
from bench.config.synth import SynthSection
from bench.config.templates import TemplateSection
from bench.config.tracking import TrackingSection
from bench.errors import InputError, RagftError
from bench.registry import arm_kind, arm_parts, arm_variant
from bench.types import Sampling

BUNDLED_PREFIX = "bundled:"
DATA_PREFIX = "data:"  # resolved against --data-dir, run.data_dir or $RAGFT_DATA_DIR
DATA_DIR_ENV = "RAGFT_DATA_DIR"


class RunSection(Section):
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")  # run-id prefix (default: the file's stem)
    output_dir: str = "reports"
    seed: int = 0
    data_dir: str | None = None  # root for "data:" paths (relative to this file); --data-dir wins
    cache: bool = True  # false (or --no-cache): ignore the generation cache, regenerate and overwrite


class TaskSection(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    loader: Literal[
        "qa-jsonl", "document-jsonl", "jaster",
        # external sets as distributed (tasks/registry.py)
        "jsquad-qa", "jsquad-quiz", "jsquad-document", "jcommonsenseqa", "jnli", "lawqa-qa", "lawqa-quiz", "niilc",
    ]
    path: str
    corpus: str | None = None
    dataset: str | None = None
    split: str = "test"
    limit: int | None = Field(default=None, ge=1)
    few_shots: int = Field(default=0, ge=0, le=64)
    max_new_tokens: int | None = Field(default=None, ge=1)
    metrics: list[Literal["exact_match", "char_f1", "set_f1", "choice_accuracy"]] | None = None
    # choice tasks: re-ask every item with its options rotated and report position bias (extra generations)
    shuffle_choices: bool = False
    # the base prompt of this task (every arm starts from it); unset: the data's own (jaster
    # instruction) or the task kind's default
    instruction: str | None = Field(default=None, min_length=1)
    question_label: str | None = Field(default=None, min_length=1)
    context_label: str | None = Field(default=None, min_length=1)
    answer_cue: str | None = Field(default=None, min_length=1)


class JudgeSection(Section):
    kind: Literal["reference"] = "reference"


class ExperimentConfig(Section):
    run: RunSection = Field(default_factory=RunSection)
    model: ModelSection = Field(default_factory=ModelSection)
    sampling: Sampling = Field(default_factory=Sampling)
    tasks: list[TaskSection] = Field(min_length=1)
    arms: list[str] = Field(default_factory=lambda: ["base"], min_length=1)
    judge: JudgeSection = Field(default_factory=JudgeSection)
    report: ReportSection = Field(default_factory=ReportSection)
    cost: CostSection = Field(default_factory=CostSection)
    prompt: PromptSearchSection = Field(default_factory=PromptSearchSection)
    judges: list[JudgeSpec] = Field(default_factory=list)  # extra judges (llm, juries); not in the run id
    # one [lora] table or several [[lora]] tables (arm lora:NAME); the first one is arm "lora"
    lora: list[LoraSection] = Field(default_factory=lambda: [LoraSection()], min_length=1)
    templates: dict[str, TemplateSection] = Field(default_factory=dict)  # fixed prompts: arm prompt:NAME
    retrieval: RetrievalSection = Field(default_factory=RetrievalSection)
    tracking: TrackingSection = Field(default_factory=TrackingSection)  # not in the run id
    synth: SynthSection = Field(default_factory=SynthSection)  # `ragft synth`; not in the run id
    longctx: LongContextSection = Field(default_factory=LongContextSection)

    @field_validator("lora", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    def lora_variants(self) -> dict[str, LoraSection]:
        """Every adapter of the run by name (a table with ``fractions`` gives one per fraction)."""
        return {v.name: v for lc in self.lora for v in lc.variants()}

    def lora_for(self, variant: str | None) -> LoraSection:
        """The adapter settings of arm ``lora`` (None: the first table) or ``lora:NAME``."""
        variants = self.lora_variants()
        if variant is None:
            return next(iter(variants.values()))
        if variant not in variants:
            raise RagftError(
                f"{self.source}: arm 'lora:{variant}' names no [[lora]] table (adapters: {', '.join(variants)})"
            )
        return variants[variant]

    @property
    def contamination(self) -> ContaminationSection:
        """Contamination settings (from the first lora table)."""
        return self.lora[0].contamination

    @property
    def gate(self) -> GateSection:
        """``ragft gate`` settings (from the first lora table)."""
        return self.lora[0].gate

    # Not part of the file: where it was read from (for relative paths and messages).
    source: str = Field(default="<memory>", exclude=True)
    base_dir: str = Field(default=".", exclude=True)
    data_dir: str | None = Field(default=None, exclude=True)  # from --data-dir

    def data_root(self) -> Path | None:
        """Where ``data:`` paths point: --data-dir, else run.data_dir, else $RAGFT_DATA_DIR."""
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        if self.run.data_dir:
            p = Path(self.run.data_dir).expanduser()
            return p if p.is_absolute() else Path(self.base_dir) / p
        env = os.environ.get(DATA_DIR_ENV)
        return Path(env).expanduser() if env else None

    def resolve_path(self, value: str) -> Path:
        """Resolve a data path: ``bundled:`` is the package's sample data; relative is to the config."""
        if value.startswith(BUNDLED_PREFIX):
            return bundled_data_dir() / value[len(BUNDLED_PREFIX) :]
        if value.startswith(DATA_PREFIX):
            root = self.data_root()
            if root is None:
                raise RagftError(
                    f"'{value}' is a path in the data directory, but none is set: pass --data-dir DIR "
                    f"(e.g. --data-dir ../shared/data), set run.data_dir in {self.source}, or set ${DATA_DIR_ENV}"
                )
            return root / value[len(DATA_PREFIX) :]
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def identity(self) -> str:
        """Hash of what determines results (model, sampling, judge); limits and selections excluded."""
        d = self.model_dump(mode="json")
        ident = {
            "model": d["model"],
            "sampling": d["sampling"],
            "judge": d["judge"],
            "seed": d["run"]["seed"],
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]

    def run_id(self) -> str:
        if self.run.id:
            return self.run.id
        return f"{self.run.name or Path(self.source).stem}-{self.identity()}"


def bundled_data_dir() -> Path:
    """The ``tasks`` package's sample data (found by name: the config layer does not import tasks)."""
    import importlib.util

    spec = importlib.util.find_spec("tasks")
    if spec is None or not spec.submodule_search_locations:
        raise RagftError("the ragft package 'tasks' is not installed; reinstall ragft")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _describe(err: dict[str, Any]) -> tuple[str, str]:
    loc = ".".join(str(x) for x in err["loc"])
    typ = err["type"]
    if typ == "extra_forbidden":
        return loc, "no such key (unknown keys are errors; check the spelling)"
    if typ == "missing":
        return loc, "this key to be set"
    return loc, err["msg"].replace("Input should be", "a value that is").lower()


def config_from_dict(
    data: dict[str, Any], source: str = "<memory>", base_dir: str = ".", data_dir: str | Path | None = None,
    check_paths: bool = True,
) -> ExperimentConfig:
    """The validated config; ``check_paths=False`` skips the existence check of task files (``ragft
    synth`` reads a config whose task files it is about to write)."""
    try:
        cfg = ExperimentConfig.model_validate(
            {**data, "source": source, "base_dir": base_dir, "data_dir": str(data_dir) if data_dir else None}
        )
    except ValidationError as e:
        first = e.errors()[0]
        loc, expected = _describe(dict(first))
        if isinstance(data.get("lora"), dict) and loc.startswith("lora.0"):
            loc = "lora" + loc[len("lora.0"):]  # one [lora] table: no index in the message
        more = f" (and {e.error_count() - 1} more problem(s))" if e.error_count() > 1 else ""
        raise InputError(source, loc, expected + more, got=first.get("input")) from None
    for i, t in enumerate(cfg.tasks):
        for key in ("path", "corpus"):
            val = getattr(t, key)
            if val is None:
                continue
            try:
                p = cfg.resolve_path(val)
            except RagftError as e:
                raise InputError(source, f"tasks.{i}.{key}", str(e), got=val) from None
            try:
                found = p.exists()
            except OSError as e:  # e.g. a name longer than the file system allows
                raise InputError(source, f"tasks.{i}.{key}", f"a usable path ({e.strerror})", got=val) from None
            if not found and check_paths:
                raise InputError(source, f"tasks.{i}.{key}", f"an existing file or folder ({p})", got=val)
        if t.loader == "jaster" and not t.dataset:
            raise InputError(source, f"tasks.{i}.dataset", "the jaster dataset name (file stem)")
    loras = [lc.name for lc in cfg.lora]
    dup_l = sorted({n for n in loras if loras.count(n) > 1})
    if dup_l:
        raise InputError(source, "lora.name", "a distinct name for every [[lora]] table", got=dup_l)
    for i, arm in enumerate(cfg.arms):
        try:
            _check_arm(cfg, arm)
        except RagftError as e:
            raise InputError(source, f"arms.{i}", str(e), got=arm) from None
    arms = [a for arm in cfg.arms for a in expand_arm(cfg, arm)]
    if arms != cfg.arms:
        cfg = cfg.model_copy(update={"arms": list(dict.fromkeys(arms))})
    names = [t.name for t in cfg.tasks]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InputError(source, "tasks.name", "unique task names", got=sorted(dup))
    return cfg


def _check_arm(cfg: ExperimentConfig, arm: str) -> None:
    for part in arm_parts(arm):
        kind, variant = arm_kind(part), arm_variant(part)
        if variant is None:
            continue
        if kind == "prompt" and variant not in cfg.templates:
            known = ", ".join(cfg.templates) or "none"
            raise RagftError(f"arm '{arm}': no [templates.{variant}] table in this config (templates: {known})")
        if kind == "lora":
            names = {lc.name for lc in cfg.lora} | set(cfg.lora_variants())
            if variant not in names:
                raise RagftError(f"arm '{arm}': no [[lora]] table named '{variant}' (names: {', '.join(sorted(names))})")


def expand_arm(cfg: ExperimentConfig, arm: str) -> list[str]:
    """An arm naming a learning-curve table (``lora:curve``, or ``lora`` when the first table has
    ``fractions``) stands for one arm per fraction (``lora:curve-p25`` …); other arms are themselves."""
    out = [""]
    expanded = False
    tables = {lc.name: lc for lc in cfg.lora}
    for part in arm_parts(arm):
        choices = [part]
        if arm_kind(part) == "lora":
            lc = tables.get(arm_variant(part) or cfg.lora[0].name)
            if lc is not None and lc.fractions:
                choices, expanded = [f"lora:{v.name}" for v in lc.variants()], True
        out = [f"{o}+{c}" if o else c for o in out for c in choices]
    return out if expanded else [arm]


def load_config(path: str | Path, data_dir: str | Path | None = None, check_paths: bool = True) -> ExperimentConfig:
    p = Path(path)
    try:
        found = p.is_file()
        raw = p.read_bytes() if found else b""
    except OSError as e:  # a name longer than the file system allows, a folder we may not read
        raise InputError(str(p), None, f"a readable TOML config file ({e.strerror})") from None
    if not found:
        raise InputError(str(p), None, "an existing TOML config file")
    if raw.startswith(codecs.BOM_UTF8):  # Windows editors save UTF-8 with a byte-order mark
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError(
            str(p), None, f"UTF-8 text (byte 0x{raw[e.start]:02x} is not UTF-8)", line=raw[: e.start].count(b"\n") + 1
        ) from None
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        raise InputError(str(p), None, f"valid TOML ({e})", line=line) from None
    except RecursionError:
        raise InputError(str(p), None, "TOML nested less deeply (arrays or tables about a thousand levels deep)") from None
    return config_from_dict(data, source=str(p), base_dir=str(p.parent.resolve()), data_dir=data_dir,
                            check_paths=check_paths)


def new_tokens_for(tc: TaskSection, cfg: ExperimentConfig, output_length: int | None) -> int:
    """The generation budget of a task: its own ``max_new_tokens``, else the jaster
    ``output_length`` + 4, else ``sampling.max_new_tokens``."""
    if tc.max_new_tokens is not None:
        return tc.max_new_tokens
    if output_length is not None:
        return output_length + 4
    return cfg.sampling.max_new_tokens
