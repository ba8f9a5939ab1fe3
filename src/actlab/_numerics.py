"""Gaussian expectations, shared by activation properties, the initializers' gains and
signal-propagation theory.

Smooth integrands use Gauss-Hermite quadrature (exact for polynomials of degree < 2n). Across a
kink Gauss-Hermite converges only like 1/n (E[relu(z)] is off by 8e-4 with 200 nodes), so when
the caller names the kinks (``breakpoints``) the integral of f times the normal density is taken
with Gauss-Legendre panels that end at every kink, over mean +- 12 std (the mass outside is
below 1e-32).

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

__all__ = ["normal_expectation"]

NODES = 200
TAIL = 12.0  # integrate over mean +- 12 std when splitting at kinks
PANELS, PANEL_NODES = 96, 16


@lru_cache(maxsize=8)
def _hermgauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite.hermgauss(n)
    return z * np.sqrt(2.0), w / np.sqrt(np.pi)  # nodes/weights for E over N(0, 1)


def _panels(mean: float, std: float, breakpoints: Sequence[float]) -> tuple[np.ndarray, ...]:
    lo, hi = mean - TAIL * std, mean + TAIL * std
    edges = np.union1d(np.linspace(lo, hi, PANELS + 1), [b for b in breakpoints if lo < b < hi])
    t, w = np.polynomial.legendre.leggauss(PANEL_NODES)
    a, b = edges[:-1, None], edges[1:, None]
    x = (a + b) / 2 + (b - a) / 2 * t
    weights = (
        (b - a) / 2 * w * np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    )
    return x.ravel(), weights.ravel()


def normal_expectation(
    f: Callable[[Tensor], Tensor],
    *,
    mean: float = 0.0,
    std: float = 1.0,
    nodes: int = NODES,
    breakpoints: Sequence[float] = (),
) -> float:
    """E[f(z)] for z ~ N(mean, std^2), in float64.

    Gauss-Hermite with ``nodes`` points; or, if ``breakpoints`` (f's kinks) are given,
    Gauss-Legendre panels split at them.
    """
    if std == 0:
        return float(f(torch.tensor([mean], dtype=torch.float64))[0])
    if breakpoints:
        x, w = _panels(mean, std, breakpoints)
    else:
        z, w = _hermgauss(nodes)
        x = mean + std * z
    values = f(torch.as_tensor(x, dtype=torch.float64)).to(torch.float64).cpu().numpy()
    return float(np.dot(w, values))
