"""Per-factor summaries: for each axis a grid varies, the ranking metric at each of its values,
averaged over the other factors (a main effect, as in a factorial design).

In a 7-activation x 3-optimizer study, the ``optimizer`` summary says how adam, sgd and
momentum do across the seven activations; the ``activation`` one, how each activation does
across the three optimizers. For one value of an axis, each seed that every finished variant
with that value ran gives one number, the average of those variants' final values for that
seed (the other factors averaged out with equal weight); the level's ``mean ± ci`` is the
95% Student-t interval over those per-seed averages, cut to the metric's range. It is the
seed-to-seed uncertainty of the average over *this* grid of other factors (not a claim about
settings it did not run). A variant with no finished run is counted apart
(``n_unfinished``), not averaged; with fewer than two shared seeds the mean is that of the
variants' means and there is no interval.

Example::

    for f in factor_summaries(summarize(store.runs(), store.metrics())):
        print(f.axis, f.value, f.mean, f.interval)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.study.labels import axis_value, show_value, varying_axes
from actlab.study.stats import VariantSummary, clip_to_range, higher_is_better, mean_ci
from actlab.study.store import canonical_json

__all__ = ["FactorLevel", "factor_summaries"]


@dataclass(frozen=True)
class FactorLevel:
    """One value of one axis: the mean over its ``n_variants`` finished variants of the final
    ``metric`` (``mean ± ci``, 95% Student-t over the ``seeds`` they all finished; NaN with
    fewer than two), and how many of its variants finished no run."""

    axis: str
    value: Any
    metric: str
    mean: float
    ci: float
    n_variants: int
    n_unfinished: int
    seeds: tuple[int | None, ...] = ()

    @property
    def text(self) -> str:
        """The value as the labels write it (``0.002``, ``relu``, ``(0.9, 0.999)``, ``full``
        for a full batch)."""
        if self.value is None and self.axis != "batch_size":
            return "-"
        return show_value(self.axis, self.value)

    @property
    def interval(self) -> tuple[float, float]:
        return clip_to_range(self.mean, self.ci, self.metric)


def factor_summaries(summaries: Sequence[VariantSummary]) -> list[FactorLevel]:
    """One :class:`FactorLevel` per value of each varying axis (:func:`varying_axes`), axes in
    their usual order; numeric values ascending, others best mean first. Empty when no axis
    varies."""
    axes = varying_axes([s.config for s in summaries])
    if not summaries:
        return []
    metric = summaries[0].metric
    up = higher_is_better(metric)
    out = []
    for axis in axes:
        levels: dict[str, list[VariantSummary]] = {}
        values: dict[str, Any] = {}
        for s in summaries:
            value = axis_value(s.config, axis)
            key = canonical_json(value)
            levels.setdefault(key, []).append(s)
            values.setdefault(key, value)
        rows = []
        for key, group in levels.items():
            done = [s for s in group if math.isfinite(s.final_mean)]
            mean, ci, seeds = _level(done)
            rows.append(
                FactorLevel(
                    axis, values[key], metric, mean, ci, len(done), len(group) - len(done), seeds
                )
            )
        if all(_numeric(r.value) for r in rows):
            rows.sort(key=lambda r: r.value)
        else:
            rows.sort(key=lambda r: (not math.isfinite(r.mean), -r.mean if up else r.mean))
        out.extend(rows)
    return out


def _level(done: Sequence[VariantSummary]) -> tuple[float, float, tuple[int | None, ...]]:
    """Mean and CI half-width over the seeds every variant in ``done`` finished, of each seed's
    average over the variants; fewer than two such seeds: the mean of the variants' means."""
    if not done:
        return math.nan, math.nan, ()
    finals = [dict(s.finals) for s in done]
    seeds = tuple(seed for seed, _ in done[0].finals
                  if seed is not None and all(seed in f for f in finals))  # fmt: skip
    if len(seeds) < 2:
        return float(np.mean([s.final_mean for s in done])), math.nan, seeds
    mean, ci = mean_ci([float(np.mean([f[seed] for f in finals])) for seed in seeds])
    return mean, ci, seeds


def _numeric(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
