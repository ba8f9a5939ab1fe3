"""Figure of depth-probe results: activation RMS, backward signal and weight-gradient norm per
layer, measured
(markers) beside the mean-field prediction (dashed), one colour per initializer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from actlab._files import save_figure
from actlab.errors import ActlabError
from actlab.theory import ProbeResult

__all__ = ["check_path", "plot_depth_probe"]

FORMATS = (".png", ".svg", ".pdf")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")


def check_path(out: Path) -> Path:
    """``out`` if it names a figure format matplotlib writes here, else bad input."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--plot {out.name!r}: use one of {', '.join(FORMATS)}")
    return out


def plot_depth_probe(results: Sequence[ProbeResult], out: Path) -> Path:
    """Three log-scale panels over depth -- output RMS, backward-signal RMS and ||dL/dW|| --
    measured and predicted."""
    out = check_path(out)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (
        ("rms", "activation RMS"),
        ("backward_rms", r"backward signal: RMS of $\partial L_b / \partial h^l$"),
        ("grad_norm", r"weight gradient $\|\partial L / \partial W^l\|_F$"),
    )
    for ax, (field, title) in zip(axes, panels):
        for r, color in zip(results, COLORS * 4):
            layers = [s.layer for s in r.measured]
            ax.plot(
                layers,
                [getattr(s, field) for s in r.measured],
                "o",
                ms=4,
                color=color,
                label=f"{r.init} measured",
            )
            ax.plot(
                layers,
                [getattr(s, field) for s in r.predicted],
                "--",
                color=color,
                label=f"{r.init} theory",
            )
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_title(title)
    first = results[0]
    fig.suptitle(f"{first.activation} MLP, width {first.width}, batch {first.batch}")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, out, dpi=110)
    finally:
        plt.close(fig)
    return out
