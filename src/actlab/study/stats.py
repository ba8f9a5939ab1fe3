"""Statistics over seeds: mean and Student-t confidence intervals, variants and their ranking.

A *variant* is one configuration without its seed; its runs are the seeds. Every statistic of a
variant is taken over its **finished** runs (status ``done``): a diverged run is frozen part-way
and a failed one has no result, so both are *counted* (``n_diverged``, ``n_failed``) and shown
next to the mean rather than mixed into it. A variant with no finished run ranks last.

Example::

    with Store.open("out") as store:
        best, *rest = summarize(store.runs(), store.metrics(), target=store.study.get("target"))
        print(best.label, best.final_mean, best.final_ci)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

from actlab.errors import ActlabError
from actlab.study.store import METRICS, RunRecord, canonical_json

__all__ = [
    "VariantSummary",
    "clip_to_range",
    "default_target",
    "format_epochs",
    "higher_is_better",
    "mean_ci",
    "metric_range",
    "summarize",
    "variant_label",
    "varying_axes",
]

PRIMARY = ("activation", "optimizer", "init", "loss")
_MISSING = object()


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


# ---------------------------------------------------------------------------- variants and labels


def _without_seed(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "seed"}


def _family(axis: str) -> str:
    return axis.split(".", 1)[0]


def _differs(values: Iterable[Any]) -> bool:
    seen = {canonical_json(v) if v is not _MISSING else "\0missing" for v in values}
    return len(seen) > 1


def varying_axes(configs: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The axes whose values differ between ``configs`` (``seed`` is never one).

    An axis is a top-level key (``"activation"``, ``"width"``) or, for an entry of a
    ``<family>_params`` dict, ``"<family>.<entry>"`` (``"optimizer.lr"``,
    ``"activation.negative_slope"``). A key missing from some configs differs from any value.
    Order: activation, optimizer, init, loss (each followed by its params), then the rest
    alphabetically.
    """
    configs = [_without_seed(c) for c in configs]
    keys = sorted({k for c in configs for k in c})
    axes = []
    for key in keys:
        values = [c.get(key, _MISSING) for c in configs]
        if key.endswith("_params") and all(isinstance(v, Mapping) or v is _MISSING for v in values):
            family = key[: -len("_params")]
            dicts = [v if isinstance(v, Mapping) else {} for v in values]
            names = [c.get(family) for c in configs]
            for entry in sorted({e for d in dicts for e in d}):
                if _entry_varies(entry, dicts, names):
                    axes.append(f"{family}.{entry}")
        elif _differs(values):
            axes.append(key)

    def order(axis: str) -> tuple[int, str, int, str]:
        family, _, entry = axis.partition(".")
        rank = PRIMARY.index(family) if family in PRIMARY else len(PRIMARY)
        return rank, family, bool(entry), entry

    return tuple(sorted(axes, key=order))


def _entry_varies(entry: str, dicts: list[Mapping[str, Any]], names: list[Any]) -> bool:
    """A params entry varies if it differs between configs of the *same* family name (two adam
    runs with different betas); a parameter that one optimizer has and another lacks is not a
    variable. The learning rate is compared across all names: "sgd lr=0.1" vs "adam lr=0.002"."""
    if entry == "lr":
        return _differs(d.get(entry, _MISSING) for d in dicts)
    by_name: dict[Any, list[Any]] = {}
    for d, name in zip(dicts, names):
        by_name.setdefault(repr(name), []).append(d.get(entry, _MISSING))
    return any(_differs(values) for values in by_name.values())


def _show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def variant_label(config: Mapping[str, Any], varying: Sequence[str]) -> str:
    """A short label from the axes in ``varying`` (see :func:`varying_axes`), joined by `` · ``.

    A family is written as its name with the varying entries of its params that this config
    has: ``leaky_relu(negative_slope=0.1)``; the optimizer as ``adam lr=0.002`` (how learning
    rates are usually quoted); other keys as ``width=100``. With nothing varying the label names
    the activation and optimizer (``relu · adam``).
    """
    if not varying:
        return " · ".join(str(config[k]) for k in ("activation", "optimizer") if k in config) or (
            "all runs"
        )
    parts = []
    for family in dict.fromkeys(_family(a) for a in varying):
        entries = [a.partition(".")[2] for a in varying if a.startswith(f"{family}.")]
        params = config.get(f"{family}_params")
        params = params if isinstance(params, Mapping) else {}
        shown = [f"{e}={_show(params[e])}" for e in entries if e in params]
        if family not in config:
            parts.append(" ".join(shown) or f"{family}=-")
        elif not shown:
            name = _show(config[family])
            has_params = f"{family}_params" in config or family in PRIMARY
            parts.append(name if has_params else f"{family}={name}")
        elif family == "optimizer":
            parts.append(" ".join([_show(config[family]), *shown]))
        else:
            parts.append(f"{_show(config[family])}({', '.join(shown)})")
    return " · ".join(parts)


# ---------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class VariantSummary:
    """One variant's results over its seeds (statistics over its ``done`` runs only).

    ``final_*`` are the ranking metric at each finished run's last epoch: ``final_mean``
    ``± final_ci`` (95% Student-t half-width, NaN for one run), ``best`` the best seed (max for
    an accuracy, min for a loss) and ``finals`` the ``(seed, value)`` pairs. ``epochs_to_target``
    is the mean, over the ``n_reached`` of ``n_runs`` runs whose test metric reached ``target``
    (a diverged run counts if it got there before diverging), of the first epoch it did so;
    NaN when none did. ``curve_*`` and ``train_loss_*`` are per-epoch means and CI half-widths
    over the runs that have a value at that epoch (the done runs; a variant with none shows its
    diverged runs), aligned with ``epochs``; ``curves`` holds the same ``(means, half-widths)``
    for every stored metric (``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``) that
    the runs recorded. :attr:`final_interval` is the CI cut to the metric's range.
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
        metric: the ranking metric, one of ``train_loss, train_acc, test_loss, test_acc``;
            ``None`` means ``test_acc`` if any run recorded it (classification), else
            ``test_loss`` (regression, lower is better).

    Returns:
        One :class:`VariantSummary` per variant, sorted by mean final metric (best first);
        variants without a finished run come last, in order of appearance.
    """
    by_run: dict[str, list[Mapping[str, Any]]] = {}
    for row in metrics:
        by_run.setdefault(row["run"], []).append(row)
    if metric is None:
        has_acc = any(r.get("test_acc") is not None for rows in by_run.values() for r in rows)
        metric = "test_acc" if has_acc else "test_loss"
    elif metric not in METRICS:
        raise ActlabError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    up = higher_is_better(metric)
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(canonical_json(_without_seed(run.config)), []).append(run)
    varying = varying_axes(group[0].config for group in groups.values())

    finals = {}
    for key, group in groups.items():
        done = [r for r in group if r.status == "done"]
        series = [(r.seed, _series(by_run.get(r.key, []), metric)) for r in done]
        finals[key] = [(seed, s[-1][1]) for seed, s in series if s]
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
    return VariantSummary(
        label=variant_label(group[0].config, varying),
        config=_without_seed(group[0].config),
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
    )


def format_epochs(s: VariantSummary) -> str:
    """Epochs to target as ``"12.3 (2/3)"``: the mean over runs that reached it, of how many."""
    if s.target is None:
        return "-"
    mean = "-" if s.n_reached == 0 else f"{s.epochs_to_target:.1f}"
    return f"{mean} ({s.n_reached}/{s.n_runs})"
