"""What ``auto`` initialization chooses: the weight and bias variances that keep a deep random
network's signal and gradients at a constant size, searched for with mean-field theory.

With ``m(q) = E[f(h)^2]`` and ``g(q) = E[f'(h)^2]`` for ``h ~ N(0, q)``, a layer maps the
pre-activation variance by ``V(q) = sigma_w^2 m(q) + sigma_b^2`` and multiplies squared gradients
by ``chi(q) = sigma_w^2 g(q)``. A fixed point ``q* = V(q*)`` holds the signal only if it attracts,
``V'(q*) = sigma_w^2 m'(q*) < 1``; gradients keep their size only if ``chi(q*) = 1``.

The search (no activation is special-cased):

1. for every candidate ``q*`` on a log grid over [1/8, 8] -- "near 1": the pre-activations'
   standard deviation within a factor sqrt(8) of 1 -- the ``sigma_w^2`` that brings ``chi(q*)``
   closest to 1 subject to ``sigma_b^2 = q* - sigma_w^2 m(q*) >= 0`` and stability,
   ``V'(q*) <= 1 - margin`` for each margin of ``MARGINS`` (``<= 1`` where ``V`` is linear, as
   for ReLU: every q is fixed);
2. each candidate's network is predicted layer by layer from unit-variance inputs: activation
   RMS relative to layer 1 and backward gradient relative to layer ``DEPTH`` over ``DEPTH``
   layers, and the gradient factor ``chi^(DEPTH/2)`` over ``DEPTH`` layers once the variance
   has settled. Among the candidates whose variance settles, whose fixed point pulls back every
   variance within a factor ``BASIN`` of it, and whose three numbers stay within
   [1/SAFE, SAFE], the ``q*`` nearest 1 is kept; else, among those within [1/BOUND, BOUND], the
   one that strays least; else depth cannot be held, and the settled ``q*`` nearest 1 is kept
   (a larger one would only push a saturating f further into its flat tails).

ReLU-like functions get He's ``sigma_w^2 = 1 / E[f'^2]``, ``sigma_b^2 = 0``; tanh gets the
critical line of Schoenholz et al. 2017 (``chi = 1`` with a small ``sigma_b^2``); GELU and Mish,
whose map curves upward at q = 1 (a fixed point there with chi = 1 would be unstable), get a
larger ``q*`` where chi = 1, or nearly, is stable. Where no choice keeps both within [1/2, 2]
over ``DEPTH`` layers (binary_step, sigmoid, hardsigmoid, logsigmoid, softplus, tanhshrink, SiLU,
hardswish) the record says so, with the per-layer gradient factor ``chi(q*) < 1`` it keeps.

>>> c = auto_choice("relu")
>>> c.sigma_w2, c.sigma_b2, c.holds
(2.0, 0.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np

from actlab._numerics import format_number, format_span
from actlab.activations import ActivationInfo
from actlab.activations.properties import resolve
from actlab.errors import ActlabError
from actlab.theory.mean_field import activation_moments, chi, fixed_point, second_moments
from actlab.theory.predict import predict

__all__ = ["AutoChoice", "auto_choice"]

DEPTH = 50  # the depth the choice is judged over, and the record's guarantee refers to
BOUND = 2.0  # "keeps" = within [1 / BOUND, BOUND] of the reference layer
MARGINS = np.array([0.02, 0.1, 0.25, 0.5])  # V'(q*) <= 1 - margin where V curves (V' = 1 leaks)
CANDIDATES = 2.0 ** (np.arange(-12, 13) / 4)  # q* "near 1": [1/8, 8], four per octave
TABLE = 2.0 ** (np.arange(-96, 97) / 8)  # m(q), g(q) tabulated for the layer-by-layer search
EPS = 1e-4  # relative step of the central difference for m'(q)
LINEAR = 1e-6  # |q m'(q) / m(q) - 1| below this: the map is linear (positively homogeneous f)
SAFE = 1.25  # preferred: predicted within [1/SAFE, SAFE] over DEPTH layers, room for finite width
BASIN = 2.0  # the fixed point must pull back every variance within this factor of it
SETTLE = 500  # layers of the tabulated map after which the variance must have settled


@dataclass(frozen=True)
class AutoChoice:
    """What ``auto`` draws for one activation, and what theory says it does over ``depth`` layers.

    Attributes:
        sigma_w2: ``fan x Var(W)``; ``sigma_b2``: the variance of the biases (0: zeros).
        q_star: the fixed point of the variance map reached from unit-variance inputs.
        chi_star: ``chi(q*)``, the per-layer factor of squared gradients there.
        slope: ``V'(q*)``, below 1 where the fixed point attracts.
        signal: (min, max) over layers of the predicted activation RMS / layer 1's.
        gradient: (min, max) over layers of the predicted backward-gradient RMS / the last
            layer's (the per-sample dL/dh^l that ``depth_probe`` measures).
        holds: both ranges, and ``chi_star^(depth/2)``, lie within [1/2, 2].
        why: one line: the reason for the choice, or why no choice can hold.
    """

    activation: str
    params: tuple[tuple[str, Any], ...]
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi_star: float
    slope: float
    signal: tuple[float, float]
    gradient: tuple[float, float]
    holds: bool
    why: str
    depth: int = DEPTH
    bound: float = BOUND

    def summary(self) -> str:
        """One line: the choice, its fixed point and what it keeps over ``depth`` layers."""
        n = partial(format_number, digits=3)
        head = (
            f"sigma_w^2 = {n(self.sigma_w2)}, sigma_b^2 = {n(self.sigma_b2)}, "
            f"q* = {n(self.q_star)}, chi(q*) = {n(self.chi_star)}, V'(q*) = {n(self.slope)}"
        )
        keeps = (
            f"keeps activation RMS and gradients within [1/{self.bound:g}, {self.bound:g}] "
            f"over {self.depth} layers"
            if self.holds
            else f"cannot keep both within [1/{self.bound:g}, {self.bound:g}] over "
            f"{self.depth} layers (signal {format_span(self.signal)}, "
            f"gradient {format_span(self.gradient)})"
        )
        return f"{head}; {keeps}. {self.why}"


def _search(s_w: np.ndarray, s_b: np.ndarray, m_tab: np.ndarray, g_tab: np.ndarray):
    """For every candidate at once, from unit-variance inputs: the worst |log| deviation over
    DEPTH layers of activation RMS (vs layer 1), of backward RMS (vs layer DEPTH) and of the
    gradient over DEPTH layers at the settled variance, chi^(DEPTH/2); and whether the variance
    settles within SETTLE layers (from the tabulated m and g)."""
    logq, log_m_tab, log_g_tab = np.log(TABLE), np.log(m_tab), np.log(g_tab)
    q = prev = s_w + s_b  # layer 1 reads unit-variance inputs
    m = np.ones_like(s_w)
    log_m, log_chi, inside = [], [], np.ones(len(s_w), dtype=bool)
    for layer in range(SETTLE):
        if layer:
            prev, q = q, s_w * m + s_b
        inside &= (TABLE[0] <= q) & (q <= TABLE[-1])
        x = np.log(np.clip(q, TABLE[0], TABLE[-1]))
        m = np.exp(np.interp(x, logq, log_m_tab))
        if layer < DEPTH:
            log_m.append(np.log(m))
            log_chi.append(np.log(s_w) + np.interp(x, logq, log_g_tab))
    log_m, log_chi = np.array(log_m), np.array(log_chi)
    signal = 0.5 * np.abs(log_m - log_m[0]).max(axis=0)
    back = 0.5 * np.abs(np.cumsum(log_chi[:-1][::-1], axis=0)).max(axis=0, initial=0.0)
    x = np.log(np.clip(q, TABLE[0], TABLE[-1]))
    steady = 0.5 * DEPTH * np.abs(np.log(s_w) + np.interp(x, logq, log_g_tab))
    settled = inside & (np.abs(np.log(q / prev)) < 1e-4)
    return np.maximum.reduce([signal, back, steady]), settled


def _attracts(q: np.ndarray, s_w: np.ndarray, s_b: np.ndarray, info, p) -> np.ndarray:
    """Whether each candidate's fixed point pulls back every variance within a factor ``BASIN``
    of it (``V(x) >= x`` below ``q*``, ``V(x) <= x`` above; equality where V is linear). A width-N
    network's variance fluctuates around q*: a fixed point whose basin is a sliver (tanhshrink's
    near V' = 1) is left after a few layers and the signal runs away."""
    factors = BASIN ** np.linspace(-1, 1, 9)
    x = q[:, None] * factors[None, :]
    m = second_moments(x.ravel(), info, p)[0].reshape(x.shape)
    gap = (s_w[:, None] * m + s_b[:, None] - x) / x
    side = np.sign(factors - 1)[None, :]
    return (gap * side <= 1e-9).all(axis=1)


