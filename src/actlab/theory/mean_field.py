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
import torch
from scipy.optimize import brentq
from torch import Tensor

from actlab._numerics import normal_expectation, normal_nodes_many
from actlab.activations import ActivationInfo
from actlab.activations.properties import resolve
from actlab.errors import ActlabError

__all__ = [
    "activation_moments",
    "chi",
    "critical_weight_variance",
    "depth_scale",
    "fixed_point",
    "second_moments",
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


def second_moments(
    q: np.ndarray, activation: str | ActivationInfo, params: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(E[phi(h)^2], E[phi'(h)^2])`` for ``h ~ N(0, q_i)``, for a whole array of q in one
    vectorized pass (the quadrature of :func:`actlab._numerics.normal_expectation`)."""
    info = resolve(activation)
    p = info.bind(dict(params or {}))
    std = np.sqrt(np.clip(np.asarray(q, dtype=np.float64), Q_TINY, Q_HUGE))
    x, w, starts = normal_nodes_many(std, breakpoints=tuple(info.kinks(p)))
    xt = torch.as_tensor(x, dtype=torch.float64)
    with torch.no_grad():
        f = info.scalar(xt, **p).double().numpy()
        df = info.derivative_of_scalar(xt, **p).double().numpy()
    return np.add.reduceat(w * f**2, starts), np.add.reduceat(w * df**2, starts)


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

    Iterates the map; where convergence is slow it finds, on a fine log grid, the first point in
    the direction the iteration moves where ``V(q) - q`` changes sign, and refines the root
    there with Brent's method.
    """

    def v(q: float) -> float:
        return variance_map(q, activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, params=params)

    q = q0
    for _ in range(100):
        nxt = v(q)
        if abs(nxt - q) <= 1e-12 * max(q, 1e-300):
            return nxt
        if nxt > Q_HUGE:
            return math.inf
        q = nxt
    if abs(v(q) / q - 1) < 1e-9:  # a neutral map (V linear, slope 1): every q is fixed
        return q
    grid = np.logspace(-15, 15, 241)
    gap = sigma_w2 * second_moments(grid, activation, params)[0] + sigma_b2 - grid
    sign = np.where(gap > 1e-9 * grid, 1, np.where(gap < -1e-9 * grid, -1, 0))
    if v(q) > q:  # moving up: to the first grid point above q where V - q <= 0
        stops = np.flatnonzero((grid > q) & (sign <= 0))
        if not len(stops):
            return math.inf
        i = int(stops[0])
        lo, hi = (max(grid[i - 1], q) if i else q), grid[i]
    else:  # moving down: to the last grid point below q where V - q >= 0
        stops = np.flatnonzero((grid < q) & (sign >= 0))
        if not len(stops):
            return 0.0
        i = int(stops[-1])
        lo, hi = grid[i], (min(grid[i + 1], q) if i + 1 < len(grid) else q)
    if sign[i] == 0:  # V(q) = q to within 1e-9 there: a neutral stretch the signal stalls in
        return float(grid[i])
    return float(brentq(lambda g: v(g) - g, lo, hi, xtol=1e-14, rtol=1e-12))


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
        c = chi(q, activation, sigma_w2=s, params=params)
        return math.log(c) if c > 0 else -math.inf  # f' = 0 a.e. (binary_step): no edge

    lo, hi = (math.log(b) for b in bounds)
    a, b = excess(lo), excess(hi)
    if not (a < 0 < b):
        name = resolve(activation).name
        raise ActlabError(
            f"{name}: no edge of chaos for sigma_w^2 in [{bounds[0]:g}, {bounds[1]:g}] "
            f"(log chi at the ends: {a:.3g}, {b:.3g})"
        )
    edge = math.exp(brentq(excess, lo, hi, xtol=1e-12, maxiter=1000))
    # Tanh-like f (f(0) = 0, no bias): below the edge the signal dies (q* = 0) and above it
    # chi(q*) = 1 + O((sigma_w^2 - edge)^2), so the root of log chi is flat to second order and
    # the quadratures' last bits move it by ~1e-5. The edge is then where chi at q = 0, which is
    # sigma_w^2 f'(0)^2 and linear in sigma_w^2, crosses 1 (softsign, tanh: exactly 1).
    if sigma_b2 == 0 and fixed_point(activation, sigma_w2=edge * 0.99, params=params) == 0:
        at_zero = chi(0.0, activation, sigma_w2=1.0, params=params)
        if at_zero > 0 and abs(math.log(edge * at_zero)) < 1e-3:
            return 1 / at_zero
    return edge


def depth_scale(chi_value: float) -> float:
    """``-1 / log chi``: the number of layers over which gradients change by a factor e
    (infinite at the edge of chaos), Schoenholz et al.'s xi for gradients."""
    if chi_value <= 0:
        return 0.0
    log = math.log(chi_value)
    return math.inf if log == 0 else -1 / log
