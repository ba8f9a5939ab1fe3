"""Applying an initializer: to one tensor, or to every Linear and Conv layer of a model."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError, ParameterError
from actlab.init._core import INITIALIZERS, InitInfo, fans

__all__ = ["LAYERS", "bias_variance", "init_", "initialize_", "weight_variance"]

LAYERS = (
    nn.Linear,
    nn.Bilinear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def _bind(scheme: str | InitInfo, activation: Any, params: dict[str, Any]):
    info = scheme if isinstance(scheme, InitInfo) else INITIALIZERS.get(scheme)
    if info.uses_activation and activation is not None:
        params = {"activation": activation, **params}
    return info, info.bind(params)


def initialize_(
    tensor: Tensor,
    scheme: str | InitInfo,
    *,
    activation: str | None = None,
    generator: torch.Generator | None = None,
    **params: Any,
) -> Tensor:
    """Fill one weight tensor in place with the catalog initializer ``scheme`` and return it.

    >>> w = initialize_(torch.empty(64, 128), "he_normal")
    >>> round(w.std().item() * math.sqrt(128 / 2), 1)
    1.0
    """
    info, p = _bind(scheme, activation, params)
    return info.fn(tensor, generator=generator, **p)


def init_(
    module: nn.Module,
    scheme: str | InitInfo = "auto",
    activation: str | None = None,
    *,
    bias_std: float | None = None,
    generator: torch.Generator | None = None,
    **params: Any,
) -> nn.Module:
    """Initialize every Linear and Conv layer of ``module`` in place; return ``module``.

    Args:
        module: any model; its ``nn.Linear``, ``nn.Bilinear`` and ``nn.Conv*`` layers are set.
        scheme: a catalog initializer name (``"he_normal"``, ``"kaiming_normal"``, ``"auto"``, ...).
        activation: the activation the layers feed. Schemes that derive their scale from it
            (``auto``) use it; fixed schemes ignore it, as their formulas do.
        bias_std: ``None``: the scheme's bias rule (zeros; ``torch_default``: U(+-1/sqrt(fan_in));
            ``auto``: N(0, sigma_b^2) where its choice needs a bias variance);
            ``0``: zeros; ``> 0``: N(0, bias_std^2), the sigma_b of signal-propagation theory.
        generator: a ``torch.Generator`` for reproducible draws.
        params: the scheme's parameters (``mode="fan_out"``, ``gain=2.0``, ...).

    >>> model = nn.Sequential(nn.Linear(10, 20), nn.GELU(), nn.Linear(20, 1))
    >>> _ = init_(model, "auto", activation="gelu")
    """
    if not isinstance(module, nn.Module):
        hint = (
            "; for one tensor use actlab.init.initialize_(tensor, scheme, activation=...)"
            if isinstance(module, Tensor)
            else ""
        )
        raise ActlabError(f"init_ initializes an nn.Module, got {type(module).__name__}{hint}")
    info, p = _bind(scheme, activation, params)
    if bias_std is not None and not (bias_std >= 0 and math.isfinite(bias_std)):
        raise ParameterError(f"bias_std={bias_std} must be a finite number >= 0")
    layers = [m for m in module.modules() if isinstance(m, LAYERS)]
    if not layers:
        raise ActlabError(
            f"init_: {type(module).__name__} has no Linear or Conv layer to initialize"
        )
    with torch.no_grad():
        for layer in layers:
            info.fn(layer.weight, generator=generator, **p)
            if layer.bias is None:
                continue
            if bias_std:
                layer.bias.normal_(0.0, bias_std, generator=generator)
            elif bias_std is not None:
                layer.bias.zero_()
            elif info.bias is not None:
                info.bias(layer.bias, fan_in=fans(layer.weight.shape)[0], generator=generator, **p)
            else:
                layer.bias.zero_()
    return module


def weight_variance(
    scheme: str | InitInfo,
    fan_in: int,
    fan_out: int | None = None,
    *,
    activation: str | None = None,
    **params: Any,
) -> tuple[float, float]:
    """``(mean, variance)`` of the weights ``scheme`` draws for a ``fan_out x fan_in`` layer,
    from the scheme's formula (signal-propagation theory reads sigma_w^2 = fan_in * variance)."""
    info, p = _bind(scheme, activation, params)
    return info.moments((fan_out or fan_in, fan_in), **p)


def bias_variance(
    scheme: str | InitInfo, fan_in: int, *, activation: str | None = None, **params: Any
) -> float:
    """The variance of the biases ``scheme`` draws for a layer with ``fan_in`` inputs (0 for
    schemes that zero them): signal-propagation theory's sigma_b^2."""
    info, p = _bind(scheme, activation, params)
    return info.bias_moments(fan_in, **p)[1] if info.bias_moments is not None else 0.0
