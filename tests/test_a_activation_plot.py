"""`actlab plot` draws every point of f and f', and breaks a curve only across a declared jump."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from actlab.report.activation_plot import (
    COLORS,
    Curve,
    auto_range,
    draw_activations,
    plot_activations,
)
from conftest import CASES

POINTS = 2001


def _values(info, params, level: int, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return (info.scalar if level == 0 else info.derivative_of_scalar)(x, **params)


def _jumps(info, params, level: int) -> list[tuple[float, float, float]]:
    """(k, left, right) for each declared kink where f (or f') jumps by more than 1e-6,
    left and right being the values 1e-9 (relative) either side of k."""
    out = []
    for k in info.kinks(info.bind(params)):
        h = 1e-9 * max(1.0, abs(k))
        x = torch.tensor([k - h, k + h], dtype=torch.float64)
        left, right = _values(info, params, level, x).tolist()
        if abs(right - left) > 1e-6 * max(1.0, abs(left), abs(right)):
            out.append((float(k), left, right))
    return out


def _side(x: float, y: float, k: float, left: float, right: float) -> int:
    if x != k:
        return -1 if x < k else 1
    return -1 if abs(y - left) <= abs(y - right) else 1  # the kink's own value joins its side


@pytest.mark.parametrize("level", [0, 1], ids=["f", "df"])
@pytest.mark.parametrize(("info", "params"), CASES)
def test_plot_draws_every_point_and_breaks_only_at_declared_jumps(info, params, level):
    curve = Curve(info.name, params)
    fig = draw_activations([curve], derivative=True, points=POINTS)
    try:
        lines = [ln for ln in fig.axes[level].lines if same_color(ln.get_color(), COLORS[0])]
        assert lines
        segments = [(ln.get_xdata().astype(float), ln.get_ydata().astype(float)) for ln in lines]
    finally:
        plt.close(fig)
    x = np.concatenate([s[0] for s in segments])
    y = np.concatenate([s[1] for s in segments])
    drawn = ~np.isnan(y)
    expected = _values(info, params, level, torch.as_tensor(x[drawn], dtype=torch.float64))
    np.testing.assert_allclose(y[drawn], expected.numpy(), rtol=1e-12, atol=1e-12)

    jumps = _jumps(info, params, level)
    lo, hi = auto_range([curve])
    grid = torch.linspace(lo, hi, POINTS, dtype=torch.float64).numpy()
    at_jump = np.isin(grid, [k for k, _, _ in jumps])
    missing = grid[~at_jump & ~np.isin(grid, x[drawn])]
    assert not len(missing), f"{len(missing)} grid points not drawn, e.g. x = {missing[:5]}"

    for xs, ys in segments:
        for i in range(len(xs) - 1):
            if math.isnan(ys[i]) or math.isnan(ys[i + 1]):
                continue
            for k, left, right in jumps:
                a = _side(xs[i], ys[i], k, left, right)
                b = _side(xs[i + 1], ys[i + 1], k, left, right)
                assert a == b, f"segment ({xs[i]}, {xs[i + 1]}) spans the jump at {k}"


def test_a_failed_write_leaves_the_earlier_figure_intact(tmp_path, monkeypatch):
    out = tmp_path / "a.png"
    plot_activations([Curve("relu")], out)
    before = out.read_bytes()

    def broken_savefig(self, fname, **kwargs):  # writes part of the file, then fails
        if isinstance(fname, (str, Path)):
            Path(fname).write_bytes(b"partial")
        else:
            fname.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_activations([Curve("elu")], out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary file left behind
