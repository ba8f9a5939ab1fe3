"""Evaluating a catalog loss: input checks, the analytic-gradient autograd function, reductions.

>>> import torch
>>> from actlab.losses import loss
>>> loss(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0]), "multiclass_hinge")
tensor(1.5000)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from actlab.errors import ParameterError
from actlab.losses._checks import check_inputs
from actlab.losses._core import LOSSES, LossInfo

__all__ = ["Loss", "loss", "loss_grad", "reduce"]


class _Analytic(torch.autograd.Function):
    """Forward: the loss's formula, unreduced. Backward: its declared analytic gradient."""

    @staticmethod
    def forward(ctx, scores, target, info, params):  # type: ignore[override]
        ctx.info, ctx.params = info, params
        ctx.save_for_backward(scores, target)
        return info.fn(scores, target, **params)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_values):  # type: ignore[override]
        scores, target = ctx.saved_tensors
        info: LossInfo = ctx.info
        g = info.grad(scores, target, **ctx.params)
        if info.per == "sample":
            grad_values = grad_values.unsqueeze(-1)
        return grad_values * g, None, None, None


def _resolve(name: str | LossInfo, reduction: str | None, params: dict[str, Any]):
    info = name if isinstance(name, LossInfo) else LOSSES.get(name)
    reduction = info.reduction if reduction is None else reduction
    if reduction not in info.reductions:
        hint = "; use 'batchmean' (the per-sample KL, averaged)" if reduction == "mean" else ""
        raise ParameterError(
            f"{info.name}: reduction={reduction!r} is not one of "
            f"{{{', '.join(repr(r) for r in info.reductions)}}}{hint}"
        )
    return info, reduction, info.bind(params)


def reduce(
    values: Tensor, reduction: str, *, batch: int, denominator: Tensor | None = None
) -> Tensor:
    """Reduce unreduced loss values: ``"none"`` keeps them; ``"sum"``; ``"mean"`` divides the sum
    by their count (or by ``denominator``, a weighted count); ``"batchmean"`` by the batch size."""
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "batchmean":
        return total / batch
    return total / (values.numel() if denominator is None else denominator)


def loss(
    scores: Tensor,
    target: Tensor,
    name: str | LossInfo = "cross_entropy",
    *,
    reduction: str | None = None,
    **params: Any,
) -> Tensor:
    """The catalog loss ``name`` of ``scores`` (logits or predictions) against ``target``.

    Args:
        scores: ``(N, C)`` scores or logits (classification), or predictions of any shape
            ``(N, ...)`` (regression, binary).
        target: class indices ``(N,)``, probabilities / labels / values shaped like ``scores``,
            as the entry's ``targets`` allow. Shapes, dtypes and class ranges are checked.
        reduction: ``"none"`` (per-sample or per-element values), ``"mean"``, ``"sum"`` or
            ``"batchmean"`` (sum / N); ``None``: the entry's default (``"mean"``, KL: batchmean).
        params: the entry's parameters (``label_smoothing=0.1``, ``margin=2.0``, ...).

    Returns the loss; its gradient wrt ``scores`` is the entry's analytic ``grad`` (targets that
    require grad instead get plain autograd through the formula, so they receive gradients too).
    """
    info, reduction, p = _resolve(name, reduction, params)
    check_inputs(info, scores, target, p)
    if info.grad is None:  # a metric
        with torch.no_grad():
            values = info.fn(scores, target, **p)
    elif target.requires_grad:
        values = info.fn(scores, target, **p)
    else:
        values = _Analytic.apply(scores, target, info, p)
    return _reduce(info, values, reduction, scores, target, p)


def loss_grad(
    scores: Tensor,
    target: Tensor,
    name: str | LossInfo = "cross_entropy",
    *,
    reduction: str | None = None,
    **params: Any,
) -> Tensor:
    """The analytic gradient of ``loss(scores, target, name, reduction=...)`` wrt ``scores``.

    For ``reduction="none"`` it is each sample's own gradient (the gradient of the sum)."""
    info, reduction, p = _resolve(name, reduction, params)
    check_inputs(info, scores, target, p)
    if info.grad is None:
        raise ParameterError(f"{info.name} is a metric and has no gradient")
    g = info.grad(scores.detach(), target, **p)
    if reduction in ("none", "sum"):
        return g
    if reduction == "batchmean":
        return g / scores.shape[0]
    den = info.mean_denominator(scores, target, **p) if info.mean_denominator else None
    if den is None:
        count = scores.shape[:-1].numel() if info.per == "sample" else scores.numel()
        return g / count
    return g / den


def _reduce(info, values, reduction, scores, target, p):
    den = None
    if reduction == "mean" and info.mean_denominator is not None:
        den = info.mean_denominator(scores, target, **p)
    return reduce(values, reduction, batch=scores.shape[0], denominator=den)


class Loss(nn.Module):
    """Any catalog loss as a module: ``Loss("cross_entropy", label_smoothing=0.1)(logits, y)``."""

    def __init__(self, name: str, *, reduction: str | None = None, **params: Any) -> None:
        super().__init__()
        self.info, self.reduction, self.params = _resolve(name, reduction, params)

    def forward(self, scores: Tensor, target: Tensor) -> Tensor:
        return loss(scores, target, self.info, reduction=self.reduction, **self.params)

    def extra_repr(self) -> str:
        fixed = "".join(f", {k}={v!r}" for k, v in self.params.items() if v is not None)
        return f"{self.info.name!r}, reduction={self.reduction!r}{fixed}"
