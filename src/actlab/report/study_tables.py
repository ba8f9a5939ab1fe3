"""The study report's tables and sentences as text, shared by the terminal and the HTML page:
the ranking (with paired tests against the best and ties), time to target, per-factor means,
and the one-sentence power estimate and speed-up of the top pair.

Every printed number is rounded here (accuracies in percent with one decimal, losses and
p-values to a few significant digits), so a report reads the same on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from actlab._numerics import format_number
from actlab.report.study_figures import is_accuracy, metric_name
from actlab.study.factors import FactorLevel
from actlab.study.labels import show
from actlab.study.paired import ALPHA, Comparison, Ranking, rank, seeds_needed
from actlab.study.stats import VariantSummary, clip_to_range
from actlab.study.targets import TargetTimes, speedup

__all__ = [
    "factor_rows",
    "metric_name",
    "named_rate",
    "power_sentence",
    "rate_note",
    "rows",
    "speed_sentence",
    "target_rows",
    "target_text",
    "tie_note",
]

Table = tuple[tuple[str, ...], list[tuple[str, ...]]]


def _value(v: float, acc: bool) -> str:
    return "-" if not math.isfinite(v) else f"{100 * v:.1f}" if acc else f"{v:.3g}"


def _p(p: float) -> str:
    return "-" if not math.isfinite(p) else format_number(p, digits=2)


def target_text(target: float | None, metric: str) -> str:
    """``"85% validation accuracy"``, ``"train loss ≤ 0.5"``."""
    if target is None:
        return "-"
    if metric.endswith("_acc"):
        return f"{100 * target:g}% {metric_name(metric)}"
    return f"{metric_name(metric)} ≤ {target:.3g}"


def _interval(mean: float, half: float, metric: str, n: int, acc: bool) -> str:
    """``"92.0 ± 5.0"``; cut at the metric's range, the two sides apart: ``"95.0 +5.0 −20.0"``."""
    if n == 1:
        return f"{_value(mean, acc)} (n=1)"
    low, high = clip_to_range(mean, half, metric)
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{_value(mean, acc)} ± {_value(half, acc)}"
    up, down = _value(high - mean, acc), _value(mean - low, acc)
    if up == down:
        return f"{_value(mean, acc)} ± {up}"
    return f"{_value(mean, acc)} +{up} −{down}"


def _final(s: VariantSummary, acc: bool) -> str:
    if not s.finals:
        return "diverged" if s.n_diverged else "failed"
    return _interval(s.final_mean, s.final_ci, s.metric, len(s.finals), acc)


def _difference(c: Comparison | None, acc: bool) -> str:
    if c is None:
        return "-"
    d = c.mean_difference
    if not math.isfinite(d):
        return "-"
    return f"{100 * d:+.1f}" if acc else f"{d:+.3g}"


def named_rate(label: str, config: Mapping[str, Any]) -> str:
    """``label``, naming the learning rate the variant ran at when the label does not already
    (a study whose rate does not vary between variants): ``relu · lr=0.002``."""
    lr = (config.get("optimizer_params") or {}).get("lr")
    if lr is None or f"lr={show(lr)}" in label.split(" "):
        return label
    return f"{label} · lr={show(lr)}"


def rate_note(study: Mapping[str, Any], summaries: Sequence[VariantSummary]) -> str:
    """Where the learning rates come from, in one sentence: tuned per variant, one preset per
    optimizer (not tuned: a rate that suits one optimizer better favours it), the study's
    list, or the catalog defaults -- with the rates each optimizer ran at."""
    rates: dict[str, set[float]] = {}
    for s in summaries:
        params = s.config.get("optimizer_params") or {}
        if "lr" in params:
            rates.setdefault(str(s.config.get("optimizer")), set()).add(params["lr"])
    ran = ", ".join(f"{o} {'/'.join(show(r) for r in sorted(v))}" for o, v in rates.items())
    if study.get("tune_lr") is not None:
        grid = study["tune_lr"]
        return (
            f"Learning rates: tuned per variant on the validation split over {len(grid)} rates "
            f"({show(min(grid))} to {show(max(grid))}); the tables name the rate each variant "
            f"was chosen at and ran at ({ran})."
        )
    if study.get("lr") is not None:
        return f"Learning rates: the study's list, crossed with every optimizer, not tuned ({ran})."
    source = "one preset per optimizer" if study.get("lrs") else "each optimizer's default"
    return (
        f"Learning rates: {source}, not tuned ({ran}); a rate that suits one optimizer better "
        "than another favours it (--tune-lr default chooses one per variant on validation)."
    )


