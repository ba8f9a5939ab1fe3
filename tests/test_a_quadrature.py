"""Gaussian expectations of every catalog entry against an independent high-precision integral.

The reference integrates f(x)^2 (resp. f'(x)^2) times the N(0, q) density with ``mpmath.quad``
(adaptive tanh-sinh, 20 digits), split at the entry's declared kinks and at 0 and +-4 std (so
the mass is never far from an endpoint), with f and f' evaluated by the catalog's own float64
formulas at each node: the quadrature is what is checked, not the formula.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from actlab.activations.properties import gain
from actlab.theory.mean_field import chi, critical_weight_variance, variance_map
from conftest import CASES

RTOL = 1e-9
SIGMA_W2, SIGMA_B2 = 1.5, 0.1


def _reference(info, params, q: float, *, derivative: bool) -> float:
    """E[g(x)^2], x ~ N(0, q), g = f or f', by mpmath.quad split at the kinks."""
    p = info.bind(params)
    g = info.derivative_of_scalar if derivative else info.scalar
    std = math.sqrt(q)

    def integrand(x):
        with torch.no_grad():
            v = float(g(torch.tensor([float(x)], dtype=torch.float64), **p)[0])
        return mpmath.mpf(v) ** 2 * mpmath.npdf(x, 0, std)

    splits = {float(k) for k in info.kinks(p)} | {0.0, -4 * std, 4 * std}
    with mpmath.workdps(20):
        return float(mpmath.quad(integrand, [-mpmath.inf, *sorted(splits), mpmath.inf]))


@pytest.mark.parametrize(("info", "params"), CASES)
def test_gain_variance_map_and_chi_match_high_precision_quadrature(info, params):
    assert gain(info, **params) == pytest.approx(
        1 / math.sqrt(_reference(info, params, 1.0, derivative=False)), rel=RTOL
    )
    for q in () if params else (4.0,):  # default parameters: a wider q as well
        expected = SIGMA_W2 * _reference(info, params, q, derivative=False) + SIGMA_B2
        got = variance_map(q, info, sigma_w2=SIGMA_W2, sigma_b2=SIGMA_B2, params=params)
        assert got == pytest.approx(expected, rel=RTOL), f"variance map at q={q}"
    for q in (1.0,) if params else (0.25, 4.0):
        expected = SIGMA_W2 * _reference(info, params, q, derivative=True)
        got = chi(q, info, sigma_w2=SIGMA_W2, params=params)
        assert got == pytest.approx(expected, rel=RTOL, abs=1e-300), f"chi at q={q}"


def test_softsign_moments_pinned():
    # 30-digit mpmath.quad of the closed forms (x / (1 + x))^2 and 1 / (1 + x)^4 on [0, inf),
    # doubled, against the normal density: the values before softsign declared its kink at 0
    # were 2.3373599 and 0.22136
    assert gain("softsign") == pytest.approx(2.33753336310853966, rel=1e-12)
    assert chi(1.0, "softsign", sigma_w2=1.0) == pytest.approx(0.227671340422182500, rel=1e-12)


def test_softsign_edge_of_chaos_is_at_sigma_w2_one():
    # q* = 0 below sigma_w^2 = 1, and chi(0) = sigma_w^2 f'(0)^2 = sigma_w^2, so chi = 1 there
    assert critical_weight_variance("softsign") == pytest.approx(1.0, abs=1e-9)


def test_nodes_for_many_stds_equal_one_call_per_std_bit_for_bit():
    # second_moments takes the nodes of hundreds of variances at once; each must be exactly the
    # one-row quadrature's, so that the theory's numbers do not depend on how they are batched
    import numpy as np

    from actlab._numerics import normal_nodes, normal_nodes_many
    from actlab.activations import ACTIVATIONS

    stds = np.sqrt(np.concatenate([np.logspace(-9, 6, 200), [0.25, 0.5, 0.5 * (1 + 1e-12), 2.0]]))
    kink_sets = {tuple(i.kinks(i.bind({}))) for i in ACTIVATIONS if i.kind == "elementwise"}
    kink_sets |= {(), (0.0,), (-1.0, 1.0), (-3.0, 3.0), (0.0, 6.0), (6.0,)}  # 6: a grid point
    for kinks in kink_sets:
        x, w, starts = normal_nodes_many(stds, breakpoints=kinks)
        rows = [normal_nodes(std=s, breakpoints=kinks) for s in stds]
        assert np.array_equal(starts, np.cumsum([0] + [len(r[0]) for r in rows[:-1]]))
        assert np.array_equal(x, np.concatenate([r[0] for r in rows])), kinks
        assert np.array_equal(w, np.concatenate([r[1] for r in rows])), kinks
