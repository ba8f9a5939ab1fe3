"""A per-layer health table: the latest value of each diagnostic, one row per layer."""

from __future__ import annotations

from typing import Any

from actlab.diagnostics import rows as R

__all__ = ["health_table"]

COLUMNS = {
    "act_mean": (R.ACT_MEAN, 1),
    "act_std": (R.ACT_STD, 1),
    "dead_pct": (R.DEAD, 100),
    "saturated_pct": (R.SATURATION, 100),
    "inactive_pct": (R.INACTIVE, 100),
    "grad_norm": (R.GRAD_NORM, 1),
    "update_ratio": (R.UPDATE_RATIO, 1),
    "effective_lr": (R.EFFECTIVE_LR, 1),
}
"""Table column -> (recorded metric, scale): fractions are shown as percentages."""


def health_table(rows: R.Rows) -> list[dict[str, Any]]:
    """One dict per layer (input to output) with its latest recorded value of each metric.

    Keys: ``layer``, ``step`` (its last recorded step), ``act_mean``, ``act_std``, ``dead_pct``,
    ``saturated_pct``, ``inactive_pct`` (percentages), ``grad_norm``, ``update_ratio``,
    ``effective_lr``; ``None`` where the metric was not recorded for the layer.

    >>> health_table([(0, "layer1", "dead_fraction", 0.25), (3, "layer1", "grad_norm", 2.0)])
    [{'layer': 'layer1', 'step': 3, 'act_mean': None, 'act_std': None, 'dead_pct': 25.0, \
'saturated_pct': None, 'inactive_pct': None, 'grad_norm': 2.0, 'update_ratio': None, \
'effective_lr': None}]
    """
    frame = R.frame(rows)
    layers = R.ordered_layers({layer for by_layer in frame.values() for layer in by_layer})
    table = []
    for layer in layers:
        series = {m: frame[m][layer] for m in frame if layer in frame[m]}
        row: dict[str, Any] = {"layer": layer, "step": max(max(s) for s in series.values())}
        for key, (metric, scale) in COLUMNS.items():
            s = series.get(metric)
            row[key] = None if not s else s[max(s)] * scale
        table.append(row)
    return table