def rows(summaries: Sequence[VariantSummary], target: float | None = None) -> Table:
    """The ranking table as text: ``(header, rows)``, in :func:`~actlab.study.paired.rank`
    order (the best, the variants tied with it -- rank ``1=`` --, then the others by mean).

    Columns: rank, variant (naming the learning rate it ran at: :func:`named_rate`), the
    final ranking metric (mean ± 95% CI, cut to its range), the
    test metric beside it when ranking on validation, the mean paired difference with the best
    over shared seeds, Holm-adjusted p-values of the paired t-test and Wilcoxon signed-rank test
    against the best, diverged (and failed, if any) runs, wall seconds per run. ``target`` is
    accepted for compatibility; time to target has its own table (:func:`target_rows`).
    """
    del target
    ranking = rank(summaries)
    acc = is_accuracy(summaries)
    unit = " %" if acc else ""
    first = summaries[0] if summaries else None
    what = metric_name(first.metric) if first else "test accuracy"
    beside = first.test_metric if first else None
    failed = any(s.n_failed for s in summaries)
    header = (
        "rank",
        "variant",
        f"final {what}{unit} (mean ± 95% CI)",
        *((f"final {metric_name(beside)}{unit} (not ranked)",) if beside else ()),
        "vs best" + (" (points)" if acc else ""),
        "p t-test (Holm)",
        "p Wilcoxon (Holm)",
        "diverged",
        *(("failed",) if failed else ()),
        "wall s/run",
    )
    out = []
    for r, s, c in zip(ranking.ranks, ranking.summaries, ranking.comparisons):
        best = c is None and math.isfinite(s.final_mean)
        test = _interval(s.test_mean, s.test_ci, beside, len(s.test_finals), acc) if beside else ""
        out.append(
            (
                r,
                named_rate(s.label, s.config),
                _final(s, acc),
                *((test if s.test_finals else "-",) if beside else ()),
                "best" if best else _difference(c, acc),
                "" if best else _p(c.t_p_holm if c else math.nan),
                "" if best else _p(c.wilcoxon_p_holm if c else math.nan),
                f"{s.n_diverged}/{s.n_runs}",
                *((f"{s.n_failed}/{s.n_runs}",) if failed else ()),
                "-" if not math.isfinite(s.wall_s) else f"{s.wall_s:.1f}",
            )
        )
    return header, out


def tie_note(ranking: Ranking) -> str:
    """What ``1=`` means and which test decides it."""
    if ranking.n_tests == 0:
        return (
            "No paired tests: no variant shares 2 or more finished seeds with the best, so the "
            "order below is by mean alone."
        )
    n = ranking.n_tests
    tied = sum(c is not None and c.tied for c in ranking.comparisons)
    return (
        f"Each variant is compared with the best (best mean) on the seeds both finished: paired "
        f"t-test and Wilcoxon signed-rank test, Holm-corrected over the {n} comparison"
        f"{'s' if n > 1 else ''}. {tied} variant{' is' if tied == 1 else 's are'} tied with the "
        f"best (rank 1=): Holm-adjusted t-test p ≥ {ALPHA:g}, the data do not order them. The "
        "t-test decides because with 5 seeds or fewer the signed-rank test cannot reach "
        f"p < {ALPHA:g} at all; Wilcoxon is shown as a check that does not assume normal "
        "differences."
    )


def _count(n: float) -> str:
    return "no number of" if math.isinf(n) else f"about {int(n)}"


def power_sentence(ranking: Ranking) -> str | None:
    """The power estimate for the top pair, in one sentence: ``"gelu vs relu: 0.8 points apart
    (sd 0.6 over 5 shared seeds); about 7 seeds would separate them (paired t-test, α 0.05,
    power 0.8)."``; ``None`` without a pair of 2 or more shared seeds."""
    if len(ranking.summaries) < 2 or ranking.comparisons[1] is None:
        return None
    c = ranking.comparisons[1]
    if len(c.seeds) < 2:
        return None
    acc = ranking.summaries[0].metric.endswith("_acc")
    d, sd = abs(c.mean_difference), c.sd_difference
    apart = f"{100 * d:.1f} points" if acc else format_number(d, digits=3)
    spread = f"{100 * sd:.1f}" if acc else format_number(sd, digits=3)
    n = seeds_needed(d, sd)
    return (
        f"{c.best} vs {c.label}: {apart} apart (sd {spread} over {len(c.seeds)} shared seeds); "
        f"{_count(n)} seeds would separate them (paired t-test, α {ALPHA:g}, power 0.8)"
        + ("." if math.isfinite(n) else " at this difference.")
    )


