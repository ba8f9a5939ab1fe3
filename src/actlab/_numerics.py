"""Gaussian expectations, shared by activation properties, the initializers' gains and
signal-propagation theory.

The integral of f times the normal density is taken with 96 Gauss-Legendre panels of 16 nodes
over mean +- 12 std (the mass outside is below 1e-32), with panel edges added at every kink the
caller names (``breakpoints``). Gauss-Hermite is not used: across a kink it converges only like
1/n (E[relu(z)] is off by 8e-4 with 200 nodes), and for tanh-like functions, whose poles lie
near the real axis, it is off by 1e-6 at std 2; the panels agree with an adaptive
high-precision quadrature to 1e-9 for every catalog activation (tests/test_a_quadrature.py).

>>> round(normal_expectation(lambda z: z**2, std=2.0), 12)
4.0
>>> import math, torch
>>> abs(normal_expectation(torch.relu, breakpoints=(0.0,)) - 1 / math.sqrt(2 * math.pi)) < 1e-14
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "DIGITS",
    "ZERO_RTOL",
    "format_number",
    "format_span",
    "normal_expectation",
    "normal_nodes",
    "normal_nodes_many",
]

DIGITS = 4  # significant digits of every computed number a generated page shows
ZERO_RTOL = 1e-12  # |value| <= ZERO_RTOL * scale is shown as 0
TAIL = 12.0  # integrate over mean +- 12 std
PANELS, PANEL_NODES = 96, 16


@lru_cache(maxsize=8)
def _leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def normal_nodes(
    *, mean: float = 0.0, std: float = 1.0, breakpoints: Sequence[float] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and weights w (float64) with ``sum(w * f(x)) = E[f(z)]``, z ~ N(mean, std^2),
    for f smooth between the ``breakpoints``: the quadrature of :func:`normal_expectation`, for
    callers that evaluate many expectations in one vectorized pass."""
    lo, hi = mean - TAIL * std, mean + TAIL * std
    edges = np.union1d(np.linspace(lo, hi, PANELS + 1), [b for b in breakpoints if lo < b < hi])
    x, weights = _panels(edges, mean, std)
    return x.ravel(), weights.ravel()


def _panels(edges: np.ndarray, mean: float, std: float | np.ndarray) -> tuple[np.ndarray, ...]:
    """Nodes ``[..., panels, 16]`` and their weights for the panels between consecutive
    ``edges`` (last axis), ``std`` broadcasting against them."""
    t, w = _leggauss(PANEL_NODES)
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    x = (a + b) / 2 + (b - a) / 2 * t
    weights = (
        (b - a) / 2 * w * np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    )
    return x, weights


def normal_nodes_many(
    stds: np.ndarray, *, breakpoints: Sequence[float] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`normal_nodes` for mean 0 and each of ``stds``, end to end: ``(x, w, starts)``, where
    row ``i``'s nodes and weights are ``x[starts[i]:starts[i + 1]]``. Computed a whole group of
    rows at a time (rows with the same kinks inside their range and so the same number of
    panels), with the very operations of :func:`normal_nodes` applied elementwise, so every
    number equals its one-row call's (``tests/test_a_quadrature.py`` checks bit for bit)."""
    stds = np.asarray(stds, dtype=np.float64).reshape(-1)
    lo, hi = 0.0 - TAIL * stds, 0.0 + TAIL * stds
    grid = np.linspace(lo, hi, PANELS + 1, axis=1)
    inside = [tuple(b for b in breakpoints if lo_i < b < hi_i) for lo_i, hi_i in zip(lo, hi)]
    rows_x: list[np.ndarray] = [np.empty(0)] * len(stds)
    rows_w: list[np.ndarray] = [np.empty(0)] * len(stds)
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, kinks in enumerate(inside):
        groups.setdefault(kinks, []).append(i)
    for kinks, rows in groups.items():
        edges = grid[rows]
        if kinks:  # union1d, row by row: sorted, without repeats (a kink on a grid point)
            edges = np.sort(np.concatenate([edges, np.tile(kinks, (len(rows), 1))], 1), 1)
            keep = np.concatenate([np.ones((len(rows), 1), bool), np.diff(edges, 1) != 0], 1)
            counts = keep.sum(1)
            by_count: dict[int, list[int]] = {}
            for j, c in enumerate(counts.tolist()):
                by_count.setdefault(c, []).append(j)
            parts = list(by_count.items())
        else:
            keep, parts = None, [(edges.shape[1], list(range(len(rows))))]
        for count, js in parts:
            e = edges[js] if keep is None else edges[js][keep[js]].reshape(len(js), count)
            x, weights = _panels(e, 0.0, stds[[rows[j] for j in js]][:, None, None])
            for k, j in enumerate(js):
                rows_x[rows[j]] = x[k].ravel()
                rows_w[rows[j]] = weights[k].ravel()
    starts = np.cumsum([0] + [len(r) for r in rows_x[:-1]])
    return np.concatenate(rows_x), np.concatenate(rows_w), starts


def normal_expectation(
    f: Callable[[Tensor], Tensor],
    *,
    mean: float = 0.0,
    std: float = 1.0,
    breakpoints: Sequence[float] = (),
) -> float:
    """E[f(z)] for z ~ N(mean, std^2), in float64, by Gauss-Legendre panels split at f's kinks
    (``breakpoints``); see the module docstring."""
    if std == 0:
        return float(f(torch.tensor([mean], dtype=torch.float64))[0])
    x, w = normal_nodes(mean=mean, std=std, breakpoints=breakpoints)
    values = f(torch.as_tensor(x, dtype=torch.float64)).to(torch.float64).cpu().numpy()
    return float(np.dot(w, values))


def format_number(value: float, *, scale: float | None = None, digits: int = DIGITS) -> str:
    """``value`` rounded to ``digits`` significant digits, for every computed number that
    ``actlab inspect`` and the generated docs print, so the text is the same on every machine.

    Quadratures and reductions differ in their last bits between machines and thread counts
    (E[tanh(z)] comes out as 2e-123 on one and -7e-18 on another), so a value whose magnitude
    is at most ``ZERO_RTOL`` (1e-12) times ``scale``, the size of the quantity it estimates
    (the rms for a mean), is printed as ``0``; never as ``-0``. Without ``scale`` only an exact
    zero is 0.

    >>> format_number(-6.9e-18, scale=0.63), format_number(-0.0), format_number(0.398942280)
    ('0', '0', '0.3989')
    >>> format_number(1.6765324703, digits=6), format_number(-math.inf)
    ('1.67653', '-inf')
    """
    if scale is not None and abs(value) <= ZERO_RTOL * abs(scale):
        value = 0.0
    return f"{value + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0


def format_span(span: tuple[float, float], *, digits: int = 2) -> str:
    """``"low..high"``, both ends through :func:`format_number` (a measured or predicted range)."""
    return f"{format_number(span[0], digits=digits)}..{format_number(span[1], digits=digits)}"
