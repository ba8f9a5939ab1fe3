"""Checkpoints of units in training: at most one epoch of a unit is lost to a crash.

A *unit* is a stack of runs trained together (:mod:`actlab.study.runner`). While it trains, its
state -- the trainer's weights, optimizer state, generators, metrics and diagnostics so far
(:class:`actlab.train.Checkpoints`) -- is written to the store's ``checkpoints`` table after
every epoch (and every few minutes inside a long one), replacing the unit's previous checkpoint in
one transaction. When the unit finishes, its runs are stored and its checkpoint deleted in one
transaction too, so at any moment a unit is either stored, checkpointed at its last saved point,
or not started; rerunning the study resumes it from there, with the same numbers as an
uninterrupted run.

A checkpoint is keyed by its unit: the hash of the unit's run keys in order. A rerun that forms
the same units (the same study, the same ``max_members``) resumes them; a unit that is formed
differently starts over (its old checkpoint is deleted as soon as any of its runs is stored).
The state is stored as ``torch.save`` bytes with their SHA-256, read back with
``torch.load(weights_only=True)``: a damaged checkpoint is never loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CHECKPOINTS", "Checkpoint", "deserialize", "serialize", "unit_key"]

CHECKPOINTS = """CREATE TABLE IF NOT EXISTS checkpoints (
    unit TEXT PRIMARY KEY,
    runs TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    state BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    saved_at REAL NOT NULL,
    summary TEXT
)"""


@dataclass(frozen=True)
class Checkpoint:
    """A unit's saved state: ``epoch`` is the epoch in progress (1-based) of which ``batch``
    steps are done; ``state`` the trainer's state as bytes (:func:`deserialize`)."""

    unit: str
    runs: tuple[str, ...]
    epoch: int
    batch: int
    state: bytes
    saved_at: float

    @property
    def epochs_done(self) -> int:
        """Whole epochs the checkpoint holds."""
        return self.epoch - 1


def unit_key(run_keys: Sequence[str]) -> str:
    """A unit's key: the first 16 hex digits of the SHA-256 of its run keys, in order."""
    return hashlib.sha256(json.dumps(list(run_keys)).encode()).hexdigest()[:16]


def serialize(state: dict[str, Any]) -> bytes:
    """The trainer's state as bytes."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def deserialize(blob: bytes) -> dict[str, Any]:
    """The state :func:`serialize` wrote, on the CPU; only tensors and plain values load."""
    import torch

    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


def save(
    conn: sqlite3.Connection,
    unit: str,
    runs: Sequence[str],
    epoch: int,
    batch: int,
    blob: bytes,
    summary: Sequence[dict[str, Any]] = (),
) -> None:
    """Replace ``unit`` 's checkpoint (inside the caller's transaction); ``summary``: each run's
    latest metrics, for ``actlab watch`` (JSON, read without loading the state)."""
    digest = hashlib.sha256(blob).hexdigest()
    row = (unit, json.dumps(list(runs)), int(epoch), int(batch), blob, digest, time.time(),
           json.dumps(list(summary), allow_nan=False) if summary else None)  # fmt: skip
    conn.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)


def live(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The units in training: ``{"unit", "runs", "epoch", "batch", "saved_at", "summary"}``."""
    if not _has_table(conn):
        return []
    query = "SELECT unit, runs, epoch, batch, saved_at, summary FROM checkpoints ORDER BY saved_at"
    return [
        {"unit": u, "runs": json.loads(r), "epoch": e, "batch": b, "saved_at": t,
         "summary": json.loads(s) if s else []}
        for u, r, e, b, t, s in conn.execute(query)
    ]  # fmt: skip


def load(conn: sqlite3.Connection, unit: str) -> Checkpoint | str | None:
    """``unit`` 's checkpoint; ``None`` if there is none; the reason, if it is damaged."""
    if not _has_table(conn):
        return None
    row = conn.execute(
        "SELECT unit, runs, epoch, batch, state, sha256, saved_at FROM checkpoints WHERE unit = ?",
        (unit,),
    ).fetchone()
    if row is None:
        return None
    unit, runs, epoch, batch, blob, digest, saved_at = row
    if hashlib.sha256(blob).hexdigest() != digest:
        return "its bytes do not match their checksum"
    return Checkpoint(unit, tuple(json.loads(runs)), epoch, batch, bytes(blob), saved_at)


def drop(conn: sqlite3.Connection, runs: Iterable[str]) -> None:
    """Delete the checkpoints of every unit holding any of ``runs`` (inside a transaction)."""
    if not _has_table(conn):
        return
    gone = set(runs)
    stale = [
        (unit,)
        for unit, keys in conn.execute("SELECT unit, runs FROM checkpoints")
        if gone & set(json.loads(keys))
    ]
    conn.executemany("DELETE FROM checkpoints WHERE unit = ?", stale)


def epochs_done(conn: sqlite3.Connection) -> dict[str, int]:
    """Whole epochs each checkpointed unit holds, by unit key (for progress)."""
    if not _has_table(conn):
        return {}
    query = "SELECT unit, epoch FROM checkpoints"
    return {unit: epoch - 1 for unit, epoch in conn.execute(query)}


def _has_table(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'"
    return conn.execute(query).fetchone() is not None
