"""Time to target: when each run first reaches a value of a stored metric, in epochs, optimizer
steps, examples seen and wall-clock seconds; per variant the median over seeds, and how many
times as fast one variant gets there as another (AlgoPerf's time-to-result, on stored curves).

A run's curve is its rows at step resolution when the store holds them (``step_metrics``: a
study with ``eval_every`` or a ``steps`` budget), else its per-epoch metric rows (epoch 0 is
before any step). The first row whose value reaches the target (``>=`` for an accuracy, ``<=``
for a loss) gives the time:

- **steps**: the row's ``step`` when the store recorded one (an evaluation schedule finer than
  an epoch), else ``epoch * ceil(train size / batch size)`` (full batch: 1 step per epoch);
- **examples**: every whole epoch counts the training set once, a part-epoch its steps' batches;
- **seconds**: the row's training ``seconds`` when recorded (evaluation time left out), else
  the run's ``wall_s`` times the share of its stored steps (or epochs) done.

A run that never reaches the target (a diverged one may have got there first) counts as
infinitely slow, so a variant's median is infinite when more than half of its runs miss; a
failed run has no curve and is left out. Intervals are seeded percentile bootstraps over the
seeds (2000 resamples, seed 0: the same numbers every time); the speed-up of two variants
that share their seeds resamples the seeds as pairs.

Example::

    times = target_times(summaries, store.runs(), store.metrics(), metric="train_acc",
                         target=0.75)
    ratio, low, high = speedup(times[0], times[1])  # times[0] is `ratio` x as fast as times[1]
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from actlab.errors import ActlabError
from actlab.study.labels import without_seed
from actlab.study.stats import VariantSummary, higher_is_better
from actlab.study.store import METRICS, RunRecord, canonical_json

__all__ = [
    "UNITS",
    "Reach",
    "TargetTimes",
    "first_reach",
    "speedup",
    "steps_per_epoch",
    "target_times",
    "train_size",
]

UNITS = ("epoch", "step", "example", "second")
BOOTSTRAP = 2000
SEED = 0


def steps_per_epoch(train_size: int | None, batch_size: int | None) -> int | None:
    """Optimizer steps in one epoch: ``ceil(train_size / batch_size)``; 1 for full batch
    (``batch_size=None``); ``None`` when the train size is unknown.

    >>> steps_per_epoch(4000, 100), steps_per_epoch(250, 32), steps_per_epoch(250, None)
    (40, 8, 1)
    """
    if batch_size is None:
        return 1
    if train_size is None:
        return None
    return math.ceil(train_size / min(batch_size, train_size))


@dataclass(frozen=True)
class Reach:
    """When a run first reached the target: the epoch of that row, and the optimizer steps,
    examples seen and wall seconds by then (``None`` when unknown: no train size, no wall
    time)."""

    epoch: int
    step: int | None
    examples: int | None
    seconds: float | None

    def value(self, unit: str) -> float:
        v = {"epoch": self.epoch, "step": self.step, "example": self.examples,
             "second": self.seconds}[unit]  # fmt: skip
        return math.nan if v is None else float(v)


def _check(metric: str, target: float) -> None:
    if metric not in METRICS:
        raise ActlabError(f"target metric {metric!r} is not one of {', '.join(METRICS)}")
    if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target):
        raise ActlabError(f"target={target!r} is not a finite number")


def first_reach(
    rows: Sequence[Mapping],
    metric: str,
    target: float,
    *,
    train_size: int | None = None,
    batch_size: int | None = None,
    wall_s: float | None = None,
) -> Reach | None:
    """The first of a run's metric ``rows`` (``{"epoch", metric, ...}``) whose ``metric``
    reaches ``target``, as a :class:`Reach`; ``None`` if none does.

    Args:
        rows: one run's per-epoch rows (:meth:`Store.metrics`), any order.
        metric: a stored metric (``train_loss``, ``val_acc``, ...); accuracies reach a target
            from below (``>=``), losses from above (``<=``).
        train_size, batch_size: for steps and examples (see :func:`steps_per_epoch`).
        wall_s: the run's wall time, spread evenly over its stored steps (or epochs), for
            rows without their own ``seconds``.
    """
    _check(metric, target)
    up = higher_is_better(metric)
    rows = sorted(rows, key=lambda r: (r["epoch"], r.get("step") or 0))
    hit = next((r for r in rows if r.get(metric) is not None
                and (r[metric] >= target if up else r[metric] <= target)), None)  # fmt: skip
    if hit is None:
        return None
    per_epoch = steps_per_epoch(train_size, batch_size)

    def step_of(row: Mapping) -> int | None:
        if row.get("step") is not None:
            return int(row["step"])
        return None if per_epoch is None else row["epoch"] * per_epoch

    step = step_of(hit)
    examples = None
    if step is not None and per_epoch is not None and train_size is not None:
        whole, part = divmod(step, per_epoch)
        batch = train_size if batch_size is None else batch_size
        examples = whole * train_size + min(part * batch, train_size)
    seconds = None
    if hit.get("seconds") is not None:
        seconds = float(hit["seconds"])
    elif wall_s is not None:
        last = step_of(rows[-1]) if step is not None else rows[-1]["epoch"]
        done = step if step is not None else hit["epoch"]
        seconds = wall_s * done / last if last else 0.0
    return Reach(int(hit["epoch"]), step, examples, seconds)


# ---------------------------------------------------------------------------- variants


def _bootstrap_indices(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, n, size=(BOOTSTRAP, n))


def _quantiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    q = np.quantile(values, [(1 - confidence) / 2, (1 + confidence) / 2], method="inverted_cdf")
    return float(q[0]), float(q[1])


@dataclass(frozen=True)
class TargetTimes:
    """One variant's time to ``target`` on ``metric``: each run's :class:`Reach` (``None``:
    never reached), in the order of its seeds, failed runs left out."""

    label: str
    metric: str
    target: float
    runs: tuple[tuple[int | None, Reach | None], ...]

    @property
    def n_reached(self) -> int:
        return sum(r is not None for _, r in self.runs)

    def values(self, unit: str = "step") -> np.ndarray:
        """Per run, the time in ``unit`` (one of :data:`UNITS`); ``inf`` for a run that never
        reached the target, NaN where the unit is unknown (no train size)."""
        if unit not in UNITS:
            raise ActlabError(f"time unit {unit!r} is not one of {', '.join(UNITS)}")
        return np.array([math.inf if r is None else r.value(unit) for _, r in self.runs])

    def median(self, unit: str = "step") -> float:
        """The median over seeds (``inf`` if more than half never reached the target)."""
        v = self.values(unit)
        return math.nan if v.size == 0 or np.isnan(v).any() else float(np.median(v))

    def interval(self, unit: str = "step", confidence: float = 0.95) -> tuple[float, float]:
        """Percentile bootstrap interval of :meth:`median` over the seeds (seeded)."""
        v = self.values(unit)
        if v.size == 0 or np.isnan(v).any():
            return math.nan, math.nan
        medians = np.median(v[_bootstrap_indices(v.size, np.random.default_rng(SEED))], axis=1)
        return _quantiles(medians, confidence)


def speedup(
    a: TargetTimes, b: TargetTimes, unit: str = "step", *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """How many times as fast ``a`` reaches the target as ``b``: ``median(b) / median(a)``
    (2.0: ``a`` needs half the steps), with a seeded percentile bootstrap interval.

    Runs of two variants with the same seeds are resampled as pairs (a seed's two runs shared
    their initial weights and batch order); otherwise each variant's seeds are resampled
    apart. Resamples where neither median is finite have no ratio and are left out.

    Returns:
        ``(ratio, low, high)``; NaN when the ratio is undefined (neither variant's median is
        finite, or a unit is unknown), ``inf`` / 0 when only one variant's median is finite.
    """
    if not 0.0 < confidence < 1.0:
        raise ActlabError(f"confidence={confidence!r} must be between 0 and 1 (e.g. 0.95)")
    va, vb = a.values(unit), b.values(unit)
    if va.size == 0 or vb.size == 0 or np.isnan(va).any() or np.isnan(vb).any():
        return math.nan, math.nan, math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.median(vb) / np.median(va))
        rng = np.random.default_rng(SEED)
        seeds_a, seeds_b = [s for s, _ in a.runs], [s for s, _ in b.runs]
        if None not in seeds_a + seeds_b and sorted(seeds_a) == sorted(seeds_b):
            vb = vb[np.argsort(seeds_b)][np.argsort(np.argsort(seeds_a))]  # b in a's seed order
            ia = ib = _bootstrap_indices(va.size, rng)
        else:
            ia, ib = _bootstrap_indices(va.size, rng), _bootstrap_indices(vb.size, rng)
        ratios = np.median(vb[ib], axis=1) / np.median(va[ia], axis=1)
    low, high = _quantiles(ratios, confidence)
    return ratio, low, high


def train_size(config: Mapping) -> int | None:
    """The number of training examples a stored run trained on: its dataset loaded as the
    runner loads it (:func:`actlab.study.runner.load_data`: same data seed, same validation
    hold-out). ``None`` when the data cannot be loaded (a missing file, or a downloaded data set
    that is not in the cache: a report never starts a download)."""
    from actlab.data import DATASETS
    from actlab.data.download import cache_dir
    from actlab.study.runner import load_data
    from actlab.study.spec import Study

    name = config.get("dataset")
    if isinstance(name, str) and name in DATASETS:
        info = DATASETS.get(name)
        if info.source == "download" and not (cache_dir() / info.name).is_dir():
            return None
    try:
        study = Study(
            dataset=config["dataset"],
            dataset_params=config.get("dataset_params") or {},
            validation=config.get("validation", 0.0),
        )
        return len(load_data(study).x_train)
    except (ActlabError, OSError, KeyError, TypeError, ValueError):
        return None


def target_times(
    summaries: Sequence[VariantSummary],
    runs: Sequence[RunRecord],
    metrics: Sequence[Mapping],
    *,
    metric: str,
    target: float,
    sizes: Callable[[Mapping], int | None] = train_size,
    steps: Sequence[Mapping] = (),
) -> list[TargetTimes]:
    """Each variant's :class:`TargetTimes`, aligned with ``summaries``.

    Args:
        summaries: the variants (:func:`actlab.study.stats.summarize`); their runs are the
            stored ``runs`` with the same config apart from the seed.
        runs, metrics: the store's runs and per-epoch rows.
        steps: the store's rows at step resolution (:meth:`Store.step_metrics`): a run that
            has some is timed on them instead of its per-epoch rows.
        metric, target: the target, on any stored metric (``train_loss``, ``val_acc``, ...).
        sizes: a run config's train size (default :func:`train_size`, called once per distinct
            dataset); with a ``batch_size`` in the config it gives steps and examples.
    """
    _check(metric, target)
    by_run: dict[str, list[Mapping]] = {}
    for row in metrics:
        by_run.setdefault(row["run"], []).append(row)
    fine: dict[str, list[Mapping]] = {}
    for row in steps:
        fine.setdefault(row["run"], []).append(row)
    by_run |= fine
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        if run.status != "failed":
            groups.setdefault(canonical_json(without_seed(run.config)), []).append(run)
    known: dict[str, int | None] = {}

    def size(config: Mapping) -> int | None:
        data = {k: config.get(k) for k in ("dataset", "dataset_params", "validation")}
        key = json.dumps(data, sort_keys=True, default=str)
        if key not in known:
            known[key] = sizes(config)
        return known[key]

    out = []
    for s in summaries:
        group = groups.get(canonical_json(s.config), [])
        reached = []
        for r in sorted(group, key=lambda r: (r.seed is None, r.seed or 0)):
            known_batch = "batch_size" in r.config  # else steps are unknown (not full batch)
            reach = first_reach(
                by_run.get(r.key, []),
                metric,
                target,
                train_size=size(r.config) if known_batch else None,
                batch_size=r.config["batch_size"] if known_batch else 1,
                wall_s=r.wall_s,
            )
            reached.append((r.seed, reach))
        out.append(TargetTimes(s.label, metric, float(target), tuple(reached)))
    return out
