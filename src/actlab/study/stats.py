"""Statistics over seeds: mean and Student-t confidence intervals, variants and their ranking.

A *variant* is one configuration without its seed (:mod:`actlab.study.labels`); its runs are the
seeds. Every statistic of a variant is taken over its **finished** runs (status ``done``): a
diverged run is frozen part-way and a failed one has no result, so both are *counted*
(``n_diverged``, ``n_failed``) and shown next to the mean rather than mixed into it. A variant
with no finished run ranks last. When the runs recorded a validation split (``val_acc`` /
``val_loss``), variants are ranked on it and the test metric is carried beside it, never used
to rank. Paired tests between variants are in :mod:`actlab.study.paired`, time-to-target in
:mod:`actlab.study.targets`, per-factor means in :mod:`actlab.study.factors`.

Example::

    with Store.open("out") as store:
        best, *rest = summarize(store.runs(), store.metrics(), target=store.study.get("target"))
        print(best.label, best.final_mean, best.final_ci)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

from actlab.errors import ActlabError
from actlab.study.labels import variant_label, varying_axes, without_seed
from actlab.study.store import METRICS, RunRecord, canonical_json

__all__ = [
    "VariantSummary",
    "clip_to_range",
    "default_target",
    "format_epochs",
    "higher_is_better",
    "mean_ci",
    "metric_range",
    "ranking_metric",
    "summarize",
    "test_metric_of",
    "variant_label",
    "varying_axes",
]


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Sample mean and the half-width of its Student-t confidence interval.

    .. math:: \\bar x \\pm t_{(1+c)/2,\\,n-1}\\, s/\\sqrt{n},\\quad
              s^2 = \\tfrac{1}{n-1}\\sum_i (x_i-\\bar x)^2

    Args:
        values: the ``n`` observations (e.g. one final accuracy per seed). Nothing is filtered:
            ``None`` is rejected and a NaN makes both results NaN -- the caller decides what a
            missing value means (see :func:`summarize`).
        confidence: the coverage ``c`` in (0, 1); 0.95 gives a 95% interval.

    Returns:
        ``(mean, half_width)``. One value has no spread to estimate: its half-width is NaN
        (not 0, which would claim certainty). No values: ``(nan, nan)``.

    Example: ``mean_ci([0.9, 0.92, 0.94])`` is ``(0.92, 4.302653 * 0.02 / sqrt(3))``.
    """
    if not 0.0 < confidence < 1.0:
        raise ActlabError(f"confidence={confidence!r} must be between 0 and 1 (e.g. 0.95)")
    if any(v is None for v in values):
        raise ActlabError("mean_ci got None among its values; drop missing values first")
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan
    t = float(_scipy_stats.t.ppf((1.0 + confidence) / 2.0, n - 1))
    return mean, t * float(x.std(ddof=1)) / math.sqrt(n)


def higher_is_better(metric: str) -> bool:
    """Accuracies rank high-first, losses low-first."""
    return metric.endswith("_acc")


def metric_range(metric: str) -> tuple[float, float]:
    """The values ``metric`` can take: ``[0, 1]`` for an accuracy; a loss is left unbounded
    (most are >= 0, but a loss of the catalog may go below)."""
    return (0.0, 1.0) if higher_is_better(metric) else (-math.inf, math.inf)


def clip_to_range(mean: float, half: float, metric: str) -> tuple[float, float]:
    """The interval ``mean ± half`` cut to :func:`metric_range`: a Student-t interval is
    symmetric and can pass 100% for an accuracy near it (``0.9 ± 0.2``), which no run can
    reach, so the report shows ``[0.7, 1.0]``. NaN stays NaN.

    >>> clip_to_range(0.9, 0.2, "test_acc")
    (0.7, 1.0)
    """
    low, high = metric_range(metric)
    if not (math.isfinite(mean) and math.isfinite(half)):
        return math.nan, math.nan
    return max(mean - half, low), min(mean + half, high)


