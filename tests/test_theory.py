"""Mean-field maps against closed forms, Monte Carlo, and the papers' critical points."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError
from actlab.theory import (
    activation_moments,
    chi,
    critical_weight_variance,
    depth_scale,
    fixed_point,
    predict,
    variance_map,
)


@pytest.mark.parametrize("q", [0.01, 1.0, 7.5])
def test_relu_and_identity_maps_have_closed_forms(q):
    # E[relu(sqrt(q) z)^2] = q / 2 and E[relu'(.)^2] = 1/2; identity: q and 1
    assert variance_map(q, "relu", sigma_w2=1.7, sigma_b2=0.3) == pytest.approx(1.7 * q / 2 + 0.3)
    assert chi(q, "relu", sigma_w2=1.7) == pytest.approx(1.7 / 2)
    assert variance_map(q, "identity", sigma_w2=0.9, sigma_b2=0.1) == pytest.approx(0.9 * q + 0.1)
    assert chi(q, "identity", sigma_w2=0.9) == pytest.approx(0.9)
    # E[relu(h)] = sqrt(q / (2 pi)); Gauss-Hermite integrates the kink of |z| = relu(z) +
    # relu(-z) only to ~0.2% with 200 nodes (the second moments above are exact by symmetry)
    mean = activation_moments(q, "relu")[0]
    assert mean == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=5e-3)


@pytest.mark.parametrize(
    ("name", "params"),
    [("tanh", {}), ("gelu", {}), ("elu", {"alpha": 0.5}), ("sigmoid", {}), ("mish", {})],
)
def test_maps_match_monte_carlo(name, params):
    info = ACTIVATIONS.get(name)
    q, sw2, sb2 = 1.7, 1.3, 0.2
    h = math.sqrt(q) * torch.randn(
        2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    mc_v = sw2 * info.scalar(h, **params).pow(2).mean().item() + sb2
    mc_chi = sw2 * info.derivative_of_scalar(h, **params).pow(2).mean().item()
    assert variance_map(q, name, sigma_w2=sw2, sigma_b2=sb2, params=params) == pytest.approx(
        mc_v, rel=5e-3
    )
    assert chi(q, name, sigma_w2=sw2, params=params) == pytest.approx(mc_chi, rel=5e-3)


def test_fixed_points():
    # ReLU with bias: q* = sigma_b^2 / (1 - sigma_w^2 / 2)
    assert fixed_point("relu", sigma_w2=1.0, sigma_b2=0.1) == pytest.approx(0.2, rel=1e-8)
    assert fixed_point("relu", sigma_w2=1.0) == 0.0  # Xavier: the signal dies
    assert fixed_point("relu", sigma_w2=2.5) == math.inf  # explodes
    assert fixed_point("relu", sigma_w2=2.0, q0=3.0) == pytest.approx(3.0)  # He: every q is fixed
    assert fixed_point("tanh", sigma_w2=0.8) == 0.0
    q = fixed_point("tanh", sigma_w2=1.5, sigma_b2=0.05)
    assert q > 0.1
    assert variance_map(q, "tanh", sigma_w2=1.5, sigma_b2=0.05) == pytest.approx(q, rel=1e-9)
    # SELU at sigma_w^2 = 1 (LeCun): its self-normalizing fixed point q* = 1 (Klambauer et al.)
    assert fixed_point("selu", sigma_w2=1.0) == pytest.approx(1.0, abs=1e-3)


def test_critical_weight_variance():
    # He et al. 2015: sigma_w^2 = 2 for ReLU; tanh without bias: chi(0) = sigma_w^2 tanh'(0)^2
    assert critical_weight_variance("relu") == pytest.approx(2.0, rel=1e-8)
    assert critical_weight_variance("relu", sigma_b2=0.3) == pytest.approx(2.0, rel=1e-8)
    assert critical_weight_variance("tanh") == pytest.approx(1.0, rel=1e-6)
    assert critical_weight_variance("identity") == pytest.approx(1.0, rel=1e-8)
    assert critical_weight_variance("leaky_relu", params={"negative_slope": 0.5}) == (
        pytest.approx(2 / (1 + 0.5**2), rel=1e-6)
    )
    # with bias the tanh edge moves right (Poole et al. 2016, Fig. 2): check chi(q*) = 1 there
    s = critical_weight_variance("tanh", sigma_b2=0.05)
    assert 1.2 < s < 2.5
    q = fixed_point("tanh", sigma_w2=s, sigma_b2=0.05)
    assert chi(q, "tanh", sigma_w2=s) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ActlabError, match="no edge of chaos"):
        critical_weight_variance("sigmoid")  # chi(q*) < 1 for every sigma_w^2 up to 100


def test_depth_scale():
    assert depth_scale(1.0) == math.inf
    assert depth_scale(math.exp(-0.1)) == pytest.approx(10.0)


def test_predictions_in_closed_form():
    # ReLU, sigma_w^2 = 1: the second moment halves per layer, rms_l = 2^(-l/2), and the
    # backward signal halves (in second moment) per layer going down: d_l = 2^(l - L) / 2
    rows = predict("relu", sigma_w2=1.0, depth=30, width=512, batch=256)
    for r in rows:
        assert r.rms == pytest.approx(2 ** (-r.layer / 2))
        assert r.backward_rms == pytest.approx(math.sqrt(2.0 ** (r.layer - 30) / 2))
        # ||dW^l|| = width sqrt(d_l m_{l-1} / batch) = 512 sqrt(2^-30 / 256), the same everywhere
        assert r.grad_norm == pytest.approx(512 * math.sqrt(2.0**-30 / 256))
    he = predict("relu", sigma_w2=2.0, depth=30, width=512, batch=256)
    assert all(r.rms == pytest.approx(1.0) and r.chi == pytest.approx(1.0) for r in he)
