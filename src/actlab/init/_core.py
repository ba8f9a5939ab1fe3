"""The initializer record, the registry every initializer is declared in, and fan computation."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from actlab._registry import Info, Registry
from actlab.errors import ActlabError

__all__ = ["INITIALIZERS", "InitInfo", "fan", "fans", "register"]


@dataclass(frozen=True)
class InitInfo(Info):
    """One weight initializer, declared once.

    Attributes:
        fn: ``fn(tensor, *, generator=None, **params)`` fills ``tensor`` in place and returns it.
        moments: ``moments(shape, **params) -> (mean, variance)`` of every entry, from the formula;
            tests compare them with samples, and theory reads the weight variance from them.
        bias: ``bias(bias, *, fan_in, generator, **params)`` fills a layer's bias (default:
            zeros).
        bias_moments: ``bias_moments(fan_in, **params) -> (mean, variance)`` of the biases
            ``bias`` draws (theory's sigma_b^2 is the variance); ``None``: zeros.
        formula: LaTeX of the distribution, with its variance.
        torch_fn: the same initializer in ``torch.nn.init``, ``torch_fn(tensor, generator, **p)``.
        uses_activation: the scale is computed from an activation (``auto``).
    """

    fn: Callable[..., Tensor] | None = None
    moments: Callable[..., tuple[float, float]] | None = None
    bias: Callable[..., Tensor] | None = None
    bias_moments: Callable[..., tuple[float, float]] | None = None
    formula: str = ""
    torch_fn: Callable[..., Tensor] | None = None
    uses_activation: bool = False


INITIALIZERS: Registry[InitInfo] = Registry("initializer")


def register(**fields: Any) -> InitInfo:
    """Declare an initializer: ``register(name=..., fn=..., moments=..., ...)``."""
    return INITIALIZERS.register(InitInfo(**fields))


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, by torch's convention: a Linear weight is
    ``(out, in)``; a Conv weight ``(out, in / groups, *kernel)`` has fan_in = in/groups * kernel
    size and fan_out = out * kernel size (ConvTranspose weights are read the same way, as torch
    does)."""
    if len(shape) < 2:
        raise ActlabError(
            f"fan_in and fan_out need a weight with at least 2 dimensions, got shape {tuple(shape)}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def fan(shape: Sequence[int], mode: str) -> float:
    """The fan a variance-scaling initializer divides by: fan_in, fan_out or their average."""
    fan_in, fan_out = fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
