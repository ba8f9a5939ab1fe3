"""What makes two studies the same study: the runs they train and the data they train on.

A store (``OUT/study.db``) keeps, besides the resolved study, its **identity**: what determines
the stored results. For a study run by :func:`actlab.study.runner.run_study` that is the sorted
keys of its runs (each a hash of a run's whole configuration: data set and parameters,
architecture, activation, optimizer with every hyperparameter, init, loss, schedule, dtype,
seed), a fingerprint of the data tensors, whether diagnostics are recorded, and for your own
model (``"package.module:factory"``) a fingerprint of its source files and module tree
(:func:`model_fingerprint`). Settings that
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

__all__ = ["claim", "data_fingerprint", "model_fingerprint", "study_identity"]


def data_fingerprint(tensors: Iterable[Tensor]) -> str:
    """SHA-256 of the tensors' dtypes, shapes and bytes (on the CPU)."""
    from actlab.data.files import fingerprint

    return fingerprint(tensors)


def study_identity(
    run_keys: Iterable[str], data: str, diagnostics: bool, model: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The identity of a study: its run keys (sorted), its data's fingerprint, diagnostics, and
    for your own model its :func:`model_fingerprint` (absent for catalog models)."""
    out = {"runs": sorted(set(run_keys)), "data": data, "diagnostics": bool(diagnostics)}
    return out if model is None else {**out, "model": dict(model)}


def model_fingerprint(model: Any, data: Any = None) -> dict[str, Any] | None:
    """What determines your own model's results besides its configuration: SHA-256 of the
    source files (:func:`actlab.models.user.source_modules`: the factory's module and those
    defining the classes in its module tree) and of the printed module trees.

    Args:
        model: a :class:`~actlab.models.ModelSpec` or several (the tree of each distinct one is
            hashed), a :class:`~actlab.study.Study` (with ``data``: its runs' specs; without:
            its sources only), or a ``"package.module:factory"`` reference or factory (sources).
        data: for a study, the dataset its models are sized for.

    Returns:
        ``{"reference", "sources": {module: sha256}, "tree": sha256 | None}``, JSON-able, or
        ``None`` for a catalog architecture (actlab's own code is not fingerprinted).
    """
    from actlab.models import ModelSpec, build
    from actlab.models.user import is_reference, reference_of, source_modules

    if hasattr(model, "runs") and hasattr(model, "model"):  # a Study
        study = model
        if data is None:
            return model_fingerprint(study.model)
        model = [r.model_spec(data) for r in study.runs()]
    if callable(model) or isinstance(model, str):
        reference, specs = reference_of(model), []
    else:
        specs = list(dict.fromkeys([model] if isinstance(model, ModelSpec) else model))
        if not specs:
            return None
        reference = specs[0].kind
    if not is_reference(reference):
        return None
    models = [build(s, seed=0) for s in specs]
    trees = sorted({repr(m) for m in models})
    sources = {
        name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for name, path in source_modules(reference, models).items()
    }
    tree = hashlib.sha256("\n".join(trees).encode()).hexdigest() if trees else None
    return {"reference": reference, "sources": sources, "tree": tree}


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
        action = (
            "keep the runs both studies contain and discard the others" if keep else "replace them"
        )
        raise ActlabError(
            f"{out} holds a different study: {_changed(stored, identity)} ({len(keys)} runs "
            f"stored{shared}); use another output directory, or --force (force=True) to {action}"
        )
    conn.executemany("DELETE FROM runs WHERE key = ?", ((k,) for k in keys - keep))
    return len(keep), len(keys - keep)


def _changed(stored: str, identity: str) -> str:
    """What differs between two identities (or two stored studies), in words: ``the data
    changed (fingerprint 1f2e3d4c, stored 9a8b7c6d)``."""
    old, new = json.loads(stored), json.loads(identity)
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return "what it holds differs"
    keys = [k for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
    words = {"runs": "the runs", "data": "the data", "diagnostics": "the diagnostics setting"}
    parts = [f"{words.get(k, k)} changed" for k in keys]
    if "data" in keys and isinstance(old.get("data"), str) and isinstance(new.get("data"), str):
        i = parts.index("the data changed")
        parts[i] += f" (content fingerprint {new['data'][:8]}, stored {old['data'][:8]})"
    if "model" in keys:
        parts[keys.index("model")] = _model_change(old.get("model"), new.get("model"))
    return ", ".join(parts) or "what it holds differs"


def _model_change(old: Any, new: Any) -> str:
    """``the model's source changed (mymodel)``, ``the model's module tree changed``, ..."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return "the model changed (" + ("now" if new else "was") + " your own factory)"
    if old.get("reference") != new.get("reference"):
        return f"the model changed ({old.get('reference')} -> {new.get('reference')})"
    a, b = old.get("sources") or {}, new.get("sources") or {}
    files = sorted(m for m in {*a, *b} if a.get(m) != b.get(m))
    if files:
        return f"the model's source changed ({', '.join(files)})"
    return "the model's module tree changed"


def _shared(old: Any, new: Any) -> set[str]:
    """Run keys whose stored results the new study may keep: those both identities list, when
    everything else in them (data, diagnostics) is equal."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return set()
    if "runs" not in old or "runs" not in new:
        return set()
    rest = lambda d: {k: v for k, v in d.items() if k != "runs"}  # noqa: E731
    return set(old["runs"]) & set(new["runs"]) if rest(old) == rest(new) else set()
