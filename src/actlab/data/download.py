"""The data cache: where downloaded and generated data live, and checksum-verified downloads.

The cache is ``$ACTLAB_DATA`` if set, else ``$XDG_CACHE_HOME/actlab`` (``~/.cache/actlab``). Each
dataset has its own folder in it. A file is downloaded once, to ``NAME.part``, checked against its
pinned MD5 and only then renamed into place, so an interrupted download never looks complete; a
file already in the cache is checked again on every load, so a damaged or tampered file is
refused rather than silently trained on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

from actlab._files import user_cache
from actlab.errors import ActlabError

__all__ = ["RemoteFile", "cache_dir", "ensure", "fetch", "md5sum", "verify"]

TIMEOUT_S = 60


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: its name in the dataset's cache folder, pinned MD5, and mirror URLs
    (tried in order)."""

    name: str
    md5: str
    urls: tuple[str, ...]


def cache_dir() -> Path:
    """The data cache: ``$ACTLAB_DATA``, else ``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``."""
    return user_cache("ACTLAB_DATA")


def md5sum(path: Path) -> str:
    """Hex MD5 of a file (a checksum against damage, not a security hash)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, md5: str) -> Path:
    """Return ``path`` if its MD5 is ``md5``; raise :class:`ActlabError` otherwise."""
    got = md5sum(path)
    if got != md5:
        raise ActlabError(
            f"{path} fails its checksum (md5 {got}, expected {md5}); delete it to download it again"
        )
    return path


def fetch(url: str, dest: Path) -> None:
    """Stream ``url`` into ``dest`` (network errors propagate as ``URLError``/``OSError``)."""
    with urlopen(url, timeout=TIMEOUT_S) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def ensure(folder: str, files: Iterable[RemoteFile]) -> list[Path]:
    """Paths of ``files`` in ``cache_dir()/folder``, downloading those missing; all verified."""
    directory = cache_dir() / folder
    paths = []
    for remote in files:
        path = directory / remote.name
        if not path.exists():
            _download(remote, path)
        paths.append(verify(path, remote.md5))
    return paths


def _download(remote: RemoteFile, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    problems = []
    for url in remote.urls:
        try:
            fetch(url, part)
        except (URLError, OSError) as e:
            problems.append(_reason(e))
            continue
        if (got := md5sum(part)) == remote.md5:
            os.replace(part, path)
            return
        problems.append(f"{url} has md5 {got}, expected {remote.md5}")
    part.unlink(missing_ok=True)
    raise ActlabError(
        f"cannot download {remote.name} ({'; '.join(problems)}); offline? "
        f"Put the file in {path.parent} by hand, or point ACTLAB_DATA at a cache that has it"
    )


def _reason(e: BaseException) -> str:
    reason = getattr(e, "reason", None) or e
    return " ".join(str(reason).split())
