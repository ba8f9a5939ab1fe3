"""Report figures of swept and tuned studies: the ranking metric against each swept axis, and
each variant's validation metric against the learning rate with the chosen rate marked.

* :func:`plot_sweeps` -- for each axis the study sweeps (``depth``, ``batch_size``,
  ``weight_decay``, a dataset's ``noise``, ...), one panel: the final ranking metric against the
  axis value, one line per variant (the other factors), mean over seeds with its 95% CI as a
  band cut to the metric's range. Batch sizes, booleans and names sit at evenly spaced
  categories (``full`` last); numbers spanning 20x or more use a log axis (a symmetric-log one
  when 0 is among them, linear up to the smallest positive value).
* :func:`plot_tuning` -- for a study with ``tune_lr``: per variant the mean validation metric of
  its tuning runs at each rate of the grid (log x), the chosen rate marked with a star; a rate
  whose runs diverged is an ``x`` at the bottom.

The numbers come from :func:`sweep_lines` and :func:`actlab.study.tuning.curves`, so what is
drawn can be checked without reading pixels. Importing this module inserts both makers into
:data:`actlab.report.study_figures.FIGURES`, after the comparison figure.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from actlab.report.study_figures import (
    FIGURES,
    Figure,
    _colour_and_style,
    is_accuracy,
    metric_name,
    plot_comparison,
    save_figure,
)
from actlab.study.labels import axis_value, show, variant_label, varying_axes
from actlab.study.spec import SWEEPS
from actlab.study.stats import VariantSummary
from actlab.study.store import Store

__all__ = ["Point", "plot_sweeps", "plot_tuning", "sweep_lines", "swept_axes"]

INTO = {"weight_decay": "optimizer.weight_decay", "label_smoothing": "loss.label_smoothing"}
"""Study fields swept inside a family's parameters; the others of :data:`SWEEPS` keep their
name in a run's config (``depth`` -> ``depth``)."""
NAMES = {
    "batch_size": "batch size",
    "optimizer.weight_decay": "weight decay",
    "loss.label_smoothing": "label smoothing",
    "dataset.train_size": "training points",
    "dataset.n": "points (train + test)",
}
Point = tuple[Any, float, float, float]
"""One variant at one axis value: ``(value, mean, low, high)``, the CI cut to the metric's
range (``low``/``high`` NaN without an interval)."""


def swept_axes(study: Mapping[str, Any]) -> list[str]:
    """The axes a stored study sweeps, as :func:`~actlab.study.labels.varying_axes` names
    them: ``depth``, ``optimizer.weight_decay``, ``dataset.noise``; dataset parameters first."""
    out = [
        f"dataset.{k}"
        for k, v in (study.get("dataset_params") or {}).items()
        if isinstance(v, list) and len(v) > 1
    ]
    for key in SWEEPS:
        value = study.get(key)
        if isinstance(value, list) and len(value) > 1:
            out.append(INTO.get(key, key))
    return out


def sweep_lines(summaries: Sequence[VariantSummary], axis: str) -> dict[str, list[Point]]:
    """One line per variant of the other factors (labelled by the axes that vary besides
    ``axis``): its finished points, in axis order (``full`` batch last)."""
    others = [a for a in varying_axes([s.config for s in summaries]) if a != axis]
    lines: dict[str, list[Point]] = {}
    keys: dict[str, tuple] = {}
    for s in summaries:
        if not math.isfinite(s.final_mean):
            continue
        low, high = s.final_interval
        label = variant_label(s.config, others) if others else "all runs"
        keys[label] = tuple(_order(a, axis_value(s.config, a)) for a in others)
        lines.setdefault(label, []).append((axis_value(s.config, axis), s.final_mean, low, high))
    # lines in the order of the other axes' values (legend: relu wd=0, relu wd=1e-4, tanh ...)
    return {
        k: sorted(lines[k], key=lambda p: _order(axis, p[0]))
        for k in sorted(lines, key=lambda k: (keys[k], k))
    }


def _order(axis: str, value: Any) -> tuple:
    if axis == "batch_size" and value is None:  # full batch: the largest
        return (1, 0.0, "")
    if _number(value):
        return (0, float(value), "")
    return (0, 0.0, show(value))  # names in alphabetical order


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _text(axis: str, value: Any) -> str:
    if axis == "batch_size" and value is None:
        return "full"
    if axis == "residual":
        return "on" if value else "off"
    return show(value)


