"""Mean-field signal propagation through a deep random network (Poole et al. 2016; Schoenholz et
al. 2017), for any catalog activation.

A layer computes ``h^l = W^l phi(h^{l-1}) + b^l`` with ``W_ij ~ (0, sigma_w^2 / N)`` and
``b_i ~ (0, sigma_b^2)``. At large width every pre-activation is Gaussian with variance q^l, which
evolves by the **variance map**

    q^l = sigma_w^2 E_z[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2,    z ~ N(0, 1),

and backpropagated gradients are multiplied, per layer, by

    chi(q) = sigma_w^2 E_z[phi'(sqrt(q) z)^2].

At the fixed point q* of the variance map, chi < 1 means gradients vanish exponentially with
depth (ordered phase), chi > 1 that they explode (chaotic phase); chi = 1 is the edge of chaos,
reached at the critical weight variance. The activation enters only through its catalog entry
(``scalar`` and ``derivative_of_scalar``); the expectations are Gauss-Hermite quadratures.

>>> round(chi(1.0, "relu", sigma_w2=2.0), 6)  # He init: ReLU passes gradients unchanged
1.0
>>> round(critical_weight_variance("tanh"), 4)  # tanh without bias: sigma_w^2 = 1
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.optimize import brentq
from torch import Tensor

from actlab._numerics import normal_expectation
from actlab.activations import ActivationInfo
from actlab.activations.properties import resolve
from actlab.errors import ActlabError

__all__ = [
    "activation_moments",
    "chi",
    "critical_weight_variance",
    "depth_scale",
    "fixed_point",
    "variance_map",
]

Q_TINY, Q_HUGE = 1e-30, 1e30  # q = 0 and q = inf are evaluated as limits at these values


def _functions(
    activation: str | ActivationInfo, params: Mapping[str, Any] | None
) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor], tuple[float, ...]]:
    """f, f' and f's kinks, from the activation's catalog entry."""
    info = resolve(activation)
    p = info.bind(dict(params or {}))
    return (
        (lambda x: info.scalar(x, **p)),
        (lambda x: info.derivative_of_scalar(x, **p)),
        tuple(info.kinks(p)),  # quadrature panels split here: exact across kinks
    )


def _clip(q: float) -> float:
    return min(max(q, Q_TINY), Q_HUGE)


def activation_moments(
    q: float, activation: str | ActivationInfo, params: Mapping[str, Any] | None = None
) -> tuple[float, float]:
    """``(E[phi(h)], E[phi(h)^2])`` for ``h ~ N(0, q)``: the mean and second moment of a layer's
    outputs when its pre-activations have variance q."""
    f, _, kinks = _functions(activation, params)
    std = math.sqrt(_clip(q))
    return (
        normal_expectation(f, std=std, breakpoints=kinks),
        normal_expectation(lambda x: f(x) ** 2, std=std, breakpoints=kinks),
    )


def variance_map(
    q: float,
    activation: str | ActivationInfo,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    params: Mapping[str, Any] | None = None,
) -> float:
    """``sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``: the next layer's pre-activation variance."""
    return sigma_w2 * activation_moments(q, activation, params)[1] + sigma_b2


def chi(
    q: float,
    activation: str | ActivationInfo,
    *,
    sigma_w2: float,
    params: Mapping[str, Any] | None = None,
) -> float:
    """``sigma_w^2 E[phi'(sqrt(q) z)^2]``: the factor by which a layer with pre-activation
    variance q multiplies the squared norm of the gradient flowing back through it (chi_1 of
    Poole et al., the slope of the correlation map at c = 1)."""
    _, df, kinks = _functions(activation, params)
    return sigma_w2 * normal_expectation(
        lambda x: df(x) ** 2, std=math.sqrt(_clip(q)), breakpoints=kinks
    )


def fixed_point(
    activation: str | ActivationInfo,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    q0: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> float:
    """The fixed point q* the variance map reaches from q0: ``0.0`` when the signal dies out,
    ``inf`` when it grows without bound, q0 itself when every q is fixed (ReLU at sigma_w^2 = 2).

    Iterates the map; where convergence is slow it brackets a stable root of ``V(q) - q`` (one
    where V - q changes sign from + to -) on a log grid and refines it with Brent's method.
    """

    def v(q: float) -> float:
        return variance_map(q, activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, params=params)

    q = q0
    for _ in range(100):
        nxt = v(q)
        if abs(nxt - q) <= 1e-12 * max(q, 1e-300):
            return nxt
        if nxt > Q_HUGE:
            break
        q = nxt
    grid = np.logspace(-15, 15, 31)
    gap = np.array([v(g) - g for g in grid])
    tol = 1e-9 * grid
    sign = np.where(gap > tol, 1, np.where(gap < -tol, -1, 0))
    stable = [i for i in range(len(grid) - 1) if sign[i] > 0 and sign[i + 1] < 0]
    if stable:
        i = min(stable, key=lambda i: abs(math.log(grid[i]) - math.log(max(q, Q_TINY))))
        return float(brentq(lambda g: v(g) - g, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-12))
    if (sign <= 0).all() and (sign < 0).any():
        return 0.0
    if (sign >= 0).all() and (sign > 0).any():
        return math.inf
    return q0


def critical_weight_variance(
    activation: str | ActivationInfo,
    *,
    sigma_b2: float = 0.0,
    params: Mapping[str, Any] | None = None,
    bounds: tuple[float, float] = (1e-2, 1e2),
) -> float:
    """The edge of chaos: the sigma_w^2 with chi(q*) = 1, where gradients neither vanish nor
    explode with depth (ReLU: 2; tanh without bias: 1)."""

    def excess(log_s: float) -> float:
        s = math.exp(log_s)
        q = fixed_point(activation, sigma_w2=s, sigma_b2=sigma_b2, params=params)
        return math.log(chi(q, activation, sigma_w2=s, params=params))

    lo, hi = (math.log(b) for b in bounds)
    a, b = excess(lo), excess(hi)
    if not (a < 0 < b):
        name = resolve(activation).name
        raise ActlabError(
            f"{name}: no edge of chaos for sigma_w^2 in [{bounds[0]:g}, {bounds[1]:g}] "
            f"(log chi at the ends: {a:.3g}, {b:.3g})"
        )
    return math.exp(brentq(excess, lo, hi, xtol=1e-12))


def depth_scale(chi_value: float) -> float:
    """``-1 / log chi``: the number of layers over which gradients change by a factor e
    (infinite at the edge of chaos), Schoenholz et al.'s xi for gradients."""
    if chi_value <= 0:
        return 0.0
    log = math.log(chi_value)
    return math.inf if log == 0 else -1 / log