def _slope(info, p, q: float, s_w: float) -> float:
    """``V'(q) = sigma_w^2 m'(q)`` by a central difference."""
    hi = activation_moments(q * (1 + EPS), info, p)[1]
    lo = activation_moments(q * (1 - EPS), info, p)[1]
    if abs(hi - lo) <= 4 * np.spacing(max(abs(hi), abs(lo))):
        return 0.0  # a few units in the last place: a flat m (binary_step), not a slope
    return s_w * (hi - lo) / (2 * EPS * q)


WHY = {
    "linear": "f is positively homogeneous: every q is a fixed point, and sigma_w^2 = "
    "1/E[f'^2] gives chi = 1 (He et al. 2015)",
    "edge": "edge of chaos: chi(q*) = 1 at a stable fixed point (Schoenholz et al. 2017)",
    "stable": "chi(q*) < 1: sigma_w^2 stops at V'(q*) = {v:.2f}, the margin that keeps q* "
    "attracting; at chi = 1 the variance map would be (nearly) unstable there",
    "bias": "chi(q*) < 1: chi = 1 at this q* needs sigma_b^2 < 0",
    "dead": "f' = 0 almost everywhere: no initialization passes gradients back",
}


@lru_cache(maxsize=256)
def _choose(name: str, params: tuple[tuple[str, Any], ...]) -> AutoChoice:
    info = resolve(name)
    p = info.bind(dict(params))
    with np.errstate(divide="ignore"):
        m_tab, g_tab = second_moments(TABLE, info, p)
        q = CANDIDATES
        m, g = second_moments(q, info, p)
        d = second_moments(q * (1 + EPS), info, p)[0] - second_moments(q * (1 - EPS), info, p)[0]
        d /= 2 * EPS * q  # m'(q), by a central difference
        keep = m > 0
        if not keep.any():
            raise ActlabError(f"{info.name} is zero on every Gaussian: auto has nothing to scale")
        # every q* once per stability margin, the smallest margin (chi nearest 1) first
        q, m, g, d = (np.tile(a[keep], len(MARGINS)) for a in (q, m, g, d))
        margin = np.repeat(MARGINS, keep.sum())
        linear = np.abs(q * d / m - 1) < LINEAR
        limits = np.stack(
            [
                np.where(g > 0, 1 / g, np.inf),  # chi(q) = 1
                q / m,  # sigma_b^2 >= 0
                np.where(linear | (d <= 0), np.inf, (1 - margin) / d),  # V'(q) <= 1 - margin
            ]
        )
        s_w = limits.min(axis=0)
        s_b = np.maximum(q - s_w * m, 0.0)
        dev, settled = _search(s_w, s_b, m_tab, g_tab)
        settled &= _attracts(q, s_w, s_b, info, p)
    good = settled & (dev <= math.log(SAFE))
    fair = settled & (dev <= math.log(BOUND))
    if good.any():  # comfortably within the bound: the q* nearest 1
        i = int(np.argmin(np.where(good, np.abs(np.log(q)), np.inf)))
    elif fair.any():  # within the bound: the candidate that strays least
        i = int(np.argmin(np.where(fair, dev, np.inf)))
    else:  # depth cannot be held: stay nearest q* = 1 (a larger q* only saturates f further)
        near = np.where(settled, np.abs(np.log(q)), np.inf) if settled.any() else np.abs(np.log(q))
        i = int(np.argmin(near))
    reason = "linear" if linear[i] else ("edge", "bias", "stable")[int(limits[:, i].argmin())]
    s_b_i = s_b[i] if s_b[i] > 1e-6 * q[i] else 0.0  # below that: quadrature noise, not a bias
    return _record(info, p, _tidy(s_w[i]), _tidy(s_b_i), reason)