def _scale(axis: str, values: list[Any]) -> str:
    """``category``, ``linear``, ``log`` or ``symlog`` for these axis values."""
    if axis == "batch_size" or not all(_number(v) for v in values):
        return "category"
    positive = [float(v) for v in values if v > 0]
    if len(positive) < 2 or max(positive) / min(positive) < 20:
        return "linear"
    return "log" if len(positive) == len(values) else "symlog"


def _x_axis(ax: Any, axis: str, values: list[Any]) -> dict[str, float]:
    """Set up ``ax``'s x axis for ``values``; return each value's position (by its text)."""
    scale = _scale(axis, values)
    ordered = sorted(values, key=lambda v: _order(axis, v))
    if scale == "category":
        ax.set_xticks(range(len(ordered)), [_text(axis, v) for v in ordered])
        ax.set_xlim(-0.5, len(ordered) - 0.5)
        return {_text(axis, v): float(i) for i, v in enumerate(ordered)}
    if scale == "log":
        ax.set_xscale("log")
    elif scale == "symlog":
        ax.set_xscale("symlog", linthresh=min(float(v) for v in values if v > 0))
    if scale != "linear" or len(ordered) <= 8:
        ax.set_xticks([float(v) for v in ordered], [_text(axis, v) for v in ordered])
        ax.minorticks_off()
    return {_text(axis, v): float(v) for v in ordered}


