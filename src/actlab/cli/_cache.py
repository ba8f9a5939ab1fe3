"""What ``actlab list`` and the header of ``actlab inspect`` print, kept between runs, so that
they answer without importing torch (which the catalogs import, and which takes seconds).

One JSON file per installation, ``catalogs-<install>-<fingerprint>.json`` in ``$ACTLAB_CACHE_DIR``
(default ``$XDG_CACHE_HOME/actlab``, else ``~/.cache/actlab``). The fingerprint hashes actlab's
version, Python's and the contents of every ``.py`` file of the installed package, so a cached
value can never be stale: an edit anywhere makes a new file (and removes the old one), and a
miss computes from the live registries as before, then stores. A registry already imported is
used directly (it may hold entries registered at run time). A cache that cannot be read or
written is ignored: the command then computes, as without a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import actlab
from actlab._files import user_cache, write_text

ENV = "ACTLAB_CACHE_DIR"


def cache_dir() -> Path:
    """``$ACTLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``."""
    return user_cache(ENV)


def remembered(key: str, compute: Callable[[], Any], *, module: str) -> Any:
    """``compute()`` (plain JSON data), stored under ``key`` for the next run; computed afresh,
    and not stored, when ``module`` (the registry ``compute`` reads) is already imported. The
    value always comes back through JSON, so a stored and a fresh one are alike."""
    try:
        path = None if _imported(module) else _path()
    except (OSError, RuntimeError):  # an unreadable source file; no home directory
        path = None
    if path is None:
        return json.loads(json.dumps(compute(), allow_nan=False))
    stored = _read(path)
    if key in stored:
        return stored[key]
    text = json.dumps({**stored, key: compute()}, allow_nan=False)
    try:
        write_text(path, text)
        for old in path.parent.glob(f"{path.name.rsplit('-', 1)[0]}-*.json"):
            if old != path:  # this installation's files for sources as they were before
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full cache directory: this run computed, the next computes too
    return json.loads(text)[key]


def _imported(module: str) -> bool:
    return module in sys.modules


def _path() -> Path:
    """``catalogs-<install>-<fingerprint>.json``: ``install`` hashes where the package is, so
    that two installations sharing a cache directory keep a file each."""
    package = Path(actlab.__file__).parent
    install = hashlib.sha256(os.fsencode(package.resolve())).hexdigest()[:8]
    return cache_dir() / f"catalogs-{install}-{_fingerprint(package)}.json"


def _fingerprint(package: Path) -> str:
    """A hash of actlab's version, Python's, and the path and bytes of each source file."""
    digest = hashlib.sha256(f"{actlab.__version__}\0{sys.version}\0".encode())
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            digest.update(os.fsencode(os.path.relpath(path, package)) + b"\0")
            with open(path, "rb") as source:
                digest.update(source.read())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def _read(path: Path) -> dict[str, Any]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, unreadable, or cut short by a full disk
        return {}
    return stored if isinstance(stored, dict) else {}
