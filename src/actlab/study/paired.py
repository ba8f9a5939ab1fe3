"""Paired comparisons over shared seeds: each variant against the best, ties, and a power estimate.

Two variants run with the same seeds share their initial weights' random stream and batch
order, so their per-seed final values are *pairs*, and the per-seed differences vary far less
than either variant does. Each variant is compared with **the best** (the best *mean* of the
ranking metric, never the best seed) on the seeds both finished:

- the paired t-test (:func:`scipy.stats.ttest_rel`) and the Wilcoxon signed-rank test
  (:func:`scipy.stats.wilcoxon`) give two-sided p-values;
- each family of p-values (one per variant compared) is Holm-corrected (:func:`holm`);
- a variant whose Holm-adjusted **t-test** p-value is >= ``alpha`` (0.05) is *tied* with the
  best: the data do not separate them, and the report ranks them ``1=`` instead of inventing an
  order. The t-test decides because with 5 seeds or fewer the signed-rank test cannot reach
  p < 0.05 at all (its smallest two-sided p-value is ``2 / 2^n``: 0.0625 for n = 5), so it
  would tie everything; the Wilcoxon p-value is reported beside it as a check that does not
  assume normal differences.

:func:`seeds_needed` turns the observed paired differences of two variants into the number of
seeds a paired t-test would need to separate them (two-sided ``alpha`` 0.05, power 0.8).

Example::

    ranking = rank(summarize(store.runs(), store.metrics()))
    for rank_text, s, c in zip(ranking.ranks, ranking.summaries, ranking.comparisons):
        print(rank_text, s.label, c and c.t_p_holm)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _scipy_stats

from actlab.errors import ActlabError
from actlab.study.stats import VariantSummary, higher_is_better

__all__ = [
    "ALPHA",
    "Comparison",
    "Ranking",
    "compare",
    "holm",
    "power",
    "rank",
    "seeds_needed",
    "t_test_p",
]

ALPHA = 0.05
MAX_SEEDS = 100_000  # seeds_needed gives up (returns inf) beyond this


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (controls the family-wise error).

    Sorted ascending, the i-th smallest (0-based) of ``m`` is multiplied by ``m - i``; each
    adjusted value is the running maximum of those products, capped at 1, and is returned in
    the input's order. NaN entries (comparisons that could not be made) stay NaN and are left
    out of the family (``m`` counts the others).

    >>> holm([0.01, 0.04, 0.03, 0.005])
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    valid = np.flatnonzero(np.isfinite(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * float(p[j])))
        out[j] = running
    return [float(v) for v in out]


@dataclass(frozen=True)
class Comparison:
    """A variant against the best on their shared seeds.

    ``seeds`` are the seeds both finished; ``differences`` the variant's final value minus the
    best's, per shared seed (so negative for a worse accuracy, positive for a worse loss).
    ``t_p`` / ``wilcoxon_p`` are the two-sided p-values of :func:`scipy.stats.ttest_rel` and
    :func:`scipy.stats.wilcoxon` (NaN with fewer than 2 shared seeds; 1 when every difference
    is 0, where scipy's statistics are undefined), ``*_holm`` the same after :func:`holm` over
    every comparison with the best. ``tied``: ``t_p_holm >= alpha``.
    """

    label: str
    best: str
    seeds: tuple[int | None, ...]
    differences: tuple[float, ...]
    t_p: float
    wilcoxon_p: float
    t_p_holm: float = math.nan
    wilcoxon_p_holm: float = math.nan
    tied: bool = False

    @property
    def mean_difference(self) -> float:
        return float(np.mean(self.differences)) if self.differences else math.nan

    @property
    def sd_difference(self) -> float:
        return float(np.std(self.differences, ddof=1)) if len(self.differences) > 1 else math.nan


def _pairs(a: VariantSummary, b: VariantSummary) -> tuple[tuple, np.ndarray, np.ndarray]:
    """The seeds both finished (in ``a``'s order) and their final values in ``a`` and ``b``."""
    theirs = {seed: v for seed, v in b.finals if seed is not None}
    seeds = tuple(seed for seed, _ in a.finals if seed in theirs)
    mine = dict(a.finals)
    return (
        seeds,
        np.array([mine[s] for s in seeds], dtype=np.float64),
        np.array([theirs[s] for s in seeds], dtype=np.float64),
    )


def t_test_p(x: np.ndarray, y: np.ndarray) -> float:
    """The paired t-test's two-sided p-value of ``x`` against ``y``: NaN under two pairs, 1 when
    they are equal, 0 when they differ by one constant (an infinite t)."""
    return _p_values(x, y, wilcoxon=False)[0]


def _p_values(x: np.ndarray, y: np.ndarray, *, wilcoxon: bool = True) -> tuple[float, float]:
    if x.size < 2:
        return math.nan, math.nan
    if np.all(x == y):  # no difference at all: scipy's statistics are 0/0
        return 1.0, 1.0
    with warnings.catch_warnings():  # nearly equal differences, ties: scipy warns and copes
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        t_p = float(_scipy_stats.ttest_rel(x, y).pvalue)
        w_p = float(_scipy_stats.wilcoxon(x, y).pvalue) if wilcoxon else math.nan
    return t_p, w_p


def compare(a: VariantSummary, b: VariantSummary) -> Comparison:
    """``a`` against ``b`` on their shared seeds (unadjusted p-values; see :func:`rank`)."""
    seeds, x, y = _pairs(a, b)
    t_p, w_p = _p_values(x, y)
    return Comparison(a.label, b.label, seeds, tuple((x - y).tolist()), t_p, w_p)


def best_of(summaries: Sequence[VariantSummary]) -> VariantSummary | None:
    """The variant with the best mean final value (``None`` if no variant finished a run)."""
    finished = [s for s in summaries if math.isfinite(s.final_mean)]
    if not finished:
        return None
    up = higher_is_better(finished[0].metric)
    return max(finished, key=lambda s: s.final_mean if up else -s.final_mean)


@dataclass(frozen=True)
class Ranking:
    """Variants in report order with their rank text and their comparison with the best.

    Order: the best, then the variants tied with it (by mean), then the others (by mean), then
    those without a finished run. ``ranks`` are ``"1="`` for the best and everything tied with
    it (``"1"`` when nothing is), else the 1-based position. ``comparisons[i]`` is ``None`` for
    the best and for variants without a finished run.
    """

    summaries: tuple[VariantSummary, ...]
    ranks: tuple[str, ...]
    comparisons: tuple[Comparison | None, ...]
    alpha: float = ALPHA

    @property
    def n_tests(self) -> int:
        """The size of the Holm family: comparisons with at least 2 shared seeds."""
        return sum(c is not None and math.isfinite(c.t_p) for c in self.comparisons)


def rank(summaries: Sequence[VariantSummary], *, alpha: float = ALPHA) -> Ranking:
    """Compare every variant with the best, Holm-correct, mark ties and order the variants.

    Args:
        summaries: :func:`actlab.study.stats.summarize` 's result (any order).
        alpha: the family-wise level; a Holm-adjusted t-test p-value >= ``alpha`` is a tie.
    """
    if not 0.0 < alpha < 1.0:
        raise ActlabError(f"alpha={alpha!r} must be between 0 and 1 (e.g. 0.05)")
    best = best_of(summaries)
    if best is None:
        return Ranking(tuple(summaries), tuple(map(str, range(1, len(summaries) + 1))),
                       (None,) * len(summaries), alpha)  # fmt: skip
    others = [s for s in summaries if s is not best and math.isfinite(s.final_mean)]
    raw = [compare(s, best) for s in others]
    t_holm, w_holm = holm([c.t_p for c in raw]), holm([c.wilcoxon_p for c in raw])
    done = {
        id(s): replace(c, t_p_holm=t, wilcoxon_p_holm=w, tied=math.isfinite(t) and t >= alpha)
        for s, c, t, w in zip(others, raw, t_holm, w_holm)
    }
    up = higher_is_better(best.metric)
    by_mean = sorted(others, key=lambda s: -s.final_mean if up else s.final_mean)
    tied = [s for s in by_mean if done[id(s)].tied]
    order = [best, *tied, *(s for s in by_mean if not done[id(s)].tied)]
    order += [s for s in summaries if not math.isfinite(s.final_mean)]
    ranks = ["1=" if tied else "1"] * (1 + len(tied))
    ranks += [str(i) for i in range(len(ranks) + 1, len(order) + 1)]
    comparisons = tuple(done.get(id(s)) for s in order)
    return Ranking(tuple(order), tuple(ranks), comparisons, alpha)


# ---------------------------------------------------------------------------- power


def power(n: int, effect: float, *, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test with ``n`` pairs at standardized effect ``effect``
    (mean difference / sd of the differences, Cohen's d_z).

    Under the alternative, ``T = mean(d) / (sd(d) / sqrt(n))`` follows a noncentral t with
    ``n - 1`` degrees of freedom and noncentrality ``d_z sqrt(n)``; the power is
    ``P(|T| > t_{1-alpha/2, n-1})`` (:data:`scipy.stats.nct`).

    >>> round(power(34, 0.5), 4)  # G*Power, matched pairs, d_z = 0.5: n = 34, power 0.8078
    0.8078
    """
    df = n - 1
    crit = float(_scipy_stats.t.ppf(1.0 - alpha / 2.0, df))
    nc = abs(effect) * math.sqrt(n)
    return float(_scipy_stats.nct.sf(crit, df, nc) + _scipy_stats.nct.cdf(-crit, df, nc))


def seeds_needed(
    mean_difference: float, sd_difference: float, *, alpha: float = ALPHA, target: float = 0.8
) -> float:
    """The fewest seeds (pairs) with which a two-sided paired t-test at ``alpha`` separates two
    variants whose per-seed differences have this mean and sd, with probability ``target``.

    Returns an integer-valued float >= 2, ``inf`` when the mean difference is 0 (no number of
    seeds separates equal means) or more than 100000 would be needed, NaN when either input
    is NaN. An sd of 0 (every seed differs by the same amount) gives 2.

    >>> seeds_needed(0.5, 1.0), seeds_needed(1.0, 1.0)  # G*Power: 34 and 10 pairs
    (34.0, 10.0)
    """
    if not (math.isfinite(mean_difference) and math.isfinite(sd_difference)):
        return math.nan
    if not 0.0 < target < 1.0:
        raise ActlabError(f"power target={target!r} must be between 0 and 1 (e.g. 0.8)")
    if mean_difference == 0:
        return math.inf
    if sd_difference == 0:
        return 2.0
    effect = mean_difference / sd_difference
    low, high = 2, 2  # power grows with n: double until it is enough, then bisect
    while power(high, effect, alpha=alpha) < target:
        low, high = high, high * 2
        if high > MAX_SEEDS:
            return math.inf
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if power(mid, effect, alpha=alpha) >= target else (mid, high)
    return float(high if power(low, effect, alpha=alpha) < target else low)
