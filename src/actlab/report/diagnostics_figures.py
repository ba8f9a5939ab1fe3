"""Report figures from recorded diagnostics (``actlab compare --diagnostics``): gradient flow,
dead and saturated units, and effective learning rates, one small panel per variant.

Each variant is drawn from its first seed (see :mod:`actlab.report.diagnosis`), against epochs:
the recorder measures step 1 (the network as initialized, drawn at epoch 0) and the last step of
each epoch. Importing this module appends its makers to
:data:`actlab.report.study_figures.FIGURES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from actlab.diagnostics import rows as R
from actlab.diagnostics.findings_base import saturating
from actlab.report.diagnosis import VariantRun, variant_runs
from actlab.report.study_figures import FIGURES, Figure, save_figure
from actlab.study.stats import VariantSummary
from actlab.study.store import Store

__all__ = ["plot_effective_lr", "plot_gradient_flow", "plot_units"]

COLUMNS = 4  # panels per row


def epochs_of(steps: Sequence[int], v: VariantRun) -> dict[int, float]:
    """Recorded step -> epoch. Step 1 is epoch 0 (the initial network) unless an epoch is one
    step; each epoch's last step ``e * s`` is epoch ``e``, with ``s`` steps per epoch: the last
    step over the configured epochs for a finished run, else the gcd of the later steps."""
    steps = sorted(steps)
    later = [s for s in steps if s > 1]
    per_epoch = math.gcd(*later) if later else 1
    epochs = v.run.config.get("epochs")  # none with a step budget
    if v.run.status == "done" and steps and epochs and steps[-1] % epochs == 0:
        per_epoch = steps[-1] // epochs
    return {s: 0.0 if s == 1 and per_epoch > 1 else s / per_epoch for s in steps}


def _grid(n: int, per_panel: tuple[float, float], columns: int = COLUMNS) -> tuple[Any, Any]:
    cols = min(n, columns)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(per_panel[0] * cols, per_panel[1] * rows),
        squeeze=False,
        constrained_layout=True,
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _title(ax: Any, i: int, v: VariantRun) -> None:
    status = "" if v.run.status == "done" else f", {v.run.status}"
    ax.set_title(f"{i}. {v.summary.label} (seed {v.run.seed}{status})", fontsize=8)


def _series(v: VariantRun, metric: str) -> dict[str, dict[int, float]]:
    """``{layer: {step: value}}`` of one metric, layers input to output."""
    by_layer = R.frame(v.rows).get(metric, {})
    return {layer: by_layer[layer] for layer in R.ordered_layers(by_layer)}


def _layer_colours(layers: Sequence[str]) -> dict[str, Any]:
    cmap = plt.get_cmap("viridis")
    n = max(len(layers) - 1, 1)
    return {layer: cmap(0.9 * i / n) for i, layer in enumerate(layers)}


def _chosen(summaries: Sequence[VariantSummary], store: Store, metric: str) -> list[VariantRun]:
    return [v for v in variant_runs(store, summaries) if any(r["metric"] == metric for r in v.rows)]


def plot_gradient_flow(
    summaries: Sequence[VariantSummary], store: Store, out_dir: Path
) -> Figure | None:
    """Heatmap per variant: layers (input at the top) x epochs, colour log10 ||dL/dW||."""
    chosen = _chosen(summaries, store, R.GRAD_NORM)
    if not chosen:
        return None
    maps = []
    for v in chosen:
        series = _series(v, R.GRAD_NORM)
        steps = sorted({s for by_step in series.values() for s in by_step})
        grid = np.array([[by_step.get(s, np.nan) for s in steps] for by_step in series.values()])
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(grid)
        maps.append((v, list(series), steps, np.ma.masked_invalid(logs)))
    finite = np.concatenate([m.compressed() for *_, m in maps])
    low, high = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
    fig, axes = _grid(len(maps), (3.0, 2.3))
    cmap = plt.get_cmap("magma").with_extremes(bad="#cccccc")
    image = None
    for i, (ax, (v, layers, steps, logs)) in enumerate(zip(axes, maps), 1):
        epochs = epochs_of(steps, v)
        image = ax.imshow(logs, aspect="auto", cmap=cmap, vmin=low, vmax=high)
        ax.set_yticks(range(len(layers)), layers, fontsize=6)
        every = max(1, len(steps) // 8)
        ticks = list(range(0, len(steps), every))
        ax.set_xticks(ticks, [f"{epochs[steps[t]]:g}" for t in ticks], fontsize=7)
        ax.set_xlabel("epoch", fontsize=7)
        _title(ax, i, v)
    fig.colorbar(image, ax=list(axes[: len(maps)]), shrink=0.8, label="log10 ||dL/dW||")
    path = Path(out_dir) / "gradient_flow.png"
    save_figure(fig, path)
    return Figure(
        "gradient_flow",
        "Gradient flow",
        path,
        "Weight-gradient norm per layer (input at the top) and epoch, first seed of each "
        "variant; epoch 0 is the initial network. A dark top and bright bottom is a vanishing "
        "gradient; grey cells are zero or missing.",
    )


UNIT_PANELS = ((R.DEAD, "dead %"), (R.SATURATION, "saturated %"), (R.INACTIVE, "inactive %"))
"""The units figure's panels per variant (one row each); a panel is left out when no variant
recorded its metric (stores recorded before the inactive fraction existed)."""


def _unit_label(metric: str, what: str, v: VariantRun) -> str:
    """A function that flattens on one side only (ReLU) does not saturate: its |f'| < 0.05
    entries are the inputs on its flat side, and the axis says so."""
    name = v.summary.config.get("activation")
    if metric == R.SATURATION and isinstance(name, str) and not saturating(name):
        return "flat side % (|f'| < 0.05)"
    return what


def plot_units(summaries: Sequence[VariantSummary], store: Store, out_dir: Path) -> Figure | None:
    """Per variant one row: dead, saturated and inactive fraction (%) per layer vs epoch, with
    a legend naming the layers' colours."""
    chosen = _chosen(summaries, store, R.DEAD)
    if not chosen:
        return None
    panels = [
        (metric, what)
        for metric, what in UNIT_PANELS
        if any(r["metric"] == metric for v in chosen for r in v.rows)
    ]
    colours = _layer_colours(_layers(chosen, R.DEAD))
    n = len(panels)
    fig, axes = _grid(n * len(chosen), (2.6, 2.0), columns=n)
    for i, v in enumerate(chosen):
        for ax, (metric, what) in zip(axes[n * i : n * (i + 1)], panels):
            _curves(ax, v, metric, scale=100.0, log=False, colours=colours)
            ax.set_ylim(-3, 103)
            ax.set_ylabel(_unit_label(metric, what, v), fontsize=7)
            _title(ax, i + 1, v)
    _legend(fig, colours)
    path = Path(out_dir) / "units.png"
    save_figure(fig, path)
    return Figure(
        "units",
        "Dead, saturated and inactive units",
        path,
        "Per layer (colours in the legend: dark = first, light = last), first seed of each "
        "variant: units whose output is zero on every probe example (dead); entries with "
        "|f'(z)| < 0.05 (saturated; for ReLU-like activations the flat negative side counts "
        "too); units with |f'(z)| <= 10% of the activation's largest slope on every probe "
        "example (inactive: Leaky ReLU units whose input is always negative).",
    )


