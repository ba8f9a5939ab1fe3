"""Margin (hinge) losses: multi-class hinge -- Weston-Watkins and Crammer-Singer -- and the
multi-label hinge. They are zero once every wrong class trails the true one by the margin Delta:
unlike cross-entropy, a classification that meets the margin is left alone.

At a hinge's kink (a margin exactly met) the gradient taken is 0, the indicator
``1[Delta + s_j - s_y > 0]`` of the lecture's derivation; autograd of ``clamp`` agrees.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.losses._core import register

__all__ = ["multiclass_hinge", "multilabel_hinge"]

MARGIN = Param("margin", 1.0, "the margin Delta", low=0)
POWER = Param("p", 1, "1: hinge, 2: squared hinge", choices=(1, 2), kind=int)


def _violations(scores: Tensor, target: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """e_j = max(0, Delta + s_j - s_y) for j != y (0 at j = y), and the one-hot of y."""
    onehot = F.one_hot(target.long(), scores.shape[-1]).to(torch.bool)
    s_y = scores.gather(-1, target.long().unsqueeze(-1))
    e = torch.clamp(margin + scores - s_y, min=0)
    return e.masked_fill(onehot, 0), onehot


def multiclass_hinge(
    scores: Tensor,
    target: Tensor,
    *,
    margin: float = 1.0,
    p: int = 1,
    aggregate: Literal["sum", "max"] = "sum",
) -> Tensor:
    """Multi-class hinge per sample: ``sum_{j != y} max(0, Delta + s_j - s_y)^p`` (Weston-Watkins,
    ``aggregate="sum"``) or the largest violation only (Crammer-Singer, ``aggregate="max"``).

    torch's ``F.multi_margin_loss`` is the Weston-Watkins sum divided by the number of classes.
    """
    e, _ = _violations(scores, target, margin)
    if aggregate == "max":
        return e.amax(-1) ** p
    return (e**p).sum(-1)


def _multiclass_hinge_grad(scores, target, *, margin=1.0, p=1, aggregate="sum"):
    e, onehot = _violations(scores, target, margin)
    slope = (e > 0).to(scores.dtype) if p == 1 else 2 * e  # d e_j^p / d e_j
    if aggregate == "max":
        top = e.argmax(-1, keepdim=True)
        slope = torch.zeros_like(slope).scatter(-1, top, slope.gather(-1, top))
    return slope - onehot.to(scores.dtype) * slope.sum(-1, keepdim=True)


register(
    name="multiclass_hinge",
    aliases=("weston_watkins", "multi_margin", "hinge", "svm"),
    summary="Multi-class SVM loss: every wrong class that comes within the margin of the true "
    "class adds its violation; zero once all margins are met.",
    params=(MARGIN, POWER),
    formula=r"L = \sum_{j \ne y} \max(0,\ \Delta + s_j - s_y)^p",
    gradient=r"\frac{\partial L}{\partial s_j} = p\,e_j^{p-1}\,\mathbb{1}[e_j > 0]\ (j \ne y),\quad"
    r"\frac{\partial L}{\partial s_y} = -\sum_{j \ne y} \frac{\partial L}{\partial s_j},\quad"
    r"e_j = \max(0, \Delta + s_j - s_y)",
    fn=multiclass_hinge,
    grad=_multiclass_hinge_grad,
    torch_fn=lambda s, y, margin=1.0, p=1: (
        s.shape[-1] * F.multi_margin_loss(s, y, p=p, margin=margin, reduction="none")
    ),
    torch_note="F.multi_margin_loss divides by the number of classes C",
    reference="Weston & Watkins 1999",
)


def _crammer_singer(scores, target, *, margin=1.0, p=1):
    return multiclass_hinge(scores, target, margin=margin, p=p, aggregate="max")


def _crammer_singer_grad(scores, target, *, margin=1.0, p=1):
    return _multiclass_hinge_grad(scores, target, margin=margin, p=p, aggregate="max")


register(
    name="crammer_singer",
    aliases=("multiclass_hinge_max",),
    summary="Multi-class hinge on the single most violating wrong class only.",
    params=(MARGIN, POWER),
    formula=r"L = \max\big(0,\ \Delta + \max_{j \ne y} s_j - s_y\big)^p",
    gradient=r"\frac{\partial L}{\partial s_{j^*}} = p\,e^{p-1}\mathbb{1}[e > 0],\ "
    r"\frac{\partial L}{\partial s_y} = -\frac{\partial L}{\partial s_{j^*}},\ 0\ \text{else};"
    r"\ j^* = \arg\max_{j \ne y} s_j",
    fn=_crammer_singer,
    grad=_crammer_singer_grad,
    reference="Crammer & Singer 2001",
)


def multilabel_hinge(scores: Tensor, target: Tensor, *, margin: float = 1.0) -> Tensor:
    """A binary hinge per label, averaged over labels: ``mean_c max(0, Delta - t_c s_c)`` with
    ``t = 2y - 1`` in {-1, +1}. With one label and Delta = 1 it is the hinge ``max(0, 1 - t)``
    of the margin t = y f(x)."""
    sign = 2 * target - 1
    return torch.clamp(margin - sign * scores, min=0).mean(-1)


def _multilabel_hinge_grad(scores, target, *, margin=1.0):
    sign = 2 * target - 1
    return -sign * (margin - sign * scores > 0).to(scores.dtype) / scores.shape[-1]


register(
    name="multilabel_hinge",
    aliases=("binary_hinge",),
    summary="Many correct labels: an independent binary hinge per label, averaged over labels.",
    params=(MARGIN,),
    formula=r"L = \frac{1}{C}\sum_c \max(0,\ \Delta - t_c s_c),\quad t_c = 2y_c - 1 \in \{\pm 1\}",
    gradient=r"\frac{\partial L}{\partial s_j} = -\frac{t_j}{C}\,\mathbb{1}[\Delta - t_j s_j > 0]",
    fn=multilabel_hinge,
    grad=_multilabel_hinge_grad,
    targets=("binary",),
    task="multilabel",
    reference="the lecture's multi-label hinge; Cortes & Vapnik 1995 per label",
)
