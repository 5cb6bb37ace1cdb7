"""Shared machinery of the fuzz tests: the example budget per target, a runner that counts the
examples each target really ran, strategies for hostile text and mutated documents, and the strict
check that a rejected input got a ragft error naming the file, the line or record and the field.

The budget is written for the ``ci`` hypothesis profile (the default, registered in conftest.py;
``max_examples=1000`` there means "scale 1"); other profiles scale every target alike:
``python -m pytest -q tests/unit/test_fuzz_inputs.py --hypothesis-profile=dev`` runs a tenth.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.counters import report
from tests.entry_points import InputError, RagftError, printable

# Examples per target under the ci profile (sum >= 10,000: issue "ten thousand fuzzed inputs").
BUDGET: dict[str, int] = {
    "toml config": 1600,
    "config dict": 700,
    "qa/document/corpus jsonl": 1200,
    "random bytes": 600,
    "jaster json": 800,
    "jsquad": 600,
    "jcommonsenseqa/jnli": 600,
    "lawqa_jp": 600,
    "niilc xml": 600,
    "validate": 500,
    "judge score parser": 2400,
    "report writers": 16,
}
CI_BASE = 1000  # the ci profile's max_examples; a profile's scale is its max_examples / CI_BASE

COUNTS: dict[str, int] = {}


def planned(target: str) -> int:
    scale = settings().max_examples / CI_BASE
    return max(1, round(BUDGET[target] * scale))


def run_fuzz(target: str, test: Callable[[], None], *, suppress: Iterable[HealthCheck] = ()) -> int:
    """Run a ``@given`` test with its share of the budget, count the examples it ran, check it
    ran at least its share, and update the ``fuzzed inputs`` line printed at the end of the run."""
    want = planned(target)
    COUNTS[target] = 0
    settings(max_examples=want, suppress_health_check=list(suppress))(test)()
    ran = COUNTS[target]
    total = sum(COUNTS.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items()))
    report("fuzzed inputs", f"{total} inputs, each a valid result or a ragft error naming its location ({detail})")
    assert ran >= want, f"{target}: ran {ran} examples, planned {want}"
    return ran


def count(target: str) -> None:
    COUNTS[target] = COUNTS.get(target, 0) + 1


def put(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new file at ``path``. Removing the old file first matters for speed:
    ext4 flushes a file truncated and rewritten in place on close (about 1.5 ms each here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    return path


# -- strategies ------------------------------------------------------------------------------------

HOSTILE = [
    "", " ", "\t\n", "\u200b", "\ufeff", "\u202e\u2066RTL\u2069", "\u2028", "\u2029", "\x85", "\x00", "a\x00b",
    "\x1b[31m", "\ud800", "x\udfffy", "ｱｲｳ", "ｶﾞ", "①②", "㍻", "𠮷野家", "e\u0301", "../../etc/passwd", "C:\\x",
    "</script><script>window.__pwned=1</script>", "<!--<script>", "<img src=x onerror=alert(1)>", "]]>", "&amp;", "\"'`",
    "{{ run_id }}", "{% raw %}", "${x}", "%s%n", "\r\n", "NaN", "-0", "1e999", "a" * 5000,
]
odd_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))
leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), odd_text,
)
json_value = st.recursive(
    leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(odd_text, c, max_size=3), max_leaves=6
)


def _slots(tree: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value in ``tree`` (a JSON-like object), the root included."""
    holder = [tree]
    out: list[tuple[Any, Any]] = [(holder, 0)]
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        keys: Iterable[Any] = node.keys() if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else ()
        for k in keys:
            out.append((node, k))
            if isinstance(node[k], dict | list):
                stack.append(node[k])
    return out


OPS = st.sampled_from(["replace", "delete", "add", "duplicate", "retype"])
_KEY_STRATEGIES: dict[tuple[str, ...], st.SearchStrategy[str]] = {}


def _key_strategy(keys: tuple[str, ...]) -> st.SearchStrategy[str]:
    if keys not in _KEY_STRATEGIES:
        _KEY_STRATEGIES[keys] = st.sampled_from(keys) | odd_text if keys else odd_text
    return _KEY_STRATEGIES[keys]


@st.composite
def mutated(draw: st.DrawFn, base: Any, keys: tuple[str, ...] = (), max_ops: int = 3) -> Any:
    """``base`` (a valid document) with up to ``max_ops`` structural edits: a value replaced by
    odd data, a key or element deleted, a known or unknown key added, an element duplicated."""
    holder = [copy.deepcopy(base)]
    for _ in range(draw(st.integers(min_value=0, max_value=max_ops))):
        slots = _slots(holder[0])
        slots[0] = (holder, 0)
        container, k = slots[draw(st.integers(min_value=0, max_value=len(slots) - 1))]
        op = draw(OPS)
        value = container[k]
        if op == "replace":
            container[k] = draw(json_value)
        elif op == "delete" and container is not holder:
            del container[k]
        elif op == "add" and isinstance(value, dict):
            value[draw(_key_strategy(keys))] = draw(json_value)
        elif op == "duplicate" and isinstance(value, list) and value:
            src = value[draw(st.integers(min_value=0, max_value=len(value) - 1))]
            value.insert(draw(st.integers(min_value=0, max_value=len(value))), copy.deepcopy(src))
        elif op == "retype":
            container[k] = (
                str(value) if not isinstance(value, str) else int(value) if value.strip().isdecimal() and value.strip().isascii() and len(value) < 20 else [value]
            )
    return holder[0]