def plot_effective_lr(
    summaries: Sequence[VariantSummary], store: Store, out_dir: Path
) -> Figure | None:
    """Per variant: each layer's effective learning rate (median |dw| / |g|) vs epoch, log y."""
    chosen = _chosen(summaries, store, R.EFFECTIVE_LR)
    if not chosen:
        return None
    fig, axes = _grid(len(chosen), (3.0, 2.2))
    colours = _layer_colours(_layers(chosen, R.EFFECTIVE_LR))
    for i, (ax, v) in enumerate(zip(axes, chosen), 1):
        _curves(ax, v, R.EFFECTIVE_LR, scale=1.0, log=True, colours=colours)
        ax.set_ylabel("effective lr", fontsize=7)
        _title(ax, i, v)
    _legend(fig, colours)
    path = Path(out_dir) / "effective_lr.png"
    save_figure(fig, path)
    return Figure(
        "effective_lr",
        "Effective learning rates",
        path,
        "Median |update| / |gradient| per layer (legend: dark = first, light = output), first "
        "seed of "
        "each variant: flat for SGD, shrinking for AdaGrad, adapting for Adam and RMSProp.",
    )


def _layers(chosen: Sequence[VariantRun], metric: str) -> list[str]:
    """Every layer any variant recorded ``metric`` for, input to output: one colour per layer
    name across panels, so one legend serves them all."""
    return R.ordered_layers({layer for v in chosen for layer in _series(v, metric)})


def _legend(fig: Any, colours: dict[str, Any]) -> None:
    """The layers' colours, once, right of the panels (every layer up to 12, else a sample)."""
    layers = list(colours)
    if len(layers) > 12:
        step = -(-len(layers) // 10)
        layers = sorted({*layers[::step], layers[-1]}, key=layers.index)
    handles = [plt.Line2D([], [], color=colours[layer], lw=2) for layer in layers]
    fig.legend(
        handles,
        layers,
        loc="outside right upper",
        fontsize=7,
        title="layer",
        title_fontsize=7,
        frameon=False,
    )


def _curves(
    ax: Any,
    v: VariantRun,
    metric: str,
    *,
    scale: float,
    log: bool,
    colours: dict[str, Any] | None = None,
) -> None:
    series = _series(v, metric)
    colours = colours or _layer_colours(list(series))
    steps = sorted({s for by_step in series.values() for s in by_step})
    epochs = epochs_of(steps, v)
    for layer, by_step in series.items():
        xs = [epochs[s] for s in sorted(by_step)]
        ys = np.array([by_step[s] for s in sorted(by_step)], dtype=float) * scale
        if log:
            ys = np.where(ys > 0, ys, np.nan)
        ax.plot(xs, ys, color=colours[layer], lw=1.2, marker="." if len(xs) < 3 else None)
    values = np.array([y for line in ax.lines for y in line.get_ydata()], dtype=float)
    values = values[np.isfinite(values)]
    if log and values.size:
        ax.set_yscale("log")  # at least a decade shown, so a flat line (SGD) reads as flat
        low, high = values.min(), values.max()
        pad = math.sqrt(max(10.0 / (high / low), 1.0))
        ax.set_ylim(low / pad / 1.2, high * pad * 1.2)
    ax.set_xlabel("epoch", fontsize=7)
    ax.tick_params(labelsize=6, which="both")
    ax.grid(alpha=0.3)


MAKERS: list[Callable[..., Figure | None]] = [plot_gradient_flow, plot_units, plot_effective_lr]
FIGURES.extend(m for m in MAKERS if m not in FIGURES)
