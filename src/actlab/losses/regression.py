"""Regression losses, per element: squared error, absolute error, Huber and smooth-L1.

Smooth-L1 is Huber divided by its threshold (``smooth_l1(beta) = huber(delta=beta) / beta``), one
formula configured twice, as in torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.losses._core import register

__all__ = ["absolute_error", "huber", "smooth_l1", "squared_error"]


def squared_error(scores: Tensor, target: Tensor) -> Tensor:
    """``(s - y)^2``; ``F.mse_loss(..., reduction="none")``."""
    return (scores - target) ** 2


register(
    name="squared_error",
    aliases=("mse", "l2", "square", "squared"),
    summary="Regression default; the Gaussian negative log-likelihood. Large errors dominate.",
    formula=r"L = (s - y)^2",
    gradient=r"\frac{\partial L}{\partial s} = 2(s - y)",
    fn=squared_error,
    grad=lambda s, y: 2 * (s - y),
    per="element",
    targets=("real",),
    torch_fn=lambda s, y: F.mse_loss(s, y, reduction="none"),
    task="regression",
    reference="Legendre 1805; Gauss 1809",
)


def absolute_error(scores: Tensor, target: Tensor) -> Tensor:
    """``|s - y|``; ``F.l1_loss(..., reduction="none")``. Gradient ``sign(s - y)``, 0 at 0."""
    return torch.abs(scores - target)


register(
    name="absolute_error",
    aliases=("l1", "mae", "absolute"),
    summary="Robust to outliers (the median, not the mean); constant-size gradient.",
    formula=r"L = |s - y|",
    gradient=r"\frac{\partial L}{\partial s} = \operatorname{sign}(s - y)",
    fn=absolute_error,
    grad=lambda s, y: torch.sign(s - y),
    per="element",
    targets=("real",),
    torch_fn=lambda s, y: F.l1_loss(s, y, reduction="none"),
    task="regression",
    reference="Laplace 1774",
)


def huber(scores: Tensor, target: Tensor, *, delta: float = 1.0) -> Tensor:
    """Quadratic within ``delta`` of the target, linear beyond; ``F.huber_loss``."""
    d = scores - target
    a = torch.abs(d)
    return torch.where(a < delta, 0.5 * d**2, delta * (a - 0.5 * delta))


register(
    name="huber",
    summary="Squared error near the target, absolute error far from it: robust and smooth.",
    params=(Param("delta", 1.0, "where quadratic turns linear", low=0, low_open=True),),
    formula=r"L = \begin{cases} \tfrac12 d^2 & |d| < \delta \\ "
    r"\delta(|d| - \tfrac12\delta) & \text{else} \end{cases},\ d = s - y",
    gradient=r"\frac{\partial L}{\partial s} = \operatorname{clip}(d, -\delta, \delta)",
    fn=huber,
    grad=lambda s, y, delta=1.0: torch.clamp(s - y, -delta, delta),
    per="element",
    targets=("real",),
    torch_fn=lambda s, y, delta=1.0: F.huber_loss(s, y, delta=delta, reduction="none"),
    task="regression",
    reference="Huber 1964",
)


def smooth_l1(scores: Tensor, target: Tensor, *, beta: float = 1.0) -> Tensor:
    """``huber(delta=beta) / beta``: slope 1 far from the target; ``beta = 0`` is plain L1."""
    if beta == 0:
        return absolute_error(scores, target)
    return huber(scores, target, delta=beta) / beta


def _smooth_l1_grad(scores, target, *, beta=1.0):
    if beta == 0:
        return torch.sign(scores - target)
    return torch.clamp((scores - target) / beta, -1, 1)


register(
    name="smooth_l1",
    summary="Huber rescaled to slope 1 (Fast R-CNN's box regression loss).",
    params=(Param("beta", 1.0, "width of the quadratic zone", low=0),),
    formula=r"L = \begin{cases} \tfrac{1}{2\beta} d^2 & |d| < \beta \\ "
    r"|d| - \tfrac12\beta & \text{else} \end{cases},\ d = s - y",
    gradient=r"\frac{\partial L}{\partial s} = \operatorname{clip}(d / \beta, -1, 1)",
    fn=smooth_l1,
    grad=_smooth_l1_grad,
    per="element",
    targets=("real",),
    torch_fn=lambda s, y, beta=1.0: F.smooth_l1_loss(s, y, beta=beta, reduction="none"),
    task="regression",
    reference="Girshick 2015",
)
