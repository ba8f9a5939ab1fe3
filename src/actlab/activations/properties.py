"""Properties of an activation, computed from its formula rather than typed in."""

from __future__ import annotations

import math
from typing import Any

from actlab._numerics import normal_expectation
from actlab.activations._core import ACTIVATIONS, ActivationInfo

__all__ = ["gain", "resolve"]


def resolve(activation: str | ActivationInfo) -> ActivationInfo:
    return activation if isinstance(activation, ActivationInfo) else ACTIVATIONS.get(activation)


def gain(activation: str | ActivationInfo, **params: Any) -> float:
    """The variance-preserving gain ``1 / sqrt(E[f(z)^2])``, z ~ N(0, 1), by Gauss-Hermite.

    Scaling weights by it keeps the second moment of pre-activations at 1 from layer to layer
    (He et al. 2015's argument, for any f): ``sqrt(2)`` for ReLU, ``1`` for identity. It differs
    from ``torch.nn.init.calculate_gain``, which uses hand-picked values (5/3 for tanh) and knows
    no GELU, SiLU or Mish.
    """
    info = resolve(activation)
    p = info.bind(params)
    second_moment = normal_expectation(lambda z: info.scalar(z, **p) ** 2)
    if second_moment <= 0:
        raise ValueError(f"{info.name} is zero on N(0, 1): no variance-preserving gain exists")
    return 1 / math.sqrt(second_moment)
