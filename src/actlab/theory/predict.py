"""Layer-by-layer predictions for a deep random MLP from the mean-field maps.

The network: ``depth`` layers ``x^l = phi(W^l x^{l-1} + b^l)`` of equal ``width``, inputs with
per-unit second moment ``m_0`` (1 for standard Gaussian inputs), and the loss
``L = mean_b g_b . x^L_b`` with fixed random ``g_b ~ N(0, I)`` -- a loss whose output gradient is
isotropic noise, so that what reaches each layer is the network's own amplification.

Forward (per unit):  ``q_l = sigma_w^2 m_{l-1} + sigma_b^2``,  ``m_l = E[phi(h)^2]``,
``mu_l = E[phi(h)]``, ``h ~ N(0, q_l)``.
Backward: ``d_L = E[phi'(h^L)^2]`` and ``d_l = sigma_w^2 E[phi'(h^l)^2] d_{l+1} = chi_l d_{l+1}``,
the second moment of dL/dh^l per unit and sample.
Weight gradient: ``E||dL/dW^l||_F^2 = width^2 d_l m_{l-1} / batch`` (cross-sample terms vanish
because the g_b are independent; forward and backward factors are treated as independent, the
mean-field "gradient independence" assumption).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actlab.activations import ActivationInfo
from actlab.activations.properties import resolve
from actlab.theory.mean_field import activation_moments, chi

__all__ = ["LayerStats", "predict"]


@dataclass(frozen=True)
class LayerStats:
    """One layer's statistics, measured or predicted.

    ``rms``, ``mean`` and ``var`` are of the layer's outputs ``x^l = phi(h^l)`` over units and
    samples; ``backward_rms`` is the RMS of each sample's own gradient dL_b/dh^l (the signal
    travelling back); ``grad_norm`` the Frobenius norm of dL/dW^l; ``q`` the pre-activation
    variance and ``chi`` the layer's gradient factor (predictions only)."""

    layer: int
    rms: float
    mean: float
    var: float
    grad_norm: float
    backward_rms: float
    q: float = math.nan
    chi: float = math.nan


def predict(
    activation: str | ActivationInfo,
    *,
    sigma_w2: float,
    sigma_b2: float = 0.0,
    depth: int,
    width: int,
    batch: int,
    input_second_moment: float = 1.0,
    params: Mapping[str, Any] | None = None,
) -> tuple[LayerStats, ...]:
    """Mean-field prediction of every layer's output RMS, mean, variance and weight-gradient norm.

    >>> rows = predict("relu", sigma_w2=1.0, depth=30, width=512, batch=256)  # Xavier + ReLU
    >>> round(rows[-1].rms / 2**-15, 6)  # halves the second moment per layer
    1.0
    """
    info = resolve(activation)
    q, mean, second, chis = [], [], [], []
    m_prev = input_second_moment
    for _ in range(depth):
        q_l = sigma_w2 * m_prev + sigma_b2
        mu, m = activation_moments(q_l, info, params)
        q.append(q_l)
        mean.append(mu)
        second.append(m)
        chis.append(chi(q_l, info, sigma_w2=sigma_w2, params=params))
        m_prev = m
    d = [0.0] * depth
    d[-1] = chi(q[-1], info, sigma_w2=1.0, params=params)  # E[phi'(h^L)^2] times E[g^2] = 1
    for layer in range(depth - 2, -1, -1):
        d[layer] = chis[layer] * d[layer + 1]
    inputs = [input_second_moment, *second[:-1]]
    return tuple(
        LayerStats(
            layer=i + 1,
            rms=math.sqrt(second[i]),
            mean=mean[i],
            var=max(second[i] - mean[i] ** 2, 0.0),
            grad_norm=width * math.sqrt(d[i] * inputs[i] / batch),
            backward_rms=math.sqrt(d[i]),
            q=q[i],
            chi=chis[i],
        )
        for i in range(depth)
    )
