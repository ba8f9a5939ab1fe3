"""Functional API: ``actlab.activations.functional.<name>(x, **params)`` for every catalog entry.

Each function is :func:`activate` for its entry (torch's fused kernels by default, the entry's
formula and analytic derivative with ``impl="reference"``); the names are the registry's
canonical names and aliases, generated from the registry, never typed again.

>>> import torch
>>> from actlab.activations import functional as AF
>>> AF.leaky_relu6(torch.tensor([-1.0, 3.0, 9.0]))
tensor([-0.0100,  3.0000,  6.0000])
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from actlab.activations import ACTIVATIONS, activate

__all__ = ["activate"]


def __getattr__(name: str) -> Callable[..., Tensor]:
    if name.startswith("__") or name not in ACTIVATIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    info = ACTIVATIONS.get(name)

    def function(x: Tensor, /, **params: object) -> Tensor:
        return activate(x, info, **params)

    function.__name__ = name
    function.__doc__ = f"{info.fn.__doc__ or info.summary}\n\nFormula: {info.formula}"
    return function


def __dir__() -> list[str]:
    return sorted([*__all__, *ACTIVATIONS.names(aliases=True)])
