"""What makes two studies the same study: the runs they train and the data they train on.

A store (``OUT/study.db``) keeps, besides the resolved study, its **identity**: what determines
the stored results. For a study run by :func:`actlab.study.runner.run_study` that is the sorted
keys of its runs (each a hash of a run's whole configuration: data set and parameters,
architecture, activation, optimizer with every hyperparameter, init, loss, schedule, dtype,
seed), a fingerprint of the data tensors, and whether diagnostics are recorded. Settings that
change only the report -- the name, the target accuracy, the order of the lists -- are not part
of it: changing them reuses every stored run and updates the study the report reads.

Reopening a store with a different identity is refused, unless forced; forcing keeps the stored
runs that the new study still contains (when the data and the diagnostics setting are the same)
and discards only the others.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab.errors import ActlabError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["claim", "data_fingerprint", "study_identity"]


def data_fingerprint(tensors: Iterable[Tensor]) -> str:
    """SHA-256 of the tensors' dtypes, shapes and bytes (on the CPU)."""
    import torch

    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dim() else t.numpy().tobytes())
    return h.hexdigest()


def study_identity(run_keys: Iterable[str], data: str, diagnostics: bool) -> dict[str, Any]:
    """The identity of a study: its run keys (sorted), its data's fingerprint, diagnostics."""
    return {"runs": sorted(set(run_keys)), "data": data, "diagnostics": bool(diagnostics)}


def claim(
    conn: sqlite3.Connection, out: Path, identity: str, stored: str | None, force: bool
) -> tuple[int, int] | None:
    """Check a store's identity (``stored``, JSON; ``None`` for a new store) against
    ``identity``; with ``force``, delete the stored runs the new identity does not contain.

    Returns ``(kept, discarded)`` run counts when a different study was replaced, else ``None``.
    Must run inside the caller's write transaction.
    """
    if stored is None or stored == identity:
        return None
    keys = {k for (k,) in conn.execute("SELECT key FROM runs")}
    keep = keys & _shared(json.loads(stored), json.loads(identity))
    if not force:
        shared = f", {len(keep)} of them in this study" if keep else ""
        raise ActlabError(
            f"{out} holds a different study ({len(keys)} runs stored{shared}); use another "
            "output directory, or --force (force=True) to keep the runs both studies contain "
            "and discard the others"
        )
    conn.executemany("DELETE FROM runs WHERE key = ?", ((k,) for k in keys - keep))
    return len(keep), len(keys - keep)


def _shared(old: Any, new: Any) -> set[str]:
    """Run keys whose stored results the new study may keep: those both identities list, when
    everything else in them (data, diagnostics) is equal."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return set()
    if "runs" not in old or "runs" not in new:
        return set()
    rest = lambda d: {k: v for k, v in d.items() if k != "runs"}  # noqa: E731
    return set(old["runs"]) & set(new["runs"]) if rest(old) == rest(new) else set()