def _tidy(x: float) -> float:
    """Round away quadrature noise (2.0000000000003 -> 2.0) so records and docs are stable."""
    return float(f"{x:.10g}")


def _record(info, p, s_w: float, s_b: float, reason: str) -> AutoChoice:
    rows = predict(info, sigma_w2=s_w, sigma_b2=s_b, depth=DEPTH, width=1, batch=1, params=p)
    q1 = rows[0].q
    q_star = fixed_point(info, sigma_w2=s_w, sigma_b2=s_b, q0=q1, params=p)
    q_eval = q_star if 0 < q_star < math.inf else q1
    chi_star = chi(q_eval, info, sigma_w2=s_w, params=p)
    slope = _slope(info, p, q_eval, s_w)
    rms = np.array([r.rms for r in rows])
    back = np.array([r.backward_rms for r in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        signal = rms / rms[0]
        gradient = back / back[-1] if back[-1] > 0 else np.zeros_like(back)
    spans = tuple(
        (float(np.nanmin(r)), float(np.nanmax(r))) if np.isfinite(r).any() else (0.0, 0.0)
        for r in (signal, gradient)
    )
    steady = chi_star ** (DEPTH / 2)  # the gradient over DEPTH layers once q has settled
    holds = all(lo >= 1 / BOUND and hi <= BOUND for lo, hi in spans) and (
        1 / BOUND <= steady <= BOUND
    )
    if chi_star == 0:
        reason = "dead"
    return AutoChoice(
        activation=info.name,
        params=tuple(sorted(p.items())),
        sigma_w2=s_w,
        sigma_b2=s_b,
        q_star=q_star,
        chi_star=chi_star,
        slope=slope,
        signal=spans[0],
        gradient=spans[1],
        holds=holds,
        why=WHY[reason].format(v=slope),
    )


def auto_choice(
    activation: str | ActivationInfo, params: Mapping[str, Any] | None = None, **kw: Any
) -> AutoChoice:
    """The weight variance ``sigma_w^2`` (= fan x Var(W)) and bias variance ``sigma_b^2`` that
    ``auto`` initialization uses for ``activation``, with the theory behind them; computed once
    per (activation, parameters) and cached.

    Args:
        activation: an elementwise catalog activation (name or record).
        params: its parameters (or pass them as keywords).

    >>> c = auto_choice("tanh")
    >>> c.holds, 0.9 < c.chi_star < 1.1, c.sigma_b2 > 0
    (True, True, True)
    """
    info = resolve(activation)
    if info.kind != "elementwise":
        raise ActlabError(
            f"auto_choice: {info.name} acts along a dimension; mean-field theory needs an "
            "elementwise activation"
        )
    p = info.bind({**dict(params or {}), **kw})
    return _choose(info.name, tuple(sorted(p.items())))
