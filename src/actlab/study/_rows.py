"""One run's rows, checked before they are stored, and written inside a transaction."""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actlab.errors import ActlabError
from actlab.study import integrity

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "val_loss", "val_acc")
STATUSES = ("done", "diverged", "failed")


def number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ActlabError(f"{what}={value!r} is not a number")
    value = float(value)
    return None if math.isnan(value) else value


def metric_row(key: str, index: int, m: Mapping[str, Any]) -> tuple[Any, ...]:
    unknown = set(m) - {"epoch", *METRICS}
    if unknown:
        raise ActlabError(
            f"unknown metric {sorted(unknown)[0]!r} for run {key}; expected epoch or one of "
            f"{', '.join(METRICS)} (other values belong in diagnostics)"
        )
    epoch = m.get("epoch", index)
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral):
        raise ActlabError(f"epoch={epoch!r} is not an integer (run {key})")
    return (key, int(epoch), *(number(m.get(name), name) for name in METRICS))


def curve_row(key: str, m: Mapping[str, Any]) -> tuple[Any, ...]:
    """A row at step resolution: ``(run, step, epoch, seconds, *METRICS)``."""
    unknown = set(m) - {"step", "epoch", "seconds", *METRICS}
    if unknown:
        raise ActlabError(
            f"unknown field {sorted(unknown)[0]!r} in a step row of run {key}; expected step, "
            f"epoch, seconds or one of {', '.join(METRICS)}"
        )
    whole = []
    for name in ("step", "epoch"):
        value = m.get(name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ActlabError(f"{name}={value!r} is not an integer (a step row of run {key})")
        whole.append(int(value))
    seconds = number(m.get("seconds"), "seconds")
    return (key, *whole, seconds, *(number(m.get(name), name) for name in METRICS))


def diagnostic_row(key: str, d: Sequence[Any] | Mapping[str, Any]) -> tuple[Any, ...]:
    if isinstance(d, Mapping):
        d = tuple(d.get(k) for k in ("step", "layer", "metric", "value"))
    if len(d) != 4:
        raise ActlabError(f"a diagnostic is (step, layer, metric, value), got {d!r}")
    step, layer, metric, value = d
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ActlabError(f"diagnostic step={step!r} is not an integer (run {key})")
    return (key, int(step), str(layer), str(metric), number(value, str(metric)))


def canonical_json(value: Any) -> str:
    """One JSON text per value: sorted keys, no spaces, no NaN (so equal configs hash equally).

    Tuples become lists; ``1`` and ``1.0`` differ, so configs should be resolved (validated
    through their ``Param`` s) before they are hashed.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ActlabError(f"not storable as JSON: {e}") from None


@dataclass(frozen=True)
class RunRows:
    """One run to store (:meth:`Store.complete_run` 's arguments), as checked rows."""

    key: str
    config: Mapping[str, Any]
    seed: int | None
    metrics: Sequence[Mapping[str, Any]]
    status: str = "done"
    diverged_step: int | None = None
    wall_s: float | None = None
    diagnostics: Iterable[Sequence[Any] | Mapping[str, Any]] = ()
    error: str | None = None
    weights: Sequence[tuple[int, bool, bytes]] = ()  # (step, final?, torch.save bytes)
    curve: Sequence[Mapping[str, Any]] = ()  # rows at step resolution (step_metrics)

    def rows(self) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], str]:
        """The run's row, its metric rows, its step rows and their checksum (bad input raises
        here)."""
        if self.status not in STATUSES:
            raise ActlabError(f"run status {self.status!r} is not one of {STATUSES}")
        row = (
            self.key,
            canonical_json(dict(self.config)),
            None if self.seed is None else int(self.seed),
            self.status,
            None if self.diverged_step is None else int(self.diverged_step),
            None if self.wall_s is None else float(self.wall_s),
            self.error,
            time.time(),
        )
        epochs = [metric_row(self.key, i, m) for i, m in enumerate(self.metrics)]
        steps = [curve_row(self.key, m) for m in self.curve]
        digest = integrity.checksum(row[1:5], (e[1:] for e in epochs), (s[1:] for s in steps))
        return row, epochs, steps, digest

    def insert(self, conn, row, epochs, steps, digest: str, replace: bool) -> None:
        """Write one run's rows (inside the caller's transaction)."""
        key = self.key
        stored = conn.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
        if stored is not None:
            if not replace and stored[0] != "failed":
                raise ActlabError(f"run {key} is already stored (status {stored[0]})")
            conn.execute("DELETE FROM runs WHERE key = ?", (key,))
        conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        names = ", ".join(("run", "epoch", *METRICS))
        marks = ", ".join("?" * (2 + len(METRICS)))
        conn.executemany(f"INSERT INTO metrics ({names}) VALUES ({marks})", epochs)
        names = ", ".join(("run", "step", "epoch", "seconds", *METRICS))
        marks = ", ".join("?" * (4 + len(METRICS)))
        conn.executemany(f"INSERT INTO step_metrics ({names}) VALUES ({marks})", steps)
        conn.execute("INSERT INTO checksums VALUES (?, ?)", (key, digest))
        conn.executemany(
            "INSERT INTO diagnostics VALUES (?, ?, ?, ?, ?)",
            (diagnostic_row(key, d) for d in self.diagnostics),
        )
        conn.executemany(
            "INSERT INTO weights VALUES (?, ?, ?, ?, ?)",
            (
                (key, int(step), int(bool(final)), blob, hashlib.sha256(blob).hexdigest())
                for step, final, blob in self.weights
            ),
        )
