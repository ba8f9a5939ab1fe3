"""Helpers shared by the commands: the bad-input contract (one line, exit code 2) and parsing."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from actlab.errors import ActlabError

if TYPE_CHECKING:
    from rich.console import Console

DEBUG = False
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; return the exit (code 2) for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def friendly(fn: F) -> F:
    """Turn bad input (:class:`ActlabError`) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ActlabError as e:
            if DEBUG:
                raise
            raise fail(str(e)) from None
        except OSError as e:  # a full disk, a read-only directory: say which file and what to do
            if DEBUG:
                raise
            raise fail(os_error(e)) from None

    return wrapper  # type: ignore[return-value]


def os_error(e: OSError) -> str:
    """One line for a file system error: the file, what happened, what to do."""
    where = f"{e.filename}: " if e.filename else ""
    what = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        return f"{where}{what}; free some space and rerun the same command (stored runs are kept)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}{what}; make it writable or choose another output directory with --out"
    return f"{where}{what}"


def console(*, stderr: bool = False) -> Console:
    """A rich console for tables and progress (on stderr with ``stderr``, e.g. beside ``--json``
    on stdout): the terminal's width, or at least 120 columns when writing to a file or pipe
    (rich would assume 80 and fold the tables); colours only in a terminal."""
    from rich.console import Console

    out = Console(stderr=stderr)
    return out if out.is_terminal else Console(stderr=stderr, width=max(out.width, 120))


def parse_assignments(items: Iterable[str], what: str = "--param") -> list[tuple[str, str]]:
    """``["a=1", "b.c=2"]`` -> ``[("a", "1"), ("b.c", "2")]``; a malformed item is bad input."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ActlabError(f"{what} {item!r} is not of the form KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return out
