"""Checking one run's metric and diagnostic rows before they are stored."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from actlab.errors import ActlabError

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


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


def diagnostic_row(key: str, d: Sequence[Any] | Mapping[str, Any]) -> tuple[Any, ...]:
    if isinstance(d, Mapping):
        d = tuple(d.get(k) for k in ("step", "layer", "metric", "value"))
    if len(d) != 4:
        raise ActlabError(f"a diagnostic is (step, layer, metric, value), got {d!r}")
    step, layer, metric, value = d
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ActlabError(f"diagnostic step={step!r} is not an integer (run {key})")
    return (key, int(step), str(layer), str(metric), number(value, str(metric)))
