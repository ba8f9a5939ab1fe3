"""``nn.Module`` shells around the activation catalog.

>>> import torch
>>> from actlab.nn import Activation
>>> Activation("leaky_relu6", cap=4.0)(torch.tensor([-2.0, 1.0, 9.0]))
tensor([-0.0200,  1.0000,  4.0000])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from actlab.activations import ACTIVATIONS, activate
from actlab.activations._autograd import _check_impl

__all__ = ["Activation", "Maxout", "PReLU", "Swish"]


class Activation(nn.Module):
    """Any catalog activation as a module: ``Activation(name, **params)``.

    Parameters the entry declares learnable (PReLU's slope, Swish's beta) become
    ``nn.Parameter`` s when ``learnable=True`` (PReLU: always, by default). A learnable parameter
    is a scalar, or one value per channel (dim 1) when ``num_parameters > 1`` is given.
    Entries with a ``training`` parameter (RReLU) follow ``module.train()`` / ``.eval()``.
    ``impl`` picks torch's fused kernels (``"fast"``) or the catalog's formula (``"reference"``);
    by default the fast path (see :func:`actlab.activations.activate`).
    """

    impl: str | None = None  # subclasses that skip __init__ (stacked groups) get the default

    def __init__(
        self,
        name: str,
        *,
        learnable: bool | None = None,
        num_parameters: int = 1,
        impl: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.info = ACTIVATIONS.get(name)
        self.impl = impl and _check_impl(impl)
        learn = self.info.learn_by_default if learnable is None else learnable
        if learn and not self.info.learnable:
            raise ValueError(f"{self.info.name} has no learnable parameter")
        if num_parameters < 1:
            raise ValueError(f"num_parameters={num_parameters} must be >= 1")
        self.params = self.info.bind(params)
        self.learned = self.info.learnable if learn else ()
        for key in self.learned:
            value = torch.full((num_parameters,), float(self.params.pop(key)))
            self.register_parameter(key, nn.Parameter(value if num_parameters > 1 else value[0]))

    def forward(self, x: Tensor) -> Tensor:
        params = dict(self.params)
        if "training" in params:
            params["training"] = self.training
        for key in self.learned:
            params[key] = getattr(self, key)
        return activate(x, self.info, impl=self.impl, **params)

    def extra_repr(self) -> str:
        fixed = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.info.name!r}" + (f", {fixed}" if fixed else "")


class PReLU(Activation):
    """Leaky ReLU with a learned slope, shared (``num_parameters=1``) or one per channel."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__("prelu", learnable=True, num_parameters=num_parameters, weight=init)


class Swish(Activation):
    """x * sigmoid(beta * x), with beta fixed or learned."""

    def __init__(self, beta: float = 1.0, learnable: bool = False) -> None:
        super().__init__("silu", learnable=learnable, beta=beta)


class Maxout(nn.Module):
    """A maxout layer: ``Linear(in_features, out_features * pieces)`` then the max of each group
    of ``pieces`` outputs (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True):
        super().__init__()
        self.pieces = ACTIVATIONS.get("maxout").param("pieces").validate(pieces, "maxout")
        self.linear = nn.Linear(in_features, out_features * self.pieces, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return activate(self.linear(x), "maxout", pieces=self.pieces, dim=-1)
