"""Figures of a study report: learning curves and a per-seed comparison of final results.

Each figure is made by a function ``(summaries, store, out_dir) -> Figure | None`` that saves a PNG
in ``out_dir`` (or returns ``None`` when the study lacks its data); :data:`FIGURES` lists them in
report order. To add a section (e.g. gradient-flow heatmaps), write such a function and append it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from actlab import _files
from actlab.study.paired import rank
from actlab.study.stats import VariantSummary, higher_is_better, metric_range
from actlab.study.store import Store

__all__ = ["FIGURES", "Figure", "is_accuracy", "metric_name", "plot_comparison", "plot_curves"]

STYLES = ("-", "--", ":", "-.")
MARKERS = (None, "o", "s", "^", "x")


@dataclass(frozen=True)
class Figure:
    """One figure of the report: ``name`` (its key in :func:`render`'s result), a title, the PNG
    written, and a caption."""

    name: str
    title: str
    path: Path
    caption: str = ""


def metric_name(metric: str) -> str:
    """``val_acc -> "validation accuracy"``, ``train_loss -> "train loss"``."""
    names = {"val": "validation", "acc": "accuracy"}
    return " ".join(names.get(part, part) for part in metric.split("_"))


def is_accuracy(summaries: Sequence[VariantSummary]) -> bool:
    """Whether the summaries rank an accuracy (higher is better, shown in percent)."""
    return bool(summaries) and higher_is_better(summaries[0].metric)


def _colour_and_style(labels: Sequence[str]) -> tuple[dict, dict, list[tuple[Any, Any, Any]]]:
    """Encode a grid's axes: the label's first part (the activation, in a study that varies it)
    picks the colour, the rest (optimizer and lr, init, ...) the line style and marker. Returns
    ``{first part: colour}``, ``{rest: (linestyle, marker)}`` and one (colour, style, marker)
    per label -- so 7 activations x 3 optimizers need 7 colours and 3 styles, not 21 colours."""
    parts = [label.split(" · ", 1) for label in labels]
    firsts = list(dict.fromkeys(p[0] for p in parts))
    rests = list(dict.fromkeys(p[1] if len(p) > 1 else "" for p in parts))
    cmap = plt.get_cmap("tab10" if len(firsts) <= 10 else "tab20")
    colours = {f: cmap(i % cmap.N) for i, f in enumerate(firsts)}
    styles = {r: (STYLES[i % len(STYLES)], MARKERS[i // len(STYLES) % len(MARKERS)])
              for i, r in enumerate(rests)}  # fmt: skip
    out = [(colours[p[0]], *styles[p[1] if len(p) > 1 else ""]) for p in parts]
    return colours, styles, out


def _legend(fig: Any, handles: list, labels: list[str]) -> None:
    ncol = 1 + (len(labels) - 1) // 25
    fig.legend(
        handles,
        labels,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        ncol=ncol,
        fontsize=8 if len(labels) > 10 else 9,
        frameon=False,
    )


def _positive(*arrays: np.ndarray) -> bool:
    values = np.concatenate([a[np.isfinite(a)] for a in arrays])
    return values.size > 0 and bool((values > 0).all())


def _band(ax: Any, x: np.ndarray, mean, ci, color, ls, log, bounds=(-math.inf, math.inf), mk=None):
    """The mean line and its CI band, the band cut to ``bounds`` (the metric's range)."""
    m, c = np.asarray(mean, dtype=float), np.asarray(ci, dtype=float)
    ok = np.isfinite(m)
    marker = "o" if ok.sum() == 1 else mk
    every = max(1, int(ok.sum()) // 8)
    kw = {"marker": marker, "ms": 4, "markevery": every} if marker else {}
    (line,) = ax.plot(x[ok], m[ok], color=color, linestyle=ls, lw=1.6, **kw)
    band = ok & np.isfinite(c)
    if band.any():
        lo, hi = np.where(band, m - c, 0.0), np.where(band, m + c, 0.0)
        lo, hi = np.clip(lo, *bounds), np.clip(hi, *bounds)
        if log:  # a log axis cannot show a lower edge at or below 0: stop a decade down
            lo = np.maximum(lo, np.where(band, m, 1.0) * 0.1)
        ax.fill_between(x, lo, hi, where=band, color=color, alpha=0.15, lw=0)
    return line


# (metric, panel title) in panel order; a panel is drawn when some run recorded its metric
PANELS = (
    ("val_acc", "validation accuracy (%)"),
    ("test_acc", "test accuracy (%)"),
    ("train_acc", "train accuracy (%)"),
    ("val_loss", "validation loss"),
    ("test_loss", "test loss"),
    ("train_loss", "train loss"),
)


def plot_curves(summaries: Sequence[VariantSummary], store: Store, out_dir: Path) -> Figure | None:
    """Per-epoch curves of every stored metric (validation, test and train accuracy and loss;
    losses on a log axis when positive; three columns when a validation split adds two
    panels): mean line and 95% CI band per variant, the band cut to the metric's range (no
    band with one run). Colour = the label's first part (activation),
    line style = the rest (optimizer, lr, init), so a 7 x 3 grid stays readable. A variant whose
    runs all diverged is drawn from its diverged runs."""
    shown = [s for s in summaries if s.epochs]
    if not shown:
        return None
    panels = [(m, t) for m, t in PANELS if any(m in s.curves for s in shown)]
    if not panels:
        return None
    ncols = 3 if len(panels) > 4 else 2 if len(panels) > 1 else 1
    nrows = -(-len(panels) // ncols)
    width = 4.6 if ncols == 3 else 5.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, 3.6 * nrows), squeeze=False)
    colours, styles, looks = _colour_and_style([s.label for s in shown])
    for ax, (metric, name) in zip(axes.flat, panels):
        acc = metric.endswith("_acc")
        scale = 100.0 if acc else 1.0
        low, high = metric_range(metric)
        means = [np.asarray(s.curves[metric][0], float) for s in shown if metric in s.curves]
        log = not acc and _positive(*means)
        for s, (color, ls, mk) in zip(shown, looks):
            if metric not in s.curves:
                continue
            mean, ci = (np.asarray(v, float) * scale for v in s.curves[metric])
            x = np.asarray(s.epochs, dtype=float)
            _band(ax, x, mean, ci, color, ls, log, (low * scale, high * scale), mk)
        ax.set_title(name + (" (ranking)" if metric == shown[0].metric else ""), fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
        if acc:
            bottom, top = ax.get_ylim()
            ax.set_ylim(max(bottom, 0.0), min(top, 100.0))
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    handles, labels = _key(colours, styles, shown)
    single = all(s.n_done <= 1 for s in shown)
    fig.suptitle("mean over seeds" + (" (n=1: no CI band)" if single else ", band = 95% CI"))
    _legend(fig, handles, labels)
    fig.tight_layout()
    path = Path(out_dir) / "curves.png"
    save_figure(fig, path)
    caption = "Mean over finished runs; band = 95% CI, cut to the metric's range."
    return Figure("curves", "Learning curves", path, caption)


def _key(colours: dict, styles: dict, shown: Sequence[VariantSummary]) -> tuple[list, list]:
    """Legend entries: one per colour (a line in that colour), then one per line style (in
    grey); a variant all of whose runs diverged is named below."""
    handles, labels = [], []
    for name, colour in colours.items():
        handles.append(Line2D([], [], color=colour, lw=2.5))
        labels.append(name)
    if len(styles) > 1:
        for name, (ls, mk) in styles.items():
            handles.append(Line2D([], [], color="0.3", lw=1.6, linestyle=ls, marker=mk, ms=4))
            labels.append(name)
    for s in shown:
        if s.n_done == 0:
            handles.append(Line2D([], [], color="none"))
            labels.append(f"{s.label}: diverged")
    return handles, labels


def plot_comparison(
    summaries: Sequence[VariantSummary], store: Store, out_dir: Path
) -> Figure | None:
    """Final metric per variant, best at the top: one dot per seed, mean ± 95% CI bar."""
    if not summaries:
        return None
    acc = is_accuracy(summaries)
    scale = 100.0 if acc else 1.0
    n = len(summaries)
    fig, ax = plt.subplots(figsize=(9, 1.3 + 0.32 * n))
    values = np.array([v for s in summaries for _, v in s.finals], dtype=float)
    log = not acc and _positive(values) and values.max() / values.min() > 20
    ticks = []
    _, _, looks = _colour_and_style([s.label for s in summaries])  # the curves' colours
    ranking = rank(summaries)  # "1=" for the variants tied with the best
    ranks = dict(zip(map(id, ranking.summaries), ranking.ranks))
    for i, (s, (color, _, _)) in enumerate(zip(summaries, looks)):
        y = n - 1 - i
        ticks.append(f"{ranks.get(id(s), i + 1)}  {s.label}  n={len(s.finals)}")
        if s.finals:
            v = np.array([v for _, v in s.finals], dtype=float) * scale
            jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else np.zeros(1)
            ax.scatter(v, y + jitter, s=14, color=color, alpha=0.7, zorder=2)
            low, high = s.final_interval  # the CI cut to the metric's range
            err = None
            if math.isfinite(low) and math.isfinite(high):
                err = [[(s.final_mean - low) * scale], [(high - s.final_mean) * scale]]
            ax.errorbar(
                s.final_mean * scale,
                y,
                xerr=err,
                fmt="D",
                color="black",
                ms=4,
                capsize=3,
                zorder=3,
            )
        bad = ", ".join(
            f"{k} {what}" for k, what in ((s.n_diverged, "diverged"), (s.n_failed, "failed")) if k
        )
        if bad:
            kw = {"ha": "left", "va": "center", "fontsize": 8, "color": "#a00"}
            ax.text(1.01, y, bad, transform=ax.get_yaxis_transform(), **kw)
    ax.set_yticks(range(n - 1, -1, -1), ticks, fontsize=8 if n > 10 else 9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(f"final {metric_name(summaries[0].metric)}" + (" (%)" if acc else ""))
    if log:
        ax.set_xscale("log")
    if acc:
        left, right = ax.get_xlim()
        ax.set_xlim(max(left, 0.0), min(right, 100.0))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("final value per seed (dots), mean ± 95% CI (black)", fontsize=10)
    fig.tight_layout()
    path = Path(out_dir) / "comparison.png"
    save_figure(fig, path)
    caption = "Variants in rank order; 1= marks those tied with the best (paired t-test, Holm)."
    return Figure("comparison", "Final results per seed", path, caption)


def save_figure(fig: Any, path: Path) -> None:
    try:
        _files.save_figure(fig, path, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)


FigureMaker = Callable[[Sequence[VariantSummary], Store, Path], "Figure | None"]
FIGURES: list[FigureMaker] = [plot_curves, plot_comparison]
