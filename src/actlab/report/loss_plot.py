"""The classification losses as functions of the margin t = y f(x) (labels y in {-1, +1}), the
figure of Rosasco et al. 2004 the lecture shows: 0-1, squared, hinge and logistic loss.

Each curve is the catalog loss itself, evaluated at target y = +1 (label 1) and score t: nothing
is re-typed here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from actlab.errors import ActlabError
from actlab.losses import LOSSES, loss

__all__ = ["MARGIN_LOSSES", "margin_curves", "plot_margin_losses"]

FORMATS = (".png", ".svg", ".pdf")

# (label, catalog loss); the multi-label hinge with one label is the binary hinge max(0, 1 - t)
MARGIN_LOSSES = (
    ("0-1", "zero_one"),
    ("squared", "squared_error"),
    ("hinge", "multilabel_hinge"),
    ("logistic", "binary_logistic"),
)


def margin_curves(low: float = -2.0, high: float = 2.0, points: int = 801):
    """``t`` and, per entry of :data:`MARGIN_LOSSES`, the loss at score t for the positive label."""
    t = torch.linspace(low, high, points, dtype=torch.float64)
    ones = torch.ones_like(t)
    curves = {}
    for label, name in MARGIN_LOSSES:
        # one sample per t, one output each: shape (points, 1)
        curves[label] = loss(t[:, None], ones[:, None], name, reduction="none").reshape(-1)
    return t, curves


def plot_margin_losses(out: Path, *, low: float = -2.0, high: float = 2.0) -> Path:
    """Draw :func:`margin_curves` to ``out`` (.png, .svg or .pdf) and return the path."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--out {out.name!r}: use one of {', '.join(FORMATS)}")
    if not low < high:
        raise ActlabError(f"margin range [{low:g}, {high:g}] is empty; need low < high")
    t, curves = margin_curves(low, high)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (label, name), color in zip(MARGIN_LOSSES, ("k", "#1f77b4", "#d62728", "#2ca02c")):
        y = curves[label].numpy()
        if name == "zero_one":  # a step: draw the jump as a vertical edge
            ax.step(t.numpy(), y, where="post", color=color, lw=2, label=label)
        else:
            ax.plot(t.numpy(), y, color=color, lw=2, label=f"{label} ({LOSSES.get(name).name})")
    ax.set_xlabel(r"margin $t = y\,f(x)$")
    ax.set_ylabel("loss")
    ax.set_ylim(-0.1, 4.0)
    ax.axvline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_title("Classification losses as functions of the margin")
    ax.legend(frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
