"""User-facing errors: every problem a user can cause is a ``RagftError`` with a location.

Example: ``raise InputError("tasks/data/qa/test.jsonl", "question", "a non-empty string", line=3)``
"""

from __future__ import annotations


def printable(text: str) -> str:
    """Text safe to print and log: lone surrogates and other unencodable characters escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class RagftError(Exception):
    """An error the CLI prints as one clear message (no traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


class InputError(RagftError):
    """Bad input data or config: names the file, the line or record, the field and what was expected."""

    def __init__(
        self,
        path: str,
        field: str | None,
        expected: str,
        *,
        line: int | None = None,
        got: object = None,
    ) -> None:
        self.path = str(path)
        self.field = field
        self.expected = expected
        self.line = line
        self.got = got
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field '{field}'" if field is not None else ""
        got_s = ""
        if got is not None:
            r = repr(got)
            got_s = f", got {r[:120]}{'…' if len(r) > 120 else ''}"
        super().__init__(f"{where}:{what} expected {expected}{got_s}")


class MissingDependencyError(RagftError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed. "
            f"Install it with: pip install 'ragft[{extra}]'"
        )