def to_json(obj: Any, *, ascii_only: bool, indent: int | None = None) -> bytes:
    """JSON bytes as a user's tool might write them; lone surrogates become invalid UTF-8 (CESU-8)."""
    return json.dumps(obj, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")


BYTE_OPS = st.sampled_from(["keep"] * 6 + ["truncate", "insert", "delete", "bom", "crlf", "cp932", "nul"])
SPLICE = st.binary(min_size=1, max_size=8) | st.sampled_from(
    [b"\n", b"{", b'"', b"\xff", b"\xe3\x81", b'"\\ud800"', b"[" * 3000]
)


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """Usually ``data`` unchanged; otherwise cut, spliced, a BOM or CRLF, or re-encoded as CP932."""
    op = draw(BYTE_OPS)
    if op == "keep" or not data:
        return data
    at = draw(st.integers(min_value=0, max_value=len(data)))
    if op == "truncate":
        return data[:at]
    if op == "insert":
        return data[:at] + draw(SPLICE) + data[at:]
    if op == "delete":
        return data[:at] + data[at + draw(st.integers(1, 8)) :]
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    if op == "nul":
        return data[:at] + b"\x00" + data[at:]
    try:
        return data.decode("utf-8").encode("cp932")
    except (UnicodeError, LookupError):
        return data[:at]


def all_examples(task: Any) -> list[Any]:
    return [e for exs in task.splits.values() for e in exs]


def check_task(task: Any) -> None:
    """A valid result: unique non-empty ids, a question unless a quiz (a jaster input may be empty),
    and every example serialises to JSON (so the run can store it)."""
    exs = all_examples(task)
    assert len({e.id for e in exs}) == len(exs)
    for e in exs:
        assert e.id and (e.question.strip() or e.kind == "quiz")
        e.model_dump_json()


# -- the strict error check ---------------------------------------------------------------------


def json_lines(data: bytes) -> dict[int, Any]:
    """Line number (split on ``\\n`` only, as editors count) -> parsed JSON of that line, for the
    lines that are valid UTF-8 JSON."""
    out: dict[int, Any] = {}
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            out[n] = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
    return out


def _blank(raw: bytes, *, first: bool) -> bool:
    """A line a reader may skip: UTF-8 whitespace only (a BOM counts only at the start of the file)."""
    try:
        return not (raw.removeprefix(b"\xef\xbb\xbf") if first else raw).decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def check_located(
    e: RagftError, files: Iterable[Path], *, jsonl: dict[Path, bytes] | None = None, record: bool = False,
    syntax: bool = False, folders: Iterable[Path] = (),
) -> InputError:
    """``e`` must be an ``InputError`` whose message starts with one of ``files`` (or, for a
    problem of a whole folder, one of ``folders``) and names the line and the field when they exist.

    ``jsonl``: the bytes of the JSONL files among ``files`` — an error on a line that holds a JSON
    object must name that line and a field; in any other non-blank JSONL file it must name a line.
    ``record``: the file parsed into records (JSON/XML/TOML), so the error must name the field
    (the key or record path, e.g. ``samples[3].output``). ``syntax``: the file does not parse, so
    the error must name the line.
    """
    assert isinstance(e, InputError), f"a data error must be an InputError (file, line, field): {e!r}"
    msg = str(e)
    paths = {str(p) for p in files}
    dirs = {str(p) for p in folders}
    assert e.path in paths | dirs, f"error names {e.path!r}, not an input file ({sorted(paths)}): {msg}"
    where = printable(e.path) + (f":{e.line}" if e.line is not None else "")
    assert msg.startswith(where + ":"), f"message does not start with {where!r}: {msg}"
    if e.field is not None:
        assert f"field '{printable(e.field)}'" in msg, msg
    if e.path not in paths:  # a problem of a whole folder (no split files, …): nothing finer to name
        assert e.line is None, f"a line number needs a file name, not a folder: {msg}"
        return e
    data = (jsonl or {}).get(Path(e.path))
    if data is not None:
        parsed = json_lines(data)
        nonblank = [n for n, raw in enumerate(data.split(b"\n"), start=1) if not _blank(raw, first=n == 1)]
        if nonblank:
            assert e.line is not None, f"a problem in a non-empty JSONL file must name the line: {msg}"
            assert e.line in nonblank, f"line {e.line} is not a non-blank line of the file {nonblank[:10]}: {msg}"
            if isinstance(parsed.get(e.line), dict):
                assert e.field is not None, f"a problem in a record must name the field: {msg}"
    if record:
        assert e.field is not None, f"a problem in a parsed record must name the field: {msg}"
    if syntax and "nested less deeply" not in msg:  # (too deep is a property of the whole file)
        assert e.line is not None or "line" in msg or "end of document" in msg, f"a syntax error must name the line: {msg}"
    return e


def parse_json(data: bytes) -> tuple[bool, Any]:
    """(parsed, value) as a strict reader sees ``data`` (UTF-8, optional BOM)."""
    try:
        return True, json.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
