"""A running study as another process sees it (``actlab watch``): how many of its runs are
stored, and the units in training with their runs' latest metrics (from the checkpoints'
summaries, :meth:`Store.live`). Reading takes no lock and writes nothing.

>>> from actlab.study import Store, Study
>>> import tempfile
>>> study = Study(name="demo", dataset="moons", activations=["relu", "tanh"], seeds=2, epochs=1)
>>> with Store.open(tempfile.mkdtemp(), study.to_dict()) as store:
...     s = snapshot(store, *expected_runs(store.study))
>>> (s["stored"], s["total"], s["complete"])
(0, 4, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actlab.errors import ActlabError
from actlab.study.store import STATUSES, Store

__all__ = ["expected_runs", "snapshot"]


def expected_runs(study: Mapping[str, Any]) -> tuple[list[str] | None, dict[str, str]]:
    """The run keys of a stored study (``store.study``) and a label per key (``relu · adam
    lr=0.01 · seed 0``); ``(None, {})`` when the study cannot be resolved in this process (its
    tensors were given in Python, or its data file is gone)."""
    from actlab.study.spec import Study

    try:
        resolved = Study.from_dict(study)
    except (ActlabError, OSError):
        return None, {}
    runs = resolved.runs()
    axes = resolved.varying()
    return [r.key for r in runs], {r.key: f"{r.label(axes)} · seed {r.seed}" for r in runs}


def snapshot(
    store: Store, keys: Sequence[str] | None = None, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What ``store`` holds now: ``{"study", "stored", "total", "statuses", "units",
    "complete"}``; ``units``: one ``{"unit", "epoch", "epochs", "saved_at", "runs"}`` per unit in
    training, ``runs`` its runs' latest metrics (``run``, ``label``, ``status``, ``epoch``,
    ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``). ``total`` and ``complete``
    need ``keys`` (:func:`expected_runs`): ``None`` and ``False`` without them."""
    labels = labels or {}
    runs = store.runs()
    statuses = {s: sum(r.status == s for r in runs) for s in STATUSES}
    epochs = store.study.get("epochs")
    epochs = epochs if isinstance(epochs, int) else None  # a swept schedule: per unit
    units = []
    for unit in store.live():
        rows = [{**row, "label": labels.get(row["run"], row["run"])} for row in unit["summary"]]
        epoch = max((r["epoch"] for r in rows if r.get("epoch") is not None), default=None)
        units.append(
            {"unit": unit["unit"], "epoch": epoch, "epochs": epochs,
             "saved_at": unit["saved_at"], "runs": rows}
        )  # fmt: skip
    stored = {r.key for r in runs}
    complete = keys is not None and not units and set(keys) <= stored
    return {
        "study": store.study.get("name"),
        "stored": len(runs),
        "total": None if keys is None else len(set(keys)),
        "statuses": statuses,
        "units": units,
        "complete": complete,
    }
