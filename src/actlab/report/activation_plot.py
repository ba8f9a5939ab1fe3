"""Figures of activation functions and their derivatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError

__all__ = ["Curve", "plot_activations"]

FORMATS = (".png", ".svg", ".pdf")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)))


@dataclass(frozen=True)
class Curve:
    """One activation to draw: its name and parameters (validated when drawn)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """The name as the user wrote it (an alias stays an alias), with non-default params."""
        info = ACTIVATIONS.get(self.name)
        shown = {k: v for k, v in self.params.items() if info.defaults.get(k) != v}
        extra = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
        )
        return f"{self.name}({extra})" if extra else self.name


def _values(curve: Curve, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    info = ACTIVATIONS.get(curve.name)
    p = info.bind(curve.params)
    with torch.no_grad():
        return info.scalar(x, **p), info.derivative_of_scalar(x, **p)


def plot_activations(
    curves: Sequence[Curve],
    out: str | Path,
    *,
    derivative: bool = False,
    x_range: tuple[float, float] | None = None,
    title: str | None = None,
    points: int = 2001,
) -> Path:
    """Draw ``curves`` on one axis (and their derivatives on a second, if ``derivative``).

    Kinks are where the derivative jumps; the derivative panel draws each piece separately so
    that a jump shows as a gap, not as a vertical line. Without ``x_range`` the interval is
    [-5, 5] widened to show every kink (leaky_relu6's cap at 6). Returns the written path.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--out {out.name!r}: use one of {', '.join(FORMATS)}")
    if not curves:
        raise ActlabError("nothing to plot; name at least one activation")
    lo, hi = x_range if x_range is not None else auto_range(curves)
    if not lo < hi:
        raise ActlabError(f"range {lo:g},{hi:g} is empty; give LOW,HIGH with LOW < HIGH")
    x = torch.linspace(lo, hi, points, dtype=torch.float64)
    computed = [(c, *_values(c, x)) for c in curves]

    panels = 2 if derivative else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.6), squeeze=False)
    for i, (curve, f, df) in enumerate(computed):
        # earlier curves wider and solid, later ones thinner and dashed: overlaps stay visible
        style = {
            "color": COLORS[i % len(COLORS)],
            "ls": STYLES[i % len(STYLES)],
            "lw": max(3.4 - 0.5 * i, 1.4),
            "label": curve.label(),
            "zorder": 3 + i,
        }
        _draw(axes[0, 0], x, f, style)
        if derivative:
            _draw(axes[0, 1], x, df, style)
    axes[0, 0].set_title("f(x)")
    if derivative:
        axes[0, 1].set_title("f'(x): the gradient each unit passes back")
    for ax in axes[0]:
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("x (pre-activation)")
        ax.set_xlim(lo, hi)
    axes[0, 0].legend(loc="upper left", fontsize=9, framealpha=0.9)
    if title is None:
        title = ", ".join(c.label() for c in curves)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def auto_range(curves: Sequence[Curve], half_width: float = 5.0) -> tuple[float, float]:
    """[-5, 5], widened to 2 beyond the outermost kink of any curve."""
    kinks = [0.0]
    for c in curves:
        info = ACTIVATIONS.get(c.name)
        kinks += [k for k in info.kinks(info.bind(c.params)) if abs(k) < 1e3]
    return min(-half_width, min(kinks) - 2), max(half_width, max(kinks) + 2)


def _draw(ax, x: torch.Tensor, y: torch.Tensor, style: dict) -> None:
    """Plot y(x), breaking the line where y jumps (a discontinuity, not a steep slope)."""
    y = y.clone()
    step = (y[1:] - y[:-1]).abs()
    typical = step.median() + 1e-12
    jumps = (step > 50 * typical) & (step > 1e-3 * (y.abs().max() + 1e-12))
    y[1:][jumps] = float("nan")
    ax.plot(x.numpy(), y.numpy(), **style)
