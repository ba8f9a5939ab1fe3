"""What can go wrong with a store's file, said in one line: damage, a read-only place, a full disk;
per-run checksums that catch a stored value changed in place; and creating a store atomically.

A run's checksum is the SHA-256 of its stored row (config, seed, status, diverged step), its
per-epoch metrics and, when it has any, its rows at step resolution (``step_metrics``), as
canonical JSON; it is written in the run's own transaction into the
``checksums`` table and checked whenever the run or its metrics are read. Stores written before
checksums existed have no rows there: their runs are *unverified*, not errors.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

__all__ = ["CHECKSUMS", "StoreFileError", "checksum", "create_atomically", "explained"]

CHECKSUMS = """CREATE TABLE IF NOT EXISTS checksums (
    run TEXT PRIMARY KEY REFERENCES runs(key) ON DELETE CASCADE,
    sha256 TEXT NOT NULL
)"""


class StoreFileError(ActlabError):
    """The store's file cannot be read or written: damaged, read-only, or the disk is full."""


def explain(path: Path, error: BaseException) -> StoreFileError:
    """One line naming ``path``, what happened and what to do about it."""
    text = " ".join(str(error).replace("*", "").split())  # quick_check's report: one line
    low = text.lower()
    if "disk is full" in low or getattr(error, "errno", None) == errno.ENOSPC:
        return StoreFileError(
            f"{path}: the disk is full, the last write was rolled back ({text}); free some space "
            f"and rerun the same command to resume (runs stored before are kept)"
        )
    if "disk i/o error" in low:
        if _free_bytes(path.parent) < 1 << 20:
            return explain(path, sqlite3.OperationalError(f"database or disk is full: {text}"))
        return StoreFileError(
            f"{path}: the disk failed to read or write ({text}); check the disk (removed, failing "
            f"or out of quota?) and rerun the same command to resume"
        )
    if "readonly" in low or "read-only" in low or getattr(error, "errno", None) == errno.EROFS:
        return StoreFileError(
            f"{path}: cannot write, the file or its directory is read-only ({text}); make it "
            f"writable or choose another output directory with --out"
        )
    if isinstance(error, PermissionError) or "unable to open" in low:
        return StoreFileError(
            f"{path}: cannot open the store ({text}); check that the directory exists and is "
            f"readable and writable, or choose another output directory with --out"
        )
    if "locked" in low or "busy" in low:
        return StoreFileError(
            f"{path}: the store stayed locked by another process ({text}); wait for it to "
            f"finish and rerun"
        )
    return StoreFileError(
        f"{path} is damaged, not a readable actlab study store ({text}); restore it from a "
        f"copy, or move it aside and rerun the study to train it again"
    )


def _free_bytes(directory: Path) -> int:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return 1 << 62


@contextlib.contextmanager
def explained(path: Path) -> Iterator[None]:
    """Turn SQLite's and the file system's errors about ``path`` into a :class:`StoreFileError`."""
    try:
        yield
    except (sqlite3.Error, OSError, ValueError) as e:  # ValueError: undecodable text
        if isinstance(e, (sqlite3.IntegrityError, ActlabError)):
            raise
        raise explain(path, e) from e


def check_structure(conn: sqlite3.Connection) -> None:
    """SQLite's ``quick_check`` (every page of every table and index is well formed; linear in
    the file's size): damage anywhere is found on opening, not half-way through a report."""
    problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if problem != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed: {problem}")


def checksum(
    row: Sequence[Any], metrics: Iterable[Sequence[Any]], steps: Iterable[Sequence[Any]] = ()
) -> str:
    """SHA-256 of a run's ``(config JSON, seed, status, diverged step)``, its metric rows
    ``(epoch, train_loss, ...)`` sorted by epoch and its step rows ``(step, epoch, seconds,
    train_loss, ...)`` sorted by step -- left out when there are none, so a run without them
    has the checksum it had before they existed; floats are written exactly (``repr``)."""
    parts = [list(row), sorted(_trim(m) for m in metrics)]
    fine = sorted(_trim(s) for s in steps)
    if fine:
        parts.append(fine)
    text = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _trim(values: Sequence[Any]) -> list[Any]:
    """A metric row without its trailing empty (NULL) values: a row stored before a metric
    column was added, read back with that column empty, has the checksum it was written with."""
    out = list(values)
    while out and out[-1] is None:
        out.pop()
    return out


def _has_table(conn: sqlite3.Connection, name: str = "checksums") -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(query, (name,)).fetchone() is not None


def _rows_by_run(
    conn: sqlite3.Connection, table: str, runs: Sequence[Sequence[Any]]
) -> dict[str, list[tuple[Any, ...]]]:
    """``table`` 's rows (without the run column) by run: of the one run when ``runs`` holds
    one, else of every run."""
    query = f"SELECT * FROM {table}" + (" WHERE run = ?" if len(runs) == 1 else "")
    out: dict[str, list[tuple[Any, ...]]] = {}
    for run, *values in conn.execute(query, (runs[0][0],) if len(runs) == 1 else ()):
        out.setdefault(run, []).append(tuple(values))
    return out


def verify(
    conn: sqlite3.Connection, path: Path, keys: Iterable[str] | None = None
) -> tuple[str, ...]:
    """Check the stored runs (all, or ``keys``) against their checksums; return the keys of the
    unverified ones (no checksum stored). A mismatch is a :class:`StoreFileError`."""
    if not _has_table(conn, "runs"):  # an empty file, about to become a store
        return ()
    stored = dict(conn.execute("SELECT run, sha256 FROM checksums")) if _has_table(conn) else {}
    runs = conn.execute("SELECT key, config, seed, status, diverged_step FROM runs").fetchall()
    if keys is not None:
        wanted = set(keys)
        runs = [r for r in runs if r[0] in wanted]
    metrics = _rows_by_run(conn, "metrics", runs)
    steps = _rows_by_run(conn, "step_metrics", runs) if _has_table(conn, "step_metrics") else {}
    unverified = []
    for key, *row in runs:
        if key not in stored:
            unverified.append(key)
        elif checksum(row, metrics.get(key, []), steps.get(key, [])) != stored[key]:
            raise StoreFileError(
                f"{path}: the stored results of run {key} do not match their checksum (the file "
                f"was changed after they were written); restore it from a copy, or move it aside "
                f"and rerun the study"
            )
    return tuple(unverified)


def create_atomically(path: Path, build: Callable[[sqlite3.Connection], None]) -> None:
    """Create the store at ``path`` whole or not at all: ``build`` fills a temporary file in the
    same directory, which is then hard-linked to ``path`` (never replacing one that another
    process created meanwhile), so a reader never sees a store without its tables."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    files = (tmp, *(tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm")))
    _remove(files)
    try:
        # A rollback journal, not WAL: once COMMIT returns, everything is in the one file.
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # checkpoints' pages can be freed
            build(conn)
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: open theirs
        except OSError:  # a file system without hard links: rename, unless one appeared
            if not path.exists():
                os.replace(tmp, path)
    finally:
        _remove(files)


def _remove(files: Iterable[Path]) -> None:
    for name in files:
        with contextlib.suppress(FileNotFoundError):
            name.unlink()
