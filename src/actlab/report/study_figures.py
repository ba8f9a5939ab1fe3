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

from actlab.study.stats import VariantSummary, higher_is_better
from actlab.study.store import Store

__all__ = ["FIGURES", "Figure", "plot_comparison", "plot_curves"]

STYLES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class Figure:
    """One figure of the report: ``name`` (its key in :func:`render`'s result), a title, the PNG
    written, and a caption."""

    name: str
    title: str
    path: Path
    caption: str = ""


def is_accuracy(summaries: Sequence[VariantSummary]) -> bool:
    """Whether the summaries rank an accuracy (higher is better, shown in percent)."""
    return bool(summaries) and higher_is_better(summaries[0].metric)


def _styles(n: int) -> list[tuple[Any, Any]]:
    """Distinct (colour, linestyle): tab10, tab20 beyond 10, linestyles cycle beyond 20."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    k = cmap.N
    return [(cmap(i % k), STYLES[(i // k) % len(STYLES)]) for i in range(n)]


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


def _band(ax: Any, x: np.ndarray, mean: Sequence[float], ci: Sequence[float], color, ls, log):
    m, c = np.asarray(mean, dtype=float), np.asarray(ci, dtype=float)
    ok = np.isfinite(m)
    marker = "o" if ok.sum() == 1 else None
    (line,) = ax.plot(x[ok], m[ok], color=color, linestyle=ls, lw=1.6, marker=marker, ms=4)
    band = ok & np.isfinite(c)
    if band.any():
        lo, hi = np.where(band, m - c, 0.0), np.where(band, m + c, 0.0)
        if log:
            lo = np.maximum(lo, np.where(band, m, 1.0) * 1e-3)
        ax.fill_between(x, lo, hi, where=band, color=color, alpha=0.18, lw=0)
    return line


def plot_curves(summaries: Sequence[VariantSummary], store: Store, out_dir: Path) -> Figure | None:
    """Test metric and train loss (log y) against epoch: mean line and 95% CI band per variant
    (no band with one run). A variant whose runs all diverged is drawn from its diverged runs."""
    shown = [s for s in summaries if s.epochs]
    if not shown:
        return None
    acc = is_accuracy(summaries)
    n = len(shown)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(4.0, 0.2 * min(n, 25))))
    scale = 100.0 if acc else 1.0
    log1 = not acc and _positive(*(np.asarray(s.curve_mean, float) for s in shown))
    log2 = _positive(*(np.asarray(s.train_loss_mean, float) for s in shown))
    handles, labels = [], []
    for rank, (s, (color, ls)) in enumerate(zip(summaries, _styles(len(summaries))), 1):
        if not s.epochs:
            continue
        x = np.asarray(s.epochs, dtype=float)
        mean = np.asarray(s.curve_mean, float) * scale
        h = _band(ax1, x, mean, np.asarray(s.curve_ci, float) * scale, color, ls, log1)
        _band(ax2, x, s.train_loss_mean, s.train_loss_ci, color, ls, log2)
        handles.append(h)
        labels.append(f"{rank}. {s.label}" + (" (diverged)" if s.n_done == 0 else ""))
    what = summaries[0].metric.replace("_", " ")
    ax1.set_ylabel(f"{what} (%)" if acc else what)
    ax2.set_ylabel("train loss")
    for ax, log in ((ax1, log1), (ax2, log2)):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if log:
            ax.set_yscale("log")
    single = all(s.n_done <= 1 for s in shown)
    fig.suptitle("mean over seeds" + (" (n=1: no CI band)" if single else ", band = 95% CI"))
    _legend(fig, handles, labels)
    fig.tight_layout()
    path = Path(out_dir) / "curves.png"
    save_figure(fig, path)
    return Figure("curves", "Learning curves", path, "Mean over finished runs; band = 95% CI.")


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
    for i, (s, (color, _)) in enumerate(zip(summaries, _styles(n))):
        y = n - 1 - i
        ticks.append(f"{i + 1}. {s.label}  n={len(s.finals)}")
        if s.finals:
            v = np.array([v for _, v in s.finals], dtype=float) * scale
            jitter = np.linspace(-0.15, 0.15, v.size) if v.size > 1 else np.zeros(1)
            ax.scatter(v, y + jitter, s=14, color=color, alpha=0.7, zorder=2)
            err = s.final_ci * scale if math.isfinite(s.final_ci) else None
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
    what = summaries[0].metric.replace("_", " ")
    ax.set_xlabel(f"final {what}" + (" (%)" if acc else ""))
    if log:
        ax.set_xscale("log")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("final value per seed (dots), mean ± 95% CI (black)", fontsize=10)
    fig.tight_layout()
    path = Path(out_dir) / "comparison.png"
    save_figure(fig, path)
    return Figure("comparison", "Final results per seed", path, "Variants sorted by rank.")


def save_figure(fig: Any, path: Path) -> None:
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)


FigureMaker = Callable[[Sequence[VariantSummary], Store, Path], "Figure | None"]
FIGURES: list[FigureMaker] = [plot_curves, plot_comparison]
