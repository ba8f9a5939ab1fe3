"""The fast path: each catalog function through torch's own fused kernels, where torch has them.

The catalog's formulas (``info.fn`` / ``info.df``) stay the reference; a function here computes
the same values with torch's fused forward and backward kernels instead of composing the formula
op by op, and the tests check it against the reference on random points, kinks and extremes in
every floating dtype. A function returns ``None`` where it does not apply (a learnable
parameter of an unusual shape, a parameter value torch's kernel cannot take); the caller then
runs the reference path. Each saves at most one activation-sized tensor for backward.

Where torch's kernel differs from the reference:

- ``silu``, ``gelu``, ``mish``, ``hardswish`` and ``softsign`` give NaN at +-inf in torch
  (``-inf * 0``); their fast path (and ``leaky_relu6``'s) first checks, with one read-only
  sum, that the input is finite, and otherwise runs the reference (which returns the limits).
  The check is a host read, so on a GPU these entries take the reference path rather than wait
  on the device.
- At a NaN input the value is NaN on both paths, but the gradient there is whatever torch's
  kernel gives (ReLU, hardtanh and ELU pass it through, the reference gives 0 or NaN).
- ``rrelu`` in training draws its slopes with torch's generator (only where ``x <= 0``), so its
  random stream differs from the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.activations._core import ACTIVATIONS

__all__ = ["FAST", "finite"]

A = torch.ops.aten
FAST: dict[str, Callable[..., Tensor | None]] = {}


def _fast(name: str):
    def register(fn: Callable[..., Tensor | None]) -> Callable[..., Tensor | None]:
        FAST[name] = fn
        return fn

    return register


def finite(x: Tensor) -> bool:
    """Whether every element of ``x`` is finite, from one sum (inf or NaN anywhere makes it
    non-finite; a finite overflow to inf only sends the call to the reference path). Half
    precision sums into float32, whose range bfloat16 already has."""
    wide = torch.float32 if x.dtype == torch.float16 else None
    return math.isfinite(x.detach().sum(dtype=wide).item())


def _guarded(kernel: Callable[..., Tensor]) -> Callable[..., Tensor | None]:
    """``kernel`` on finite CPU inputs; ``None`` (the reference path) otherwise."""

    def run(x: Tensor, **p: Any) -> Tensor | None:
        return kernel(x, **p) if x.device.type == "cpu" and finite(x) else None

    return run


def _no_pos_inf(kernel: Callable[..., Tensor]) -> Callable[..., Tensor | None]:
    """``kernel`` unless some entry is +inf: torch's softmax then gives NaN for the row, the
    reference gives the limit (all the mass on the +inf entries). -inf (a mask) stays fast."""

    def run(x: Tensor, **p: Any) -> Tensor | None:
        if x.numel() and float(x.detach().max()) == math.inf:
            return None
        return kernel(x, **p)

    return run


def _number(*values: Any) -> bool:
    return not any(isinstance(v, Tensor) for v in values)


# Same function, same conventions, in torch.nn.functional (parity: tests/test_activations.py).
FAST.update(
    identity=lambda x: x.clone(),
    sigmoid=torch.sigmoid,
    tanh=torch.tanh,
    hardtanh=lambda x, min_val, max_val: F.hardtanh(x, min_val, max_val),
    tanhshrink=F.tanhshrink,
    relu=F.relu,
    relu6=F.relu6,
    elu=lambda x, alpha: F.elu(x, alpha),
    celu=lambda x, alpha: F.celu(x, alpha),
    selu=F.selu,
    softplus=lambda x, beta, threshold: F.softplus(x, beta, threshold),
    gelu=_guarded(lambda x, approximate: F.gelu(x, approximate=approximate)),
    hardswish=_guarded(F.hardswish),
    mish=_guarded(F.mish),
    softmax=_no_pos_inf(
        lambda x, temperature, dim: F.softmax(x if temperature == 1 else x / temperature, dim)
    ),
    log_softmax=_no_pos_inf(
        lambda x, temperature, dim: F.log_softmax(x if temperature == 1 else x / temperature, dim)
    ),
)


@_fast("binary_step")
def _binary_step(x: Tensor) -> Tensor:
    # floor(x) clamped to [-1, 0] is -1 below zero and 0 from zero up (NaN stays NaN); floor's
    # derivative is zero, as the step's is.
    return torch.floor(x).clamp(-1, 0) + 1


@_fast("leaky_relu")
def _leaky_relu(x: Tensor, negative_slope: float | Tensor) -> Tensor | None:
    return F.leaky_relu(x, negative_slope) if _number(negative_slope) else None


@_fast("prelu")
def _prelu(x: Tensor, weight: float | Tensor) -> Tensor | None:
    if _number(weight):
        return F.leaky_relu(x, weight)  # a fixed slope: PReLU is leaky ReLU
    if weight.numel() == 1 or (weight.dim() == 1 and x.dim() > 1 and len(weight) == x.shape[1]):
        return F.prelu(x, weight.reshape(-1))
    return None  # e.g. one slope per stacked member, [K, 1, 1]: the reference broadcasts it


@_fast("silu")
def _silu(x: Tensor, beta: float | Tensor) -> Tensor | None:
    if not _number(beta) or beta == 0 or x.device.type != "cpu" or not finite(x):
        return None
    # x sigmoid(b x) = silu(b x) / b: torch's fused kernel, and only b x saved for backward.
    return F.silu(x) if beta == 1 else F.silu(x * beta) / beta


class _SavesOne(torch.autograd.Function):
    """A forward and a backward made of torch kernels, saving the one tensor the backward
    reads (the input or the output). ``ops`` is ``(forward(x, p), backward(grad, saved, p))``."""

    @staticmethod
    def forward(ctx, x, ops, saves_output, p):  # type: ignore[override]
        forward, ctx.backward_op, ctx.p = ops[0], ops[1], p
        y = forward(x, p)
        ctx.save_for_backward(y if saves_output else x)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (saved,) = ctx.saved_tensors
        return ctx.backward_op(grad, saved, ctx.p), None, None, None


def _catalog_df(name: str) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """``grad * f'(x)`` from the catalog's own analytic derivative."""
    return lambda grad, x, p: grad * ACTIVATIONS.get(name).df(x)


def _hardsigmoid_grad(grad: Tensor, x: Tensor, p: Any) -> Tensor:
    if torch.is_grad_enabled():  # a double backward: torch's fused kernel has no derivative
        return _catalog_df("hardsigmoid")(grad, x, p)
    return A.hardsigmoid_backward(grad, x)


_HARDSIGMOID = (lambda x, p: F.hardsigmoid(x), _hardsigmoid_grad)
# torch's softsign is x / (1 + |x|) composed, keeping three tensors for backward: its forward,
# then the catalog's 1 / (1 + |x|)^2, keep one.
_SOFTSIGN = (lambda x, p: F.softsign(x), _catalog_df("softsign"))
# min(leaky_relu(x), cap): the derivative from the output y, torch's hardtanh_backward zeroing
# y >= cap (ReLU6's convention at the cap) and leaky_relu_backward the rest. hardtanh_backward
# would zero y = -inf too (its lower bound), hence finite inputs only.
_LEAKY_RELU6 = (
    lambda x, p: F.leaky_relu(x, p[0]).clamp_max_(p[1]),
    lambda grad, y, p: A.leaky_relu_backward(
        A.hardtanh_backward(grad, y, -math.inf, p[1]), y, p[0], True
    ),
)


FAST["hardsigmoid"] = lambda x: _SavesOne.apply(x, _HARDSIGMOID, False, ())
FAST["softsign"] = _guarded(lambda x: _SavesOne.apply(x, _SOFTSIGN, False, ()))


@_fast("logsigmoid")
def _logsigmoid(x: Tensor) -> Tensor:
    # log sigmoid(x) = softplus(x) with beta = -1: torch's softplus kernel and backward, saving
    # only x (torch's logsigmoid keeps an input-sized buffer too). Below x = -40 it returns x,
    # where the exact value is x - 4e-18 |x|: equal in float64.
    return F.softplus(x, -1, 40)


@_fast("leaky_relu6")
def _leaky_relu6(x: Tensor, negative_slope: float, cap: float, cap_slope: float) -> Tensor | None:
    if cap_slope != 0 or x.device.type != "cpu" or not finite(x):
        return None
    return _SavesOne.apply(x, _LEAKY_RELU6, True, (negative_slope, cap))


class _RReLUTrain(torch.autograd.Function):
    """torch's rrelu kernel in training; saves only its slopes (1 where x > 0), not x too."""

    @staticmethod
    def forward(ctx, x, lower, upper):  # type: ignore[override]
        noise = torch.empty_like(x)
        y = A.rrelu_with_noise(x, noise, lower, upper, True)
        ctx.save_for_backward(noise)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (noise,) = ctx.saved_tensors
        return grad * noise, None, None


