"""Diagnostic rows ``(step, layer, metric, value)``: the names the :class:`Monitor` records, and
grouping rows by metric and layer.

The same tuples go into :meth:`actlab.study.store.Store.add_diagnostics`; rows read back from the
store (mappings with ``step``, ``layer``, ``metric`` and ``value`` keys) are accepted everywhere.

Layer names: the i-th weight layer (Linear, Conv, Maxout, ...) of a model, in registration order,
is ``"layer{i}"``; the last one is ``"output"`` when no activation follows it (the head).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actlab.errors import ActlabError

__all__ = [
    "ACT_MEAN",
    "ACT_STD",
    "DEAD",
    "DISTRIBUTIONS",
    "EFFECTIVE_LR",
    "GRAD_NORM",
    "INACTIVE",
    "METRICS",
    "OUTPUT",
    "PRE_MEAN",
    "PRE_STD",
    "QUANTILE_LEVELS",
    "SATURATION",
    "UPDATE_RATIO",
    "WEIGHT_NORM",
    "Frame",
    "Row",
    "Rows",
    "frame",
    "hidden_layers",
    "layer_index",
    "layer_name",
    "ordered_layers",
]

PRE_MEAN, PRE_STD = "pre_mean", "pre_std"  # the activation's input z
ACT_MEAN, ACT_STD = "act_mean", "act_std"  # its output f(z)
DEAD = "dead_fraction"
SATURATION = "saturation_fraction"
INACTIVE = "inactive_fraction"  # units with |f'(z)| <= 10% of max |f'| on every example
GRAD_NORM, WEIGHT_NORM = "grad_norm", "weight_norm"  # of the layer's weight tensor
UPDATE_RATIO, EFFECTIVE_LR = "update_ratio", "effective_lr"  # of its optimizer step
METRICS = (
    PRE_MEAN,
    PRE_STD,
    ACT_MEAN,
    ACT_STD,
    DEAD,
    SATURATION,
    INACTIVE,
    GRAD_NORM,
    WEIGHT_NORM,
    UPDATE_RATIO,
    EFFECTIVE_LR,
)
OUTPUT = "output"

QUANTILE_LEVELS = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
"""Levels at which a layer's weight and gradient entries are recorded (their minimum, median,
maximum and eight more): the edges of an equal-mass histogram of each tensor, which
``--tensorboard`` draws as TensorBoard histograms. Eleven numbers per tensor, not the tensor."""
DISTRIBUTIONS = {
    kind: tuple(f"{kind}_p{round(100 * p)}" for p in QUANTILE_LEVELS) for kind in ("weight", "grad")
}
"""``"weight"`` / ``"grad"`` -> the metric names of its quantiles (``grad_p0`` ... ``grad_p100``),
recorded beside :data:`METRICS` but not among them (no table or finding reads them)."""

Row = tuple[int, str, str, float]
Rows = Iterable[Sequence[Any] | Mapping[str, Any]]
"""Rows as tuples, or as the mappings ``Store.diagnostics`` returns."""
Frame = dict[str, dict[str, dict[int, float]]]
_HIDDEN = re.compile(r"layer(\d+)")


def layer_name(index: int) -> str:
    """``"layer{index}"`` (1-based): the name of the index-th weight layer."""
    return f"layer{index}"


def layer_index(name: str) -> int | None:
    """``i`` for a ``"layer{i}"`` name, else ``None``."""
    match = _HIDDEN.fullmatch(name)
    return int(match[1]) if match else None


def hidden_layers(names: Iterable[str]) -> list[str]:
    """The ``layer{i}`` names among ``names``, by ``i`` (``output`` and other names left out)."""
    return sorted({n for n in names if layer_index(n) is not None}, key=layer_index)


def ordered_layers(layers: Iterable[str]) -> list[str]:
    """Input to output: ``layer{i}`` by ``i``, then ``output``, then other names alphabetically."""
    layers = set(layers)
    hidden = hidden_layers(layers)
    rest = sorted(layers - set(hidden) - {OUTPUT})
    return hidden + ([OUTPUT] if OUTPUT in layers else []) + rest


def as_row(row: Sequence[Any] | Mapping[str, Any]) -> Row:
    """One row as ``(step, layer, metric, value)``; store mappings and ``None`` values accepted."""
    if isinstance(row, Mapping):
        row = tuple(row.get(k) for k in ("step", "layer", "metric", "value"))
    if len(row) != 4:
        raise ActlabError(f"a diagnostic row is (step, layer, metric, value), got {row!r}")
    step, layer, metric, value = row
    if isinstance(step, bool) or not isinstance(step, int):
        raise ActlabError(f"diagnostic step={step!r} is not an integer")
    return step, str(layer), str(metric), math.nan if value is None else float(value)


def frame(rows: Rows) -> Frame:
    """Rows grouped as ``{metric: {layer: {step: value}}}``, steps in increasing order.

    >>> frame([(0, "layer1", "grad_norm", 2.0), (1, "layer1", "grad_norm", 1.0)])
    {'grad_norm': {'layer1': {0: 2.0, 1: 1.0}}}
    """
    out: Frame = {}
    for step, layer, metric, value in sorted(map(as_row, rows), key=lambda r: r[0]):
        out.setdefault(metric, {}).setdefault(layer, {})[step] = value
    return out