# ---------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class VariantSummary:
    """One variant's results over its seeds (statistics over its ``done`` runs only).

    ``final_*`` are the ranking ``metric`` (see :func:`ranking_metric`) at each finished run's
    last epoch: ``final_mean ± final_ci`` (95% Student-t half-width, NaN for one run) and
    ``finals`` the ``(seed, value)`` pairs; ``best`` is the best *seed* (max for an accuracy,
    min for a loss), kept for exports -- "the best variant" always means the best mean.
    When the ranking metric is a validation one, ``test_metric`` names the test metric reported
    beside it and ``test_finals``, ``test_mean``, ``test_ci`` are its values (otherwise ``None``,
    empty and NaN). ``epochs_to_target`` is the mean, over the ``n_reached`` of ``n_runs`` runs
    whose ranking metric reached ``target`` (a diverged run counts if it got there before
    diverging), of the first epoch it did so; NaN when none did. ``curve_*`` and
    ``train_loss_*`` are per-epoch means and CI half-widths over the runs that have a value at
    that epoch (the done runs; a variant with none shows its diverged runs), aligned with
    ``epochs``; ``curves`` holds the same ``(means, half-widths)``
    for every stored metric (``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``,
    ``val_loss``, ``val_acc``) that the runs recorded. :attr:`final_interval` is the CI cut
    to the metric's range.
    """

    label: str
    config: dict[str, Any]
    metric: str
    target: float | None
    n_runs: int
    n_diverged: int
    n_failed: int
    final_mean: float
    final_ci: float
    best: float
    finals: tuple[tuple[int | None, float], ...]
    epochs_to_target: float
    n_reached: int
    wall_s: float
    diverged: tuple[tuple[int | None, int | None, int | None], ...]
    errors: tuple[tuple[int | None, str], ...]
    epochs: tuple[int, ...]
    curve_mean: tuple[float, ...]
    curve_ci: tuple[float, ...]
    train_loss_mean: tuple[float, ...]
    train_loss_ci: tuple[float, ...]
    curves: Mapping[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(
        default_factory=dict, compare=False
    )
    test_metric: str | None = None
    test_finals: tuple[tuple[int | None, float], ...] = ()
    test_mean: float = math.nan
    test_ci: float = math.nan

    @property
    def n_done(self) -> int:
        return self.n_runs - self.n_diverged - self.n_failed

    @property
    def final_interval(self) -> tuple[float, float]:
        """The 95% CI of the final metric, cut to the metric's range (:func:`clip_to_range`)."""
        return clip_to_range(self.final_mean, self.final_ci, self.metric)


def _series(rows: Sequence[Mapping[str, Any]], metric: str) -> list[tuple[int, float]]:
    return [(r["epoch"], r[metric]) for r in rows if r.get(metric) is not None]


def _first_reach(series: list[tuple[int, float]], target: float, up: bool) -> int | None:
    return next((e for e, v in series if (v >= target if up else v <= target)), None)


def _curve(
    per_run: list[list[tuple[int, float]]], epochs: list[int]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    by_epoch: dict[int, list[float]] = {e: [] for e in epochs}
    for series in per_run:
        for e, v in series:
            by_epoch[e].append(v)
    stats = [mean_ci(by_epoch[e]) for e in epochs]
    return tuple(m for m, _ in stats), tuple(c for _, c in stats)


def ranking_metric(metrics: Sequence[Mapping[str, Any]]) -> str:
    """The metric a study is ranked on: validation accuracy if any row has it, else validation
    loss, else test accuracy, else test loss (a regression without a validation split).
    Selection on validation keeps the test set out of every choice; the test metric is then
    reported beside it (:func:`test_metric_of`)."""
    for name in ("val_acc", "val_loss", "test_acc"):
        if any(row.get(name) is not None for row in metrics):
            return name
    return "test_loss"


def test_metric_of(metric: str) -> str | None:
    """The test metric reported beside a validation ranking metric (``val_acc -> test_acc``);
    ``None`` for any other metric."""
    return "test_" + metric[len("val_") :] if metric.startswith("val_") else None


def default_target(best_final: float, metric: str) -> float | None:
    """A target that good variants reach and poor ones do not, from the best variant's mean.

    Accuracy: 90% of it, rounded to 0.01 (best 0.95 -> 0.86). Loss: 1.1 times it, rounded to
    two significant digits (best 0.0123 -> 0.014). ``None`` when there is no finite best.
    """
    if not math.isfinite(best_final):
        return None
    if higher_is_better(metric):
        return round(0.9 * best_final, 2)
    value = 1.1 * best_final
    return float(f"{value:.2g}") if value > 0 else value


def summarize(
    runs: Sequence[RunRecord],
    metrics: Sequence[Mapping[str, Any]],
    *,
    target: float | None = None,
    metric: str | None = None,
) -> list[VariantSummary]:
    """Group ``runs`` into variants (config without seed) and rank them, best first.

    Args:
        runs: the stored runs (:meth:`Store.runs`).
        metrics: their per-epoch rows (:meth:`Store.metrics`).
        target: the value for epochs-to-target (an accuracy, or a loss for loss metrics);
            ``None`` picks :func:`default_target` of the best variant. Each summary's
            ``target`` says which was used.
        metric: the ranking metric, one of :data:`METRICS`; ``None`` picks
            :func:`ranking_metric`: validation accuracy or loss when the runs recorded a
            validation split, else test accuracy (classification), else test loss
            (regression, lower is better).

    Returns:
        One :class:`VariantSummary` per variant, sorted by mean final metric (best first);
        variants without a finished run come last, in order of appearance.
    """
    by_run: dict[str, list[Mapping[str, Any]]] = {}
    for row in metrics:
        by_run.setdefault(row["run"], []).append(row)
    if metric is None:
        metric = ranking_metric(metrics)
    elif metric not in METRICS:
        raise ActlabError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    up = higher_is_better(metric)
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(canonical_json(without_seed(run.config)), []).append(run)
    varying = varying_axes(group[0].config for group in groups.values())

    finals = {key: _finals(group, by_run, metric) for key, group in groups.items()}
    means = {k: mean_ci([v for _, v in f])[0] for k, f in finals.items()}
    if target is None:
        best = [m for m in means.values() if math.isfinite(m)]
        target = default_target((max if up else min)(best), metric) if best else None

    out = []
    for key, group in groups.items():
        out.append(_variant(group, by_run, finals[key], metric, target, varying))

    def rank(s: VariantSummary) -> tuple[bool, float]:
        valid = math.isfinite(s.final_mean)
        return not valid, (-s.final_mean if up else s.final_mean) if valid else 0.0

    return sorted(out, key=rank)


def _finals(
    group: Sequence[RunRecord], by_run: Mapping[str, list[Mapping[str, Any]]], metric: str
) -> list[tuple[int | None, float]]:
    """``(seed, last value of metric)`` of each finished run that recorded it."""
    done = [(r.seed, _series(by_run.get(r.key, []), metric)) for r in group if r.status == "done"]
    return [(seed, series[-1][1]) for seed, series in done if series]


def _variant(
    group: list[RunRecord],
    by_run: Mapping[str, list[Mapping[str, Any]]],
    finals: list[tuple[int | None, float]],
    metric: str,
    target: float | None,
    varying: Sequence[str],
) -> VariantSummary:
    up = higher_is_better(metric)
    rows = {r.key: by_run.get(r.key, []) for r in group}
    mean, ci = mean_ci([v for _, v in finals])
    reached = []
    if target is not None:
        for r in group:
            epoch = _first_reach(_series(rows[r.key], metric), target, up)
            if epoch is not None:
                reached.append(epoch)
    shown = [r for r in group if r.status == "done"] or [r for r in group if r.status == "diverged"]
    epochs = sorted({row["epoch"] for r in shown for row in rows[r.key]})
    curves = {
        m: _curve([_series(rows[r.key], m) for r in shown], epochs)
        for m in METRICS
        if any(row.get(m) is not None for r in shown for row in rows[r.key])
    }
    nothing = ((math.nan,) * len(epochs),) * 2
    curve, train = curves.get(metric, nothing), curves.get("train_loss", nothing)
    walls = [r.wall_s for r in group if r.wall_s is not None]
    values = [v for _, v in finals]
    beside = test_metric_of(metric)
    test_finals = _finals(group, by_run, beside) if beside else []
    test_mean, test_ci = mean_ci([v for _, v in test_finals])
    return VariantSummary(
        label=variant_label(group[0].config, varying),
        config=without_seed(group[0].config),
        metric=metric,
        target=target,
        n_runs=len(group),
        n_diverged=sum(r.status == "diverged" for r in group),
        n_failed=sum(r.status == "failed" for r in group),
        final_mean=mean,
        final_ci=ci,
        best=((max if up else min)(values)) if values else math.nan,
        finals=tuple(finals),
        epochs_to_target=float(np.mean(reached)) if reached else math.nan,
        n_reached=len(reached),
        wall_s=float(np.mean(walls)) if walls else math.nan,
        diverged=tuple(
            (r.seed, r.diverged_step, max((row["epoch"] for row in rows[r.key]), default=None))
            for r in group
            if r.status == "diverged"
        ),
        errors=tuple((r.seed, r.error or "") for r in group if r.status == "failed"),
        epochs=tuple(epochs),
        curve_mean=curve[0],
        curve_ci=curve[1],
        train_loss_mean=train[0],
        train_loss_ci=train[1],
        curves=curves,
        test_metric=beside,
        test_finals=tuple(test_finals),
        test_mean=test_mean,
        test_ci=test_ci,
    )


def format_epochs(s: VariantSummary) -> str:
    """Epochs to target as ``"12.3 (2/3)"``: the mean over runs that reached it, of how many."""
    if s.target is None:
        return "-"
    mean = "-" if s.n_reached == 0 else f"{s.epochs_to_target:.1f}"
    return f"{mean} ({s.n_reached}/{s.n_runs})"