def _looks(labels: Sequence[str]) -> list[tuple[Any, str, str]]:
    """(colour, line style, marker) per label: the colour from the label's first part (as the
    report's other figures: the activation), style and marker from the rest, so every line
    differs from the others in at least one of the three."""
    colours, _, _ = _colour_and_style(labels)
    rests = list(dict.fromkeys(label.partition(" · ")[2] for label in labels))
    out = []
    for label in labels:
        first, _, rest = label.partition(" · ")
        i = rests.index(rest)
        out.append((colours[first], STYLES[i % len(STYLES)], MARKERS[i // len(STYLES) % 6]))
    return out


STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _legend(ax: Any, handles: list, labels: list[str]) -> None:
    if labels:
        ax.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(1.02, 0.5),
            fontsize=9 if len(labels) <= 8 else 8 if len(labels) <= 12 else 7,
            frameon=False,
        )


def plot_sweeps(summaries: Sequence[VariantSummary], store: Store, out_dir: Path) -> Figure | None:
    """The final ranking metric against each swept axis (one panel each), one line per variant
    with its 95% CI band over seeds, cut to the metric's range; ``None`` when nothing is swept."""
    axes_names = [a for a in swept_axes(store.study) if any(a == v for v in _varying(summaries))]
    if not summaries or not axes_names:
        return None
    metric = summaries[0].metric
    acc = is_accuracy(summaries)
    scale = 100.0 if acc else 1.0
    per_axis = [sweep_lines(summaries, axis) for axis in axes_names]
    heights = [max(3.4, 0.19 * len(lines) + 1.0) for lines in per_axis]  # room for the legend
    longest = max((len(label) for lines in per_axis for label in lines), default=0)
    fig, axes = plt.subplots(
        len(axes_names),
        1,
        figsize=(max(7.5, 5.4 + 0.058 * longest), sum(heights)),  # the plot keeps its width
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for ax, axis, lines in zip(axes[:, 0], axes_names, per_axis):
        values = list({_text(axis, p[0]): p[0] for pts in lines.values() for p in pts}.values())
        where = _x_axis(ax, axis, values)
        alpha = 0.18 if len(lines) <= 4 else max(0.05, 0.72 / len(lines))  # many bands: fainter
        handles = []
        for points, (color, ls, mk) in zip(lines.values(), _looks(list(lines))):
            x = np.array([where[_text(axis, p[0])] for p in points])
            mean, low, high = (np.array([p[i] for p in points]) * scale for i in (1, 2, 3))
            (line,) = ax.plot(x, mean, color=color, linestyle=ls, marker=mk, ms=4, lw=1.6)
            band = np.isfinite(low) & np.isfinite(high)
            if band.any():
                ax.fill_between(x, low, high, where=band, color=color, alpha=alpha, lw=0)
            handles.append(line)
        _legend(ax, handles, list(lines))
        ax.set_xlabel(NAMES.get(axis, axis.replace("dataset.", "dataset ")))
        ax.set_ylabel(f"final {metric_name(metric)}" + (" (%)" if acc else ""))
        ax.grid(alpha=0.3)
        if acc:
            bottom, top = ax.get_ylim()
            ax.set_ylim(max(bottom, 0.0), min(top, 100.0))
    single = all(len(s.finals) <= 1 for s in summaries)
    band = "one seed: no band" if single else "band = 95% CI over seeds, cut to the range"
    fig.suptitle(
        f"final {metric_name(metric)} per swept axis: mean over seeds ({band})", fontsize=10
    )
    fig.tight_layout()
    path = Path(out_dir) / "sweeps.png"
    save_figure(fig, path)
    caption = (
        "For each swept axis, the final ranking metric at each value, one line per variant of "
        "the other factors: mean over seeds, band = 95% Student-t interval cut to the metric's "
        "range. Batch sizes are categories (full batch last); wide numeric ranges use a log axis."
    )
    return Figure("sweeps", "Swept axes", path, caption)


def _varying(summaries: Sequence[VariantSummary]) -> tuple[str, ...]:
    return varying_axes([s.config for s in summaries])


def plot_tuning(summaries: Sequence[VariantSummary], store: Store, out_dir: Path) -> Figure | None:
    """Per variant of a tuned study, the mean validation metric of its tuning runs against the
    learning rate (log x), the chosen rate starred; ``None`` for a study without ``tune_lr``."""
    if store.study.get("tune_lr") is None:
        return None
    from actlab.study import tuning
    from actlab.study.spec import Study

    study = Study.from_dict(store.study)
    records, metrics = store.runs(), store.metrics()
    curves = tuning.curves(study, records, metrics)
    if not curves:
        return None
    chosen = tuning.best_rates(curves)
    accuracy = any(m.get("val_acc") is not None for m in metrics)
    configs = {tuning.variant_of(r): r.to_dict() for r in tuning.tuning_runs(study)}
    axes = [a for a in varying_axes(list(configs.values())) if a != "optimizer.lr"]
    labels = {v: variant_label(configs[v], axes) or configs[v]["optimizer"] for v in curves}
    fig, ax = plt.subplots(figsize=(7.5, max(3.8, 0.19 * len(labels) + 1.4)))
    looks = _looks(list(labels.values()))
    handles, names = [], []
    for k, ((variant, points), (color, ls, mk)) in enumerate(zip(curves.items(), looks)):
        lr = np.array([p[0] for p in points])
        score = np.array([p[1] for p in points])
        y = score * 100 if accuracy else -score
        ok = np.isfinite(y)
        (line,) = ax.plot(lr[ok], y[ok], color=color, linestyle=ls, marker=mk, ms=4)
        if (~ok).any():  # diverged at these rates: marked along the bottom, a row per variant
            ax.plot(lr[~ok], np.full((~ok).sum(), 0.03 + 0.035 * (k % 6)), "x", color=color, ms=6,
                    transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        best = chosen.get(variant)
        if best is not None:
            at = y[lr == best]
            if at.size and math.isfinite(at[0]):
                ax.plot([best], at[:1], "*", color=color, ms=14, mec="black", mew=0.7, zorder=4)
        handles.append(line)
        names.append(f"{labels[variant]}: lr {best:g}" if best is not None else labels[variant])
    handles.append(Line2D([], [], marker="*", color="0.4", mec="black", ls="none", ms=11))
    names.append("chosen rate")
    if any(not math.isfinite(p[1]) for pts in curves.values() for p in pts):
        handles.append(Line2D([], [], marker="x", color="0.4", ls="none", ms=6))
        names.append("diverged")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    what = "validation accuracy (%)" if accuracy else "validation loss"
    ax.set_ylabel(f"final {what}")
    if accuracy:
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, 0.0), min(top, 100.0))
    elif _all_positive(curves):
        ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both" if not accuracy else "major")
    better = "higher" if accuracy else "lower"
    seeds = study.tune_seeds
    ax.set_title(
        f"tuning: mean over {seeds} seed{'s' if seeds > 1 else ''} per rate "
        f"({better} is better; ties go to the smaller rate)",
        fontsize=10,
    )
    _legend(ax, handles, names)
    fig.tight_layout()
    path = Path(out_dir) / "tuning.png"
    save_figure(fig, path)
    caption = (
        "Each variant's tuning runs: the validation metric at the last epoch against the "
        "learning rate; the star is the rate chosen and used for all seeds in the tables."
    )
    return Figure("tuning", "Learning-rate tuning", path, caption)


def _all_positive(curves: Mapping[str, list[tuple[float, float]]]) -> bool:
    values = [-p[1] for pts in curves.values() for p in pts if math.isfinite(p[1])]
    return bool(values) and min(values) > 0 and max(values) / min(values) > 20


_AFTER = FIGURES.index(plot_comparison) + 1 if plot_comparison in FIGURES else len(FIGURES)
for _maker in (plot_tuning, plot_sweeps):  # each inserted first: sweeps, then tuning
    if _maker not in FIGURES:
        FIGURES.insert(_AFTER, _maker)
