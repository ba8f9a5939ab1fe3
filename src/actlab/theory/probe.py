"""The depth probe: measure a random deep MLP layer by layer and set the measurement beside the
mean-field prediction.

>>> result = depth_probe("relu", "he_normal", depth=10, width=256, batch=128)
>>> 0.5 < result.measured[-1].rms < 2
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from actlab.activations.properties import resolve
from actlab.errors import ActlabError

# the submodules, not the package: actlab.init imports this package for auto's choice
from actlab.init._apply import bias_variance, init_, weight_variance
from actlab.init._core import INITIALIZERS
from actlab.nn import Activation
from actlab.theory.mean_field import chi, critical_weight_variance, fixed_point
from actlab.theory.predict import LayerStats, predict

__all__ = ["ProbeResult", "depth_probe", "measure"]


@dataclass(frozen=True)
class ProbeResult:
    """Measured and predicted statistics per layer, and the theory's summary numbers."""

    activation: str
    init: str
    depth: int
    width: int
    batch: int
    sigma_w2: float
    sigma_b2: float
    measured: tuple[LayerStats, ...]
    predicted: tuple[LayerStats, ...]
    fixed_point: float
    chi_star: float
    critical_sigma_w2: float | None

    @property
    def phase(self) -> str:
        """Where chi at the fixed point puts the network: ordered, critical or chaotic; "near
        the edge" when chi^(depth/2), the gradient factor over the probed depth once the signal
        has settled, stays within [1/2, 2]."""
        if abs(self.chi_star - 1) <= 1e-6:
            return "critical (edge of chaos): gradients keep their size"
        over_depth = self.chi_star ** (self.depth / 2) if self.chi_star > 0 else 0.0
        if 0.5 <= over_depth <= 2:
            return (
                f"near the edge of chaos: gradients change by {over_depth:.2g}x over "
                f"{self.depth} layers"
            )
        if self.chi_star < 1:
            return "ordered: gradients vanish with depth"
        return "chaotic: gradients explode with depth"

    def ratios(self, field: str = "rms") -> list[float]:
        """measured / predicted per layer (``nan`` where the prediction is 0)."""
        return [
            getattr(m, field) / getattr(p, field) if getattr(p, field) else math.nan
            for m, p in zip(self.measured, self.predicted)
        ]

    def first_to_last(self, field: str = "grad_norm", which: str = "measured") -> float:
        """``field`` at layer 1 over layer L: e.g. ``||dL/dW^1|| / ||dL/dW^L||``, how much weaker
        the first layer learns than the last (``which``: "measured" or "predicted")."""
        rows = getattr(self, which)
        last = getattr(rows[-1], field)
        return getattr(rows[0], field) / last if last else math.nan


def build_mlp(activation: str, depth: int, width: int, params: Mapping[str, Any] | None = None):
    """``depth`` x (Linear(width, width), activation), as an ``nn.Sequential``."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), Activation(activation, **dict(params or {}))]
    return nn.Sequential(*layers)


def measure(
    model: nn.Sequential, x: torch.Tensor, output_grad: torch.Tensor
) -> tuple[LayerStats, ...]:
    """Per-layer output statistics of ``model`` (pairs of Linear, activation) on ``x`` and the
    weight-gradient norms of the loss ``mean_b output_grad_b . x^L_b``."""
    outputs, preacts = [], []
    h = x
    for i in range(0, len(model), 2):
        preacts.append(model[i](h))
        h = model[i + 1](preacts[-1])
        outputs.append(h)
    batch = x.shape[0]
    loss = (output_grad * h).sum() / batch
    linears = [model[i] for i in range(0, len(model), 2)]
    grads = torch.autograd.grad(loss, [m.weight for m in linears] + preacts)
    grads, backs = grads[: len(linears)], grads[len(linears) :]
    return tuple(
        LayerStats(
            layer=i + 1,
            rms=out.detach().pow(2).mean().sqrt().item(),
            mean=out.detach().mean().item(),
            var=out.detach().var().item(),
            grad_norm=g.norm().item(),
            backward_rms=(batch * b).pow(2).mean().sqrt().item(),
        )
        for i, (out, g, b) in enumerate(zip(outputs, grads, backs))
    )


def depth_probe(
    activation: str,
    init: str,
    *,
    depth: int = 30,
    width: int = 512,
    batch: int = 512,
    seed: int = 0,
    bias_std: float | None = None,
    activation_params: Mapping[str, Any] | None = None,
    init_params: Mapping[str, Any] | None = None,
) -> ProbeResult:
    """Build a random ``depth`` x ``width`` MLP with ``init``, feed it N(0, I) inputs, and return
    the measured per-layer RMS / mean / variance / weight-gradient norm beside the prediction.

    sigma_w^2 is read from the initializer's formula (``width x Var(W)``) and sigma_b^2 from its
    bias rule (``auto``'s choice, ``torch_default``'s uniform; 0 for zeros), or is ``bias_std^2``
    when given, so any zero-mean catalog initializer can be probed."""
    info = resolve(activation)
    if info.kind != "elementwise":
        raise ActlabError(
            f"depth probe: {info.name} acts along a dimension; the theory needs an elementwise "
            "activation"
        )
    for name, value, low in (("depth", depth, 1), ("width", width, 1), ("batch", batch, 2)):
        if value < low:
            raise ActlabError(f"depth probe: {name}={value} must be >= {low}")
    if bias_std is not None and not (bias_std >= 0 and math.isfinite(bias_std)):
        raise ActlabError(f"depth probe: bias_std={bias_std} must be a finite number >= 0")
    scheme = INITIALIZERS.get(init)
    a_params = info.bind(dict(activation_params or {}))
    i_params = dict(init_params or {})
    mean_w, var_w = weight_variance(scheme, width, width, activation=info.name, **i_params)
    if mean_w != 0:
        raise ActlabError(
            f"depth probe: {scheme.name} draws weights with mean {mean_w:g}; mean-field theory "
            "needs zero-mean weights"
        )
    sigma_w2 = width * var_w
    if bias_std is None:
        sigma_b2 = bias_variance(scheme, width, activation=info.name, **i_params)
    else:
        sigma_b2 = bias_std**2
    g = torch.Generator().manual_seed(seed)
    model = build_mlp(info.name, depth, width, a_params)
    init_(model, scheme, info.name, bias_std=bias_std, generator=g, **i_params)
    x = torch.randn(batch, width, generator=g)
    output_grad = torch.randn(batch, width, generator=g)
    measured = measure(model, x, output_grad)
    predicted = predict(
        info,
        sigma_w2=sigma_w2,
        sigma_b2=sigma_b2,
        depth=depth,
        width=width,
        batch=batch,
        params=a_params,
    )
    try:
        critical = critical_weight_variance(info, sigma_b2=sigma_b2, params=a_params)
    except ActlabError:
        critical = None
    q_star = fixed_point(info, sigma_w2=sigma_w2, sigma_b2=sigma_b2, params=a_params)
    chi_star = chi(q_star, info, sigma_w2=sigma_w2, params=a_params)
    return ProbeResult(
        activation=info.name,
        init=scheme.name,
        depth=depth,
        width=width,
        batch=batch,
        sigma_w2=sigma_w2,
        sigma_b2=sigma_b2,
        measured=measured,
        predicted=predicted,
        fixed_point=q_star,
        chi_star=chi_star,
        critical_sigma_w2=critical,
    )
