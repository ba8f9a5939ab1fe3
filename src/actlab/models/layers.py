"""The pieces every architecture is assembled from: a hidden block (Linear/Conv -> Norm ->
Activation -> Dropout, with an optional skip), and the norm and activation a spec names."""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from actlab.activations import ACTIVATIONS
from actlab.models._core import ModelSpec
from actlab.nn import Activation

__all__ = ["Block", "activation", "block", "norm"]


class Block(nn.Sequential):
    """One hidden layer: its children run in order (``linear``/``conv`` -> ``norm`` -> ``act``
    -> ``drop``, absent ones left out); with ``residual=True`` it returns ``x + layers(x)``."""

    def __init__(self, layers: OrderedDict[str, nn.Module], *, residual: bool = False) -> None:
        super().__init__(layers)
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        y = super().forward(x)
        return x + y if self.residual else y

    def extra_repr(self) -> str:
        return "residual=True" if self.residual else ""


def norm(spec: ModelSpec, features: int, spatial: int = 0) -> nn.Module | None:
    """The normalization layer for ``features`` units or channels (``spatial`` = 0, 1 or 2 spatial
    dims), or ``None``. ``layernorm`` on feature maps is ``GroupNorm(1, C)``: each example
    normalized over all its channels and positions, LayerNorm's rule for a ``(C, *spatial)`` map."""
    if spec.normalization == "batchnorm":
        return nn.BatchNorm2d(features) if spatial == 2 else nn.BatchNorm1d(features)
    if spec.normalization == "layernorm":
        return nn.LayerNorm(features) if spatial == 0 else nn.GroupNorm(1, features)
    return None


def activation(spec: ModelSpec, dim: int = -1) -> Activation:
    """``Activation(spec.activation, **spec.activation_params)``; vector activations (softmax,
    maxout) act along ``dim``, the feature axis (-1 for vectors, 1 for channels)."""
    params = spec.activation_kwargs
    if "dim" in ACTIVATIONS.get(spec.activation).defaults:
        params["dim"] = dim
    if spec.maxout:
        params["pieces"] = spec.pieces
    return Activation(spec.activation, **params)


def block(
    spec: ModelSpec, layer: nn.Module, features: int, *, spatial: int = 0, residual: bool = False
) -> Block:
    """``layer`` -> norm -> activation -> dropout. A maxout ``layer`` (``actlab.nn.Maxout``, or a
    conv with ``pieces * features`` channels) takes the max before the norm: the max is part of
    the maxout unit, so the norm sees the ``features`` unit outputs."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(layer=layer)
    if spec.maxout and spatial:
        layers["act"] = activation(spec, dim=1)
    if (n := norm(spec, features, spatial)) is not None:
        layers["norm"] = n
    if not spec.maxout:
        layers["act"] = activation(spec, dim=1 if spatial else -1)
    if spec.dropout:
        layers["drop"] = nn.Dropout(spec.dropout)
    return Block(layers, residual=residual)
