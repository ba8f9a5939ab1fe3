"""The one generic autograd function behind every catalog activation, and :func:`activate`,
which runs an entry through its fast path (:mod:`actlab.activations.fast`) or this reference.

Forward evaluates the entry's formula without recording a graph; backward applies its analytic
derivative. For backward it saves exactly one activation-sized tensor -- the input, or the output
when the entry declares ``df_out`` -- plus any parameter tensors (a PReLU slope), never
intermediate results. The backward itself is written in torch ops on the saved tensor, so double
backward works as well.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor

from actlab.activations._core import ACTIVATIONS, ActivationInfo
from actlab.activations.fast import FAST
from actlab.errors import ActlabError, ParameterError

__all__ = ["IMPLS", "activate", "default_impl"]

IMPLS = ("fast", "reference")
ENV = "ACTLAB_ACTIVATIONS"


class _Analytic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, info, static, tnames, *tvals):  # type: ignore[override]
        params = {**static, **dict(zip(tnames, tvals))}
        y = info.fn(x, **params)
        ctx.info, ctx.static, ctx.tnames = info, static, tnames
        ctx.save_for_backward(y if info.saves == "output" else x, *tvals)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        info: ActivationInfo = ctx.info
        saved, *tvals = ctx.saved_tensors
        params = {**ctx.static, **dict(zip(ctx.tnames, tvals))}
        grad_x = None
        if ctx.needs_input_grad[0]:
            if info.kind == "vector":
                grad_x = info.vjp(saved, grad, **params)
            elif info.saves == "output":
                grad_x = grad * info.df_out(saved, **params)
            else:
                grad_x = grad * info.df(saved, **params)
        partials = dict(info.param_grads)
        grads = []
        for i, (name, value) in enumerate(zip(ctx.tnames, tvals)):
            if ctx.needs_input_grad[4 + i]:
                g = grad * partials[name](saved, **params)
                grads.append(_reduce_to(g, value))
            else:
                grads.append(None)
        return (grad_x, None, None, None, *grads)


def _reduce_to(g: Tensor, value: Tensor) -> Tensor:
    """Sum an input-shaped gradient down to a parameter's shape (scalar, per-channel or full)."""
    if value.shape == g.shape:
        return g
    if value.numel() == 1:
        return g.sum().reshape(value.shape)
    if value.dim() == 1 and g.dim() > 1 and value.numel() == g.shape[1]:
        return g.sum(dim=[0, *range(2, g.dim())])  # per-channel, like PReLU (channels on dim 1)
    return g.sum_to_size(value.shape)


def default_impl() -> str:
    """``"fast"``, unless the environment variable ``ACTLAB_ACTIVATIONS=reference`` says
    otherwise (read on every call, so a test or a script may switch it)."""
    return _check_impl(os.environ.get(ENV, "fast"))


def _check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ParameterError(f"activation impl {impl!r} is not one of {', '.join(IMPLS)}")
    return impl


def _check_dim(name: str, x: Tensor, dim: int | None) -> None:
    n = max(x.dim(), 1)
    if dim is not None and not -n <= dim < n:
        raise ParameterError(
            f"{name}: dim={dim} is out of range for a {x.dim()}-d input (expected {-n}..{n - 1})"
        )


def activate(
    x: Tensor, name: str | ActivationInfo, /, *, impl: str | None = None, **params: Any
) -> Tensor:
    """Apply catalog activation ``name`` to ``x``.

    ``impl="fast"`` (the default; see :func:`default_impl`) runs torch's fused kernels for the
    same function where there are some (:mod:`actlab.activations.fast`), ``impl="reference"``
    the entry's own formula and analytic derivative through one generic autograd function; the
    fast path falls back to the reference wherever it does not apply. Both agree within
    rounding (tests/test_f_fast_activations.py) and save at most one activation-sized tensor.

    Parameters are validated against the entry's declared ranges. A parameter may be a tensor
    (e.g. a learnable slope); gradients flow to it through the entry's declared partials.

    Example::

        >>> import torch
        >>> activate(torch.tensor([-2.0, 0.5]), "leaky_relu", negative_slope=0.1)
        tensor([-0.2000,  0.5000])
    """
    info = name if isinstance(name, ActivationInfo) else ACTIVATIONS.get(name)
    if not isinstance(x, Tensor):
        raise ActlabError(
            f"{info.name}: the input is a {type(x).__name__}, not a torch.Tensor; convert it "
            "first, e.g. torch.as_tensor(x, dtype=torch.float32)"
        )
    tensors = {k: v for k, v in params.items() if isinstance(v, Tensor)}
    static = info.bind({k: v for k, v in params.items() if k not in tensors})
    _check_dim(info.name, x, static.get("dim"))
    for k in tensors:
        info.param(k)  # unknown names still raise
        static.pop(k, None)
    fast = FAST.get(info.name)
    if fast is not None and (_check_impl(impl) if impl else default_impl()) == "fast":
        y = fast(x, **static, **tensors)
        if y is not None:
            return y
    if info.sample is not None:
        target, sampled = info.sample(x, {**static, **tensors})
        return activate(x, target, impl="reference", **sampled)
    tnames = tuple(tensors)
    return _Analytic.apply(x, info, static, tnames, *tensors.values())
