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
from torch import Tensor

from actlab._files import save_figure
from actlab.activations import ACTIVATIONS
from actlab.activations.smoothness import kink_jumps, one_sided_limits
from actlab.errors import ActlabError

__all__ = ["Curve", "auto_range", "draw_activations", "plot_activations"]

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


def plot_activations(
    curves: Sequence[Curve],
    out: str | Path,
    *,
    derivative: bool = False,
    x_range: tuple[float, float] | None = None,
    title: str | None = None,
    points: int = 2001,
) -> Path:
    """Draw ``curves`` (see :func:`draw_activations`) and write the figure to ``out`` (.png,
    .svg or .pdf) atomically: an interrupted write leaves any earlier file intact. Returns the
    written path."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ActlabError(f"--out {out.name!r}: use one of {', '.join(FORMATS)}")
    fig = draw_activations(
        curves, derivative=derivative, x_range=x_range, title=title, points=points
    )
    try:
        save_figure(fig, out, dpi=110)
    finally:
        plt.close(fig)
    return out


def draw_activations(
    curves: Sequence[Curve],
    *,
    derivative: bool = False,
    x_range: tuple[float, float] | None = None,
    title: str | None = None,
    points: int = 2001,
) -> Any:
    """A matplotlib figure of ``curves`` on one axis (and their derivatives on a second, if
    ``derivative``), evaluated at ``points`` equally spaced x plus every declared kink.

    A curve is broken only where its entry declares a kink and the plotted function really jumps
    there (binary_step's f at 0, ReLU's f' at 0 but not its f), so a jump shows as a gap, never
    as a vertical line, and steep smooth stretches stay drawn. Without ``x_range`` the interval
    is [-5, 5] widened to show every kink (leaky_relu6's cap at 6).
    """
    if not curves:
        raise ActlabError("nothing to plot; name at least one activation")
    lo, hi = x_range if x_range is not None else auto_range(curves)
    if not lo < hi:
        raise ActlabError(f"range {lo:g},{hi:g} is empty; give LOW,HIGH with LOW < HIGH")
    grid = torch.linspace(lo, hi, points, dtype=torch.float64)

    panels = 2 if derivative else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 4.6), squeeze=False)
    for i, curve in enumerate(curves):
        # earlier curves wider and solid, later ones thinner and dashed: overlaps stay visible
        style = {
            "color": COLORS[i % len(COLORS)],
            "ls": STYLES[i % len(STYLES)],
            "lw": max(3.4 - 0.5 * i, 1.4),
            "label": curve.label(),
            "zorder": 3 + i,
        }
        for level, ax in zip(("f", "f'"), axes[0]):
            x, y = _broken_at_jumps(curve, grid, level)
            ax.plot(x.numpy(), y.numpy(), **style)
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
    return fig


def auto_range(curves: Sequence[Curve], half_width: float = 5.0) -> tuple[float, float]:
    """[-5, 5], widened to 2 beyond the outermost kink of any curve."""
    kinks = [0.0]
    for c in curves:
        info = ACTIVATIONS.get(c.name)
        kinks += [k for k in info.kinks(info.bind(c.params)) if abs(k) < 1e3]
    return min(-half_width, min(kinks) - 2), max(half_width, max(kinks) + 2)


def _broken_at_jumps(curve: Curve, grid: Tensor, level: str) -> tuple[Tensor, Tensor]:
    """(x, y) of f (``level="f"``) or f' (``"f'"``) on the grid plus the kinks inside it, with a
    NaN separating the two sides of each kink where the function jumps. The point at the kink
    itself stays on the side whose limit it equals (ReLU'(0) = 0 on the left)."""
    info = ACTIVATIONS.get(curve.name)
    p = info.bind(curve.params)
    lo, hi = float(grid[0]), float(grid[-1])
    kinks = sorted({float(k) for k in info.kinks(p) if lo < k < hi})
    x = torch.cat([grid, torch.tensor(kinks, dtype=grid.dtype)]).unique()  # sorted
    row = 0 if level == "f" else 1
    with torch.no_grad():
        y = info.scalar(x, **p) if level == "f" else info.derivative_of_scalar(x, **p)
    xs, ys, start = [], [], 0
    for k, names in sorted(kink_jumps(info, p).items()):
        if level not in names or not lo < k < hi:
            continue
        j = int(torch.searchsorted(x, k))  # x[j] == k
        left, right = (limit[row] for limit in one_sided_limits(info, k, p))
        cut = j + 1 if abs(y[j] - left) <= abs(y[j] - right) else j
        xs += [x[start:cut], x.new_tensor([k])]
        ys += [y[start:cut], y.new_tensor([float("nan")])]
        start = cut
    return torch.cat([*xs, x[start:]]), torch.cat([*ys, y[start:]])
