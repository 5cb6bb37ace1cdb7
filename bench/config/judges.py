"""Judge configuration: the ``[[judges]]`` tables of an experiment config or of a judge TOML file.

A judge is a role separate from the model under test: its own model, backend, dtype,
sampling and repeats. ``kind = "llm"`` grades with the Japanese rubric prompt
(``bench.judges.llm``); ``kind = "reference"`` is the deterministic reference judge.

Example (a judge file for ``ragft grade RUN_DIR --judge configs/judge-gemma.toml``)::

    [[judges]]
    name = "gemma"
    kind = "llm"
    [judges.model]
    id = "embedded:gemma-3-270m"
    backend = "hf"
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from bench.config.base import Section
from bench.config.model import ModelSection
from bench.errors import InputError
from bench.types import Sampling


def _judge_sampling() -> Sampling:
    return Sampling(max_new_tokens=256, temperature=0.0)


class JudgeSpec(Section):
    """One judge. Its id (``llm:NAME@HASH``) covers everything that changes its verdicts."""

    name: str = Field(default="", pattern=r"^[A-Za-z0-9_.\-]*$")
    kind: Literal["llm", "reference"] = "llm"
    model: ModelSection = Field(default_factory=ModelSection)
    sampling: Sampling = Field(default_factory=_judge_sampling)
    repeats: int = Field(default=1, ge=1, le=64)
    rubric: Literal["ja-v1"] = "ja-v1"
    use_reference: bool = True  # show the item's reference answer to the judge when it has one
    context_chars: int = Field(default=3000, ge=0)  # document/passages shown to the judge (0: none)
    max_answer_chars: int = Field(default=6000, ge=100)
    guided: bool = True  # JSON-schema decoding where the backend supports it
    jury: bool = True  # averaged with the other llm judges of the same config into a jury score
    tasks: list[str] | None = None  # grade only these tasks (default: all)

    @model_validator(mode="after")
    def _check(self) -> JudgeSpec:
        if self.repeats > 1 and self.sampling.temperature == 0:
            raise ValueError(
                f"repeats = {self.repeats} needs sampling.temperature > 0 (greedy repeats are identical)"
            )
        if not self.name:
            stem = self.model.id.rsplit("/", 1)[-1].split(":")[-1] if self.kind == "llm" else "reference"
            self.name = re.sub(r"[^A-Za-z0-9_.\-]", "-", stem)
        return self

    def identity(self, prompt_hash: str) -> str:
        """Hash of everything that determines this judge's grades (not batch size, device or task
        filter); ``prompt_hash`` is the rubric prompt's hash (``bench.judges.rubric.prompt_hash``)."""
        d = self.model_dump(mode="json")
        m = d["model"]
        options: dict[str, Any] = {}
        if m.get("server"):
            options["server"] = m["server"]
        if m.get("engine_args"):
            options["engine_args"] = m["engine_args"]
        ident = {
            "name": self.name,
            "kind": self.kind,
            "model": {"id": m["id"], "backend": m["backend"], "dtype": m["dtype"], "options": options},
            "sampling": d["sampling"],
            "repeats": self.repeats,
            "prompt": prompt_hash if self.kind == "llm" else "",
            "use_reference": self.use_reference,
            "context_chars": self.context_chars,
            "max_answer_chars": self.max_answer_chars,
            "guided": self.guided,
        }
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:8]


def load_judges(path: str | Path) -> list[JudgeSpec]:
    """The ``[[judges]]`` of a judge TOML file (or of an experiment config), validated."""
    p = Path(path)
    try:
        found = p.is_file()
    except OSError as e:
        raise InputError(str(p), None, f"a readable TOML file ({e.strerror})") from None
    if not found:
        raise InputError(str(p), None, "an existing TOML file with [[judges]] tables")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputError(str(p), None, "UTF-8 text", got=str(e)) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(str(p), None, f"valid TOML ({e})", line=getattr(e, "lineno", None)) from None
    if "tasks" not in data:  # a judge file: nothing but [[judges]]
        extra = sorted(set(data) - {"judges"})
        if extra:
            raise InputError(str(p), extra[0], "only [[judges]] tables in a judge file", got=extra)
    raw = data.get("judges")
    if not isinstance(raw, list) or not raw:
        raise InputError(str(p), "judges", "at least one [[judges]] table")
    return judges_from_list(raw, str(p))


def judges_from_list(raw: list[Any], source: str) -> list[JudgeSpec]:
    out: list[JudgeSpec] = []
    for i, item in enumerate(raw):
        try:
            out.append(JudgeSpec.model_validate(item))
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in ("judges", i, *err["loc"]))
            expected = "no such key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
            raise InputError(source, loc, expected, got=err.get("input")) from None
    names = [j.name for j in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(source, "judges.name", "unique judge names", got=dup)
    return out