@_fast("rrelu")
def _rrelu(x: Tensor, lower: float, upper: float, training: bool) -> Tensor:
    if training:
        return _RReLUTrain.apply(x, lower, upper)
    return F.leaky_relu(x, (lower + upper) / 2)


class _Maxout(torch.autograd.Function):
    """torch's max over each group; saves only which piece won, as bytes (torch.max would keep
    int64 indices: twice a bfloat16 input for pairs)."""

    @staticmethod
    def forward(ctx, x, pieces, dim):  # type: ignore[override]
        d = dim % x.dim()
        y, index = x.unflatten(d, (x.shape[d] // pieces, pieces)).max(d + 1)
        ctx.d, ctx.shape = d + 1, x.shape
        ctx.save_for_backward(index.to(torch.uint8))
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (index,) = ctx.saved_tensors
        d = ctx.d
        shape = (*grad.shape[:d], -1, *grad.shape[d:])
        g = grad.new_zeros(ctx.shape).view(shape)
        g.scatter_(d, index.long().unsqueeze(d), grad.unsqueeze(d))
        return g.view(ctx.shape), None, None


@_fast("maxout")
def _maxout(x: Tensor, pieces: int, dim: int) -> Tensor | None:
    # ties go to the first maximum, as in the reference (torch.max's documented choice)
    if pieces > 256 or x.dim() == 0 or x.shape[dim] % pieces:
        return None  # the reference raises the error about divisibility
    return _Maxout.apply(x, pieces, dim)
