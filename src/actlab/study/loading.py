"""Reading study files: TOML parsing with errors that name the file and the line.

:func:`read_toml` parses a file and returns, with the data, a function that rewrites a later
error about the data (one tagged with the study keys it concerns, see ``_fields.at``) as
``FILE:LINE: problem``. The line is found by scanning the text for the table header or key
assignment that sets those keys (the innermost one found), since ``tomllib`` keeps no positions.

>>> index = KeyLines('name = "x"\\n[lrs]\\nsgd = 0.1\\n')
>>> index.find(("lrs", "sgd")), index.find(("lrs", "adam")), index.find(("seeds",))
(3, 2, None)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["KeyLines", "read_toml", "retitled"]

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"\s*\[\[?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"\s*({_DOTTED})\s*=")
_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")
_POSITION = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$", re.DOTALL)


def read_toml(path: str | os.PathLike) -> tuple[dict[str, Any], Callable[[ActlabError], Any]]:
    """The parsed file, and ``relocate(error) -> error`` that prefixes ``FILE:LINE:``.

    Raises:
        ActlabError: a missing or unreadable file, or malformed TOML (``FILE:LINE:COL: ...``).
    """
    name = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ActlabError(f"{name}: no such study file") from None
    except IsADirectoryError:
        raise ActlabError(f"{name}: is a directory, not a study file") from None
    except OSError as e:
        raise ActlabError(f"{name}: cannot read the study file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ActlabError(f"{name}: not UTF-8 text (bad byte at offset {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ActlabError(_toml_problem(name, str(e))) from None
    index = KeyLines(text)

    def relocate(error: ActlabError) -> ActlabError:
        line = index.find(getattr(error, "path", None) or (), getattr(error, "value", None))
        return retitled(error, f"{name}:{line}: {error}" if line else f"{name}: {error}")

    return data, relocate


def retitled(error: ActlabError, message: str) -> ActlabError:
    """The same kind of error with a new message (and the same key path)."""
    new = type(error)(message)
    new.path = getattr(error, "path", None)  # type: ignore[attr-defined]
    new.value = getattr(error, "value", None)  # type: ignore[attr-defined]
    return new


def _toml_problem(name: str, message: str) -> str:
    m = _POSITION.match(message)
    if m:
        return f"{name}:{m.group(2)}:{m.group(3)}: {m.group(1)}"
    return f"{name}: {message.replace(' (at end of document)', ' at the end of the file')}"


class KeyLines:
    """Where each key of a TOML text is set: key path -> (first line, last line), 1-based.

    Table headers (``[a.b]``) and assignments (``k = ...``, dotted keys too) are indexed, with
    every prefix of their path; the first occurrence wins. A value spread over several lines (a
    multi-line array) spans them all. Inline tables are not looked into (their key's line is used).
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.spans: dict[tuple[str, ...], list[int]] = {}
        table: tuple[str, ...] = ()
        depth, current = 0, None
        for n, line in enumerate(self.lines, 1):
            code = _STRING.sub('""', line).split("#", 1)[0]
            if depth > 0:  # inside a value that started on an earlier line
                depth += _balance(code)
                self.spans[current][1] = n
                continue
            header = _HEADER.match(line)
            if header:
                table = _keys(header.group(1))
                self._add(table, n)
                continue
            assign = _ASSIGN.match(line)
            if assign:
                current = table + _keys(assign.group(1))
                self._add(current, n)
                depth = max(0, _balance(_STRING.sub('""', line[assign.end() :]).split("#", 1)[0]))

    def _add(self, path: tuple[str, ...], line: int) -> None:
        for k in range(1, len(path) + 1):
            self.spans.setdefault(path[:k], [line, line])

    def find(self, path: tuple[str, ...], value: Any = None) -> int | None:
        """The line that sets the innermost key of ``path`` found; within a multi-line value,
        the line holding ``value`` (a string) when there is one. ``None`` if no key is found."""
        for k in range(len(path), 0, -1):
            span = self.spans.get(tuple(path[:k]))
            if span:
                break
        else:
            return None
        first, last = span
        if isinstance(value, str) and last > first:
            quoted = re.compile(rf"""["']{re.escape(value)}["']""")
            for n in range(first, last + 1):
                if quoted.search(self.lines[n - 1]):
                    return n
        return first


def _keys(dotted: str) -> tuple[str, ...]:
    return tuple(k[1:-1] if k[0] in "\"'" else k for k in re.findall(_KEY, dotted))


def _balance(code: str) -> int:
    return sum(code.count(c) for c in "[{") - sum(code.count(c) for c in "]}")
