"""Fuzzing of experiment configs: ``load_config`` on the project's own TOML files mutated line by line
and byte by byte, on generated TOML documents, and ``config_from_dict`` on mutated tables. Every
input ends in a config or an ``InputError`` naming the file and the key (or, for TOML syntax, the line).

Example: ``python -m pytest -q tests/unit/test_fuzz_config.py --hypothesis-profile=dev``
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import example, given
from hypothesis import strategies as st

from tests.entry_points import RagftError, config_from_dict, load_config
from tests.fuzz_support import (
    HOSTILE,
    byte_mutation,
    check_located,
    count,
    json_value,
    mutated,
    odd_text,
    put,
    run_fuzz,
)

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.toml"))
CONFIG_TEXTS = [p.read_text(encoding="utf-8") for p in CONFIGS]
CONFIG_KEYS = ("arms", "run", "model", "sampling", "tasks", "judge", "report", "cost", "prompt", "judges",
               "lora", "retrieval", "id", "seed", "backend", "dtype", "batch_size", "name", "loader", "path",
               "corpus", "dataset", "limit", "split", "few_shots", "max_new_tokens", "temperature", "stop",
               "server", "base_urls", "data_dir", "output_dir", "kind", "k", "retriever", "rank", "layers")
CONFIG = {
    "arms": ["base", "rag"], "run": {"id": "fz", "seed": 1}, "model": {"id": "m", "backend": "hf", "batch_size": 4},
    "sampling": {"max_new_tokens": 16, "temperature": 0.0, "stop": ["\n"]},
    "tasks": [{"name": "qa", "loader": "qa-jsonl", "path": "bundled:qa", "corpus": "bundled:corpus.jsonl", "limit": 3}],
    "report": {"language": "both"}, "cost": {"gpu_hour": 2.0}, "retrieval": {"k": 3},
}
TOML_LINES = st.sampled_from([
    "[model]", "[[tasks]]", "[run]", "[model.server]", "arms = []", 'arms = ["nope"]', "x = 1", "a.b.c = 1",
    'name = "qa"', "limit = -1", "limit = 1e400", "seed = 99999999999999999999", "temperature = nan", '"" = 1',
    'path = "data:jglue"', 'path = "../../../../etc"', "[[tasks]]\nname = 1", "key = ", "= 1", "[", "a = [1, 2",
    'a = """', "a = 'x", "a = 1979-05-27T07:32:00", "batch_size = true",
]) | odd_text.map(lambda s: f"x = {s!r}" if s.isprintable() else s)


@st.composite
def edited_config(draw: st.DrawFn) -> str:
    """One of the project's configs with lines deleted, duplicated, inserted or their values replaced."""
    lines = draw(st.sampled_from(CONFIG_TEXTS)).split("\n")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "value"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(TOML_LINES))
        elif "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {_toml_value(draw(json_value))}"
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    try:
        return tomli_w.dumps({"v": _tomlable(v)}).split("=", 1)[1].strip()
    except (TypeError, ValueError, IndexError):  # IndexError: a table is written as [v], not v = …
        return '"?"'


def _tomlable(v: Any) -> Any:
    """``v`` as TOML can hold it: no None (TOML has no null), surrogates kept (they fail at encoding)."""
    if isinstance(v, dict):
        return {str(k): _tomlable(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_tomlable(x) for x in v if x is not None]
    return "" if v is None else v


def _generated(obj: Any) -> str:
    try:
        return tomli_w.dumps(_tomlable(obj))
    except (TypeError, ValueError):  # e.g. a float tomli-w refuses; keep the test going with a known-bad text
        return "x = \n"


def _check_config(cfg: Any) -> None:
    """A valid result: a run id of safe characters, tasks with names, every number finite."""
    rid = cfg.run_id()
    assert rid and "/" not in rid and cfg.tasks and all(t.name for t in cfg.tasks)
    assert math.isfinite(cfg.sampling.temperature) and math.isfinite(cfg.sampling.top_p)


def test_toml_config(tmp_path: Path) -> None:
    @given(
        text=edited_config() | mutated(CONFIG, CONFIG_KEYS).filter(lambda o: isinstance(o, dict)).map(_generated),
        data_dir=st.sampled_from([None, "data", "/nonexistent"]), data=st.data(),
    )
    @example(text="a = " + "[" * 3000, data_dir=None, data=None).via("nested too deep")
    @example(text='[run]\nid = "x"\n[[tasks]]\nname = "q"\nloader = "qa-jsonl"\npath = "bundled:qa"\n\ud800 = 1\n',
             data_dir=None, data=None).via("a lone surrogate in the file")
    def inner(text: str, data_dir: str | None, data: Any) -> None:
        raw = text.encode("utf-8", "surrogatepass")
        raw = data.draw(byte_mutation(raw)) if data is not None else raw
        f = put(tmp_path / "cfg" / "exp.toml", raw)
        try:
            parsed = tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))  # a leading BOM is read
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            parsed = None
        try:
            _check_config(load_config(f, data_dir=str(tmp_path / data_dir) if data_dir else None))
        except RagftError as e:
            check_located(e, [f], record=parsed is not None, syntax=parsed is None)
        count("toml config")

    run_fuzz("toml config", inner)


def test_config_dict(tmp_path: Path) -> None:
    """``config_from_dict`` (what ``load_config`` calls after parsing) on mutated tables and junk,
    including values TOML cannot write (None, NaN keys, surrogates)."""

    @given(obj=mutated(CONFIG, CONFIG_KEYS, max_ops=4).filter(lambda o: isinstance(o, dict))
           | st.dictionaries(st.sampled_from(CONFIG_KEYS) | odd_text, json_value, max_size=4))
    @example(obj={**CONFIG, "run": {"id": HOSTILE[-1]}}).via("a 5000-character run id")
    def inner(obj: Any) -> None:
        src = tmp_path / "fuzz.toml"
        try:
            _check_config(config_from_dict(obj, str(src), str(tmp_path)))
        except RagftError as e:
            check_located(e, [src], record=True)
        count("config dict")

    run_fuzz("config dict", inner)
