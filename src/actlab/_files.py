"""Files written whole or not at all: a temporary name beside the target, then an atomic rename.

A kill, a full disk or an exception while writing leaves the previous file (or none), never a
half-written figure, report or page.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> write_text(target, "done")
>>> target.read_text()
'done'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["replacing", "save_figure", "write_text"]


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends normally it is renamed onto
    ``path`` (``os.replace``: atomic on one file system), otherwise it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> None:
    """``fig.savefig(path, **savefig)`` atomically; the format comes from ``path``'s suffix."""
    path = Path(path)
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        fig.savefig(handle, format=path.suffix[1:].lower(), **savefig)


def user_cache(env: str) -> Path:
    """A cache folder of actlab's: ``$env`` if set, else ``$XDG_CACHE_HOME/actlab`` or
    ``~/.cache/actlab``."""
    if value := os.environ.get(env):
        return Path(value).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "actlab"
