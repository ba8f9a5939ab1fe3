"""The classification losses as functions of the margin t = y f(x) (labels y in {-1, +1}), the
figure of Rosasco et al. 2004 the lecture shows: 0-1, squared, hinge and logistic loss.

Each curve is the catalog loss itself, evaluated at target y = +1 (label 1) and score t: nothing
is re-typed here. As in Rosasco et al.'s figure the logistic loss is measured in bits,
``log2(1 + exp(-t))`` = the catalog's natural-log loss times 1/ln 2: it is then exactly 1 at t = 0
and, like hinge and squared loss, lies above the 0-1 loss everywhere -- each is a convex upper
bound that training can minimize in its place. The legend says the scale.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from actlab._files import save_figure
from actlab.errors import ActlabError
from actlab.losses import LOSSES, loss

__all__ = ["MARGIN_LOSSES", "SCALES", "legend_label", "margin_curves", "plot_margin_losses"]

FORMATS = (".png", ".svg", ".pdf")

# (label, catalog loss); the multi-label hinge with one label is the binary hinge max(0, 1 - t)
MARGIN_LOSSES = (
    ("0-1", "zero_one"),
    ("squared", "squared_error"),
    ("hinge", "multilabel_hinge"),
    ("logistic", "binary_logistic"),
)
# Factors the curves are drawn with: the logistic loss in bits upper-bounds 0-1 (Rosasco et al.)
SCALES = {"logistic": 1 / math.log(2)}


def margin_curves(low: float = -2.0, high: float = 2.0, points: int = 801):
    """``t`` and, per entry of :data:`MARGIN_LOSSES`, the loss at score t for the positive label
    (times its factor in :data:`SCALES`: the logistic loss in bits)."""
    t = torch.linspace(low, high, points, dtype=torch.float64)
    ones = torch.ones_like(t)
    curves = {}
    for label, name in MARGIN_LOSSES:
        # one sample per t, one output each: shape (points, 1)
        value = loss(t[:, None], ones[:, None], name, reduction="none").reshape(-1)
        curves[label] = value * SCALES[label] if label in SCALES else value
    return t, curves


def legend_label(label: str, name: str) -> str:
    """``"hinge (multilabel_hinge)"``; a scaled curve says its factor:
    ``"logistic × 1/ln 2 (binary_logistic, in bits)"``."""
    if name == "zero_one":
        return label
    scale = SCALES.get(label)
    if scale is None:
        return f"{label} ({name})"
    in_bits = math.isclose(scale, 1 / math.log(2))
    factor = "1/ln 2" if in_bits else f"{scale:g}"
    return f"{label} × {factor} ({name}{', in bits' if in_bits else ''})"


def plot_margin_losses(out: Path, *, low: float = -2.0, high: float = 2.0) -> Path:
    """Draw :func:`margin_curves` to ``out`` (.png, .svg or .pdf) and return the path."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--out {out.name!r}: use one of {', '.join(FORMATS)}")
    if not low < high:
        raise ActlabError(f"margin range [{low:g}, {high:g}] is empty; need low < high")
    t, curves = margin_curves(low, high)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = ("k", "#1f77b4", "#d62728", "#2ca02c")
    for (label, name), color in zip(MARGIN_LOSSES, colors):
        y, text = curves[label].numpy(), legend_label(label, LOSSES.get(name).name)
        if name == "zero_one":  # a step: draw the jump as a vertical edge
            ax.step(t.numpy(), y, where="post", color=color, lw=2, label=text, zorder=3)
        else:
            ax.plot(t.numpy(), y, color=color, lw=2, label=text)
    ax.set_xlabel(r"margin $t = y\,f(x)$")
    ax.set_ylabel("loss")
    ax.set_ylim(-0.1, 4.0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_title("Every surrogate loss lies above the 0-1 loss", fontsize=11)
    ax.legend(frameon=False)
    fig.tight_layout()
    try:
        save_figure(fig, out, dpi=110)
    finally:
        plt.close(fig)
    return out