# ---------------------------------------------------------------------------- time to target


def _time(v: float, unit: str) -> str:
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "not reached"
    return format_number(v, digits=3) if unit == "second" else format_number(v, digits=6)


def _median(t: TargetTimes, unit: str) -> str:
    m = t.median(unit)
    if not math.isfinite(m):
        return _time(m, unit)
    low, high = t.interval(unit)
    return f"{_time(m, unit)} [{_time(low, unit)}, {_time(high, unit)}]"


def _times(v: float) -> str:
    """A ratio with two significant digits, at least one decimal: 0.85, 2.0, 13."""
    if not math.isfinite(v):
        return "∞" if v > 0 else "-"
    return f"{v:.2f}" if v < 1 else f"{v:.1f}" if v < 10 else f"{v:.0f}"


def _ratio(r: tuple[float, float, float]) -> str:
    if math.isnan(r[0]):
        return "-"
    return f"{_times(r[0])}{'x' if math.isfinite(r[0]) else ''} [{_times(r[1])}, {_times(r[2])}]"


def ratio_unit(times: Sequence[TargetTimes]) -> str:
    """Steps when every run's steps are known (a train size and a batch size), else epochs."""
    known = all(not (r and math.isnan(r.value("step"))) for t in times for _, r in t.runs)
    return "step" if known else "epoch"


def target_rows(times: Sequence[TargetTimes]) -> Table:
    """Time to target per variant: how many seeds reached it, and the median over seeds with a
    95% bootstrap interval in epochs, optimizer steps, examples seen and wall seconds; the last
    column is the variant's median time over the fastest variant's (with its interval)."""
    unit = ratio_unit(times)
    finite = [t for t in times if math.isfinite(t.median(unit))]
    fastest = min(finite, key=lambda t: t.median(unit)) if finite else None
    header = (
        "variant",
        "reached",
        "epochs",
        "steps",
        "examples",
        "seconds",
        f"{unit}s ÷ fastest's",
    )
    body = []
    for t in times:
        vs = "-"  # no ratio for a variant that did not get there
        if t is fastest:
            vs = "fastest"
        elif fastest is not None and math.isfinite(t.median(unit)):
            vs = _ratio(speedup(fastest, t, unit))
        body.append(
            (
                t.label,
                f"{t.n_reached}/{len(t.runs)}",
                *(_median(t, u) for u in ("epoch", "step", "example", "second")),
                vs,
            )
        )
    return header, body


def speed_sentence(a: TargetTimes, b: TargetTimes) -> str | None:
    """``"gelu reaches 85% test accuracy 1.3x [1.1, 1.6] as fast as relu (median optimizer
    steps over seeds, 95% bootstrap interval)."``; when only one of them gets there (its median
    is finite), says so; ``None`` when neither does."""
    unit = ratio_unit([a, b])
    what = "optimizer steps" if unit == "step" else "epochs"
    target = target_text(a.target, a.metric)
    finite = [t for t in (a, b) if math.isfinite(t.median(unit))]
    if len(finite) == 1:
        (t,) = finite
        other = b if t is a else a
        return (
            f"{t.label} reaches {target} (median {_time(t.median(unit), unit)} {what}); "
            f"{other.label} does not ({other.n_reached} of {len(other.runs)} seeds did)."
        )
    r = speedup(a, b, unit)
    if math.isnan(r[0]):
        return None
    return (
        f"{a.label} reaches {target} {_ratio(r)} as fast as {b.label} "
        f"(median {what} over seeds, 95% bootstrap interval)."
    )


# ---------------------------------------------------------------------------- factors


def factor_rows(levels: Sequence[FactorLevel]) -> Table:
    """Per-factor means: axis, value, the mean over the other factors ± 95% CI over seeds, and
    the number of variants averaged (and of those without a finished run)."""
    acc = bool(levels) and levels[0].metric.endswith("_acc")
    what = metric_name(levels[0].metric) if levels else "-"
    header = ("factor", "value", f"mean final {what}{' %' if acc else ''} (± 95% CI)", "variants")
    body = []
    for f in levels:
        mean = "-" if f.n_variants == 0 else _interval(f.mean, f.ci, f.metric, len(f.seeds), acc)
        extra = f" (+{f.n_unfinished} unfinished)" if f.n_unfinished else ""
        body.append((f.axis, f.text, mean, f"{f.n_variants}{extra}"))
    return header, body
