"""The activation record and the registry every activation is declared in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from actlab._registry import Info, Registry

__all__ = ["ACTIVATIONS", "ActivationInfo", "register", "safe_mul"]

Fn = Callable[..., Tensor]


@dataclass(frozen=True)
class ActivationInfo(Info):
    """One activation function, declared once.

    Attributes:
        fn: the forward formula ``f(x, **params)``, written with differentiable torch ops.
        df: the analytic first derivative ``f'(x, **params)`` (elementwise kinds).
        d2f: the analytic second derivative (``None`` where it is not defined).
        df_out: ``f'`` written in terms of the output ``y = f(x)``, for ``saves="output"``.
        saves: what the generic autograd function keeps for backward, the input or the output.
        sample: for stochastic entries (RReLU in training): draws the random part and returns the
            name and parameters of the deterministic function to apply instead.
        vjp: for ``kind="vector"``: ``vjp(saved, grad_out, **params) -> grad_in``.
        param_grads: partial derivatives ``df/dparam(x, **params)`` of parameters that may be
            tensors (learnable slopes, learnable beta), elementwise.
        formula / derivative: LaTeX for ``f`` and ``f'``.
        kind: ``"elementwise"`` or ``"vector"`` (acts along ``dim``: softmax, maxout).
        torch_fn: the same function in ``torch.nn.functional``, if torch has it (for tests/docs).
        kinks: every point where ``f``, ``f'`` or ``f''`` jumps (softsign's f'' at 0 too), as a
            function of the parameters: Gaussian quadratures split there, smoothness is judged
            from the one-sided limits there, and plots break a curve there if it jumps.
        scalar_view: for vector kinds, a 1-D slice used to compute properties and plots.
        learnable: parameters that :class:`actlab.nn.Activation` makes ``nn.Parameter`` s when
            ``learnable=True`` (``learn_by_default``: PReLU's slope is always learned).
    """

    fn: Fn | None = None
    df: Fn | None = None
    d2f: Fn | None = None
    df_out: Fn | None = None
    vjp: Callable[..., Tensor] | None = None
    param_grads: tuple[tuple[str, Fn], ...] = ()
    formula: str = ""
    derivative: str = ""
    kind: Literal["elementwise", "vector"] = "elementwise"
    saves: Literal["input", "output"] = "input"
    sample: Callable[[Tensor, dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    torch_fn: Fn | None = None
    kinks: Callable[[dict[str, Any]], tuple[float, ...]] = lambda p: ()
    scalar_view: Fn | None = None
    learnable: tuple[str, ...] = ()
    learn_by_default: bool = False

    def scalar(self, x: Tensor, **params: Any) -> Tensor:
        """f as a function of one real variable (the scalar view for vector kinds)."""
        p = self.bind(params)
        if self.kind == "elementwise":
            return self.fn(x, **p)
        return self.scalar_view(x, **p)

    def derivative_of_scalar(self, x: Tensor, **params: Any) -> Tensor:
        """f'(x) of :meth:`scalar`, computed analytically (autograd of the view for vectors)."""
        p = self.bind(params)
        if self.kind == "elementwise":
            return self.df(x, **p)
        with torch.enable_grad():
            xs = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.scalar_view(xs, **p).sum(), xs)
        return g


ACTIVATIONS: Registry[ActivationInfo] = Registry("activation")


def register(**fields: Any) -> ActivationInfo:
    """Declare an activation: ``register(name=..., fn=..., df=..., ...)``."""
    return ACTIVATIONS.register(ActivationInfo(**fields))


def safe_mul(x: Tensor, s: Tensor) -> Tensor:
    """``x * s`` with ``0 * inf = 0``: the limit of ``x * s(x)`` where ``s`` underflows to zero.

    Used so that, e.g., ``silu(-inf) = 0`` and ``gelu(-inf) = 0`` (torch returns NaN there). A NaN
    input still gives NaN, because then ``s`` is NaN too.
    """
    return torch.where(s == 0, torch.zeros_like(s), x * s)
