"""Small convolutional networks: a 1-D CNN for MNIST-1D and a 2-D CNN for small images.

cnn1d follows the MNIST-1D paper's CNN (Greydanus & Kobak 2024): ``depth`` (3) blocks of
``Conv1d(kernel 5, stride 2, padding 2)`` with ``width`` (25) channels, each halving the length
(40 -> 20 -> 10 -> 5), then a linear head on the flattened ``width x 5`` features.

cnn2d: ``depth`` (2) blocks of ``Conv2d(kernel 3, padding 1)`` with ``width`` (16) channels, each
followed by ``MaxPool2d(2)``, then a linear head.

Both run Conv -> Norm -> Activation -> Dropout (a maxout activation takes the max over ``pieces``
groups of channels before the norm); vector activations (softmax, maxout) act over channels.
Inputs are ``(B, L)`` / ``(B, C, L)`` and ``(B, H, W)`` / ``(B, C, H, W)``.
"""

from __future__ import annotations

from torch import nn

from actlab.models._core import ModelSpec, hyperparams, register
from actlab.models.layers import block

__all__ = ["cnn1d", "cnn2d"]

KERNEL_1D, STRIDE_1D = 5, 2
KERNEL_2D, POOL_2D = 3, 2


def _channels_first(shape: tuple[int, ...], spatial: int) -> list[nn.Module]:
    """An ``Unflatten`` adding the channel axis to inputs given without one."""
    return [nn.Unflatten(1, (1, shape[0]))] if len(shape) == spatial else []


def cnn1d(spec: ModelSpec) -> nn.Sequential:
    """``[Unflatten], Block_1 .. Block_depth, Flatten, Linear(width * L_out, n_outputs)``."""
    layers = _channels_first(spec.input_shape, 1)
    channels, length = (1, *spec.input_shape)[-2:]
    out = spec.width * (spec.pieces if spec.maxout else 1)
    for _ in range(spec.depth):
        conv = nn.Conv1d(channels, out, KERNEL_1D, stride=STRIDE_1D, padding=KERNEL_1D // 2)
        layers.append(block(spec, conv, spec.width, spatial=1))
        channels, length = spec.width, (length - 1) // STRIDE_1D + 1
    layers += [nn.Flatten(), nn.Linear(channels * length, spec.n_outputs)]
    return nn.Sequential(*layers)


def cnn2d(spec: ModelSpec) -> nn.Sequential:
    """``[Unflatten], Block_1 .. Block_depth (each ending in MaxPool2d(2)), Flatten, Linear``."""
    layers = _channels_first(spec.input_shape, 2)
    channels, height, width = (1, *spec.input_shape)[-3:]
    out = spec.width * (spec.pieces if spec.maxout else 1)
    for _ in range(spec.depth):
        conv = nn.Conv2d(channels, out, KERNEL_2D, padding=KERNEL_2D // 2)
        b = block(spec, conv, spec.width, spatial=2)
        b.add_module("pool", nn.MaxPool2d(POOL_2D))
        layers.append(b)
        channels, height, width = spec.width, height // POOL_2D, width // POOL_2D
    layers += [nn.Flatten(), nn.Linear(channels * height * width, spec.n_outputs)]
    return nn.Sequential(*layers)


def _input(spatial: int):
    names = "(L,) or (C, L)" if spatial == 1 else "(H, W) or (C, H, W)"

    def check(shape: tuple[int, ...]) -> str | None:
        if len(shape) not in (spatial, spatial + 1):
            return f"input_shape={shape} is not {names}"
        return None

    return check


def _check_2d(spec: ModelSpec) -> str | None:
    small = min(spec.input_shape[-2:])
    if small >> spec.depth < 1:
        return (
            f"depth={spec.depth} pools {small} pixels below 1 (each block halves H and W; "
            f"use depth <= {small.bit_length() - 1})"
        )
    return None


register(
    name="cnn1d",
    summary="1-D CNN for MNIST-1D: depth strided Conv1d blocks (kernel 5, stride 2) of width "
    "channels, linear head.",
    params=hyperparams(depth=3, width=25, residual=False),
    builder=cnn1d,
    check_input=_input(1),
    reference="Greydanus & Kobak 2024, Scaling down deep learning with MNIST-1D",
)

register(
    name="cnn2d",
    summary="Small 2-D CNN: depth Conv2d(3x3) blocks of width channels, each max-pooled by 2, "
    "linear head.",
    params=hyperparams(depth=2, width=16, residual=False),
    builder=cnn2d,
    check_input=_input(2),
    check_spec=_check_2d,
    reference="LeCun et al. 1998 (the pattern)",
)
