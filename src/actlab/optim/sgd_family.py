"""Gradient descent, momentum and Nesterov momentum.

Batch, stochastic and mini-batch gradient descent are *one* update rule, ``p <- p - lr * g``; they
differ only in how many examples the gradient ``g`` averages over (all of them, one, or ``N``).
The study engine exposes that choice as ``batch_size = full | 1 | N``.

Momentum comes in two forms that agree while the learning rate is constant:

* PyTorch's (``lr_in_buffer=False``): ``b <- mu * b + (1 - dampening) * g``, ``p <- p - lr * b``;
* Sutskever et al.'s (``lr_in_buffer=True``, Keras's velocity): ``b <- mu * b + lr * g``,
  ``p <- p - b``. With a schedule the buffer keeps the old rates in the second form.

Nesterov (``nesterov=True``) steps along ``g + mu * b`` instead of ``b``. This is Sutskever's
look-ahead update -- gradient taken at ``theta + mu * v`` -- rewritten in the shifted variable
``phi = theta + mu * v`` so that the gradient is taken at the stored parameters (Bengio et al.
2013); the test suite checks that equivalence against a literal look-ahead implementation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.optim._core import (
    CONVENTION,
    decoupled,
    lr,
    lr_in_buffer,
    momentum,
    nesterov_check,
    register,
    weight_decay,
)
from actlab.optim.transforms import (
    Scalar,
    State,
    Transform,
    is_zero,
    scale_by_lr,
    with_weight_decay,
)


def sgd(*, decoupled_weight_decay: bool = False) -> Transform:
    """``p <- p - lr * g``."""
    return with_weight_decay(scale_by_lr(), decoupled=decoupled_weight_decay)


def trace(*, nesterov: bool, lr_in_buffer: bool, first_buffer: str) -> Transform:
    """The momentum buffer ``b <- mu * b + (1 - dampening) * g`` and the step along it.

    ``first_buffer="grad"`` starts with ``b_1 = g`` (torch: the dampening is not applied on the
    first step); ``"zero"`` starts from ``b_0 = 0`` (Keras).
    """

    def init(param: Tensor, **_: Any) -> State:
        return {"momentum_buffer": torch.zeros_like(param)}

    def update(
        g: Tensor,
        state: State,
        p: Tensor,
        *,
        lr: Scalar,
        momentum: Scalar,
        dampening: Scalar = 0.0,
        **_: Any,
    ) -> tuple[Tensor, State]:
        scaled = lr * g if lr_in_buffer else g
        if first_buffer == "grad" and bool(state["step"] == 1):  # a CPU scalar: no device sync
            buf = scaled.clone()  # (a copy: the caller may zero its gradient in place)
        else:
            kept = scaled if is_zero(dampening) else (1 - dampening) * scaled  # 1 * x == x
            buf = momentum * state["momentum_buffer"] + kept
        direction = scaled + momentum * buf if nesterov else buf
        return (-direction if lr_in_buffer else -lr * direction), {"momentum_buffer": buf}

    return Transform(init, update)


def heavy_ball(
    *, nesterov: bool, lr_in_buffer: bool, first_buffer: str, decoupled_weight_decay: bool
) -> Transform:
    core = trace(nesterov=nesterov, lr_in_buffer=lr_in_buffer, first_buffer=first_buffer)
    return with_weight_decay(core, decoupled=decoupled_weight_decay)


register(
    name="sgd",
    aliases=("gd", "gradient_descent"),
    class_name="SGD",
    summary="Gradient descent: a step against the gradient. Batch, stochastic and mini-batch GD "
    "are this one rule with different batch sizes.",
    params=(lr(1e-3), weight_decay(), decoupled(), CONVENTION),
    formula=r"\theta_{t} = \theta_{t-1} - \eta\, g_t",
    build=sgd,
    presets={"keras": {"lr": 0.01, "decoupled_weight_decay": True}},
    torch_ref=lambda ps, h: torch.optim.SGD(ps, lr=h["lr"], weight_decay=h["weight_decay"]),
    torch_equivalent="torch.optim.SGD(momentum=0)",
    convergence={"quadratic": (0.056, 200), "rosenbrock": (0.0018, 4000)},
    reference="Cauchy 1847; Robbins & Monro 1951",
)

_MOMENTUM_PARAMS = (
    Param("dampening", 0.0, "dampening of the gradient added to the buffer", low=0.0, high=1.0),
    weight_decay(),
    lr_in_buffer(),
    Param(
        "first_buffer",
        "grad",
        "first momentum buffer: the gradient or zero",
        choices=("grad", "zero"),
    ),
    decoupled(),
    CONVENTION,
)
_KERAS_MOMENTUM = {
    "lr": 0.01,
    "lr_in_buffer": True,
    "first_buffer": "zero",
    "decoupled_weight_decay": True,
}


def _torch_sgd(nesterov: bool):
    def make(ps, h):
        return torch.optim.SGD(
            ps,
            lr=h["lr"],
            momentum=h["momentum"],
            dampening=h["dampening"],
            weight_decay=h["weight_decay"],
            nesterov=nesterov,
        )

    return make


register(
    name="momentum",
    aliases=("sgd_momentum", "heavy_ball"),
    class_name="Momentum",
    summary="Gradient descent with a velocity: accelerates along consistent directions (a long "
    "valley) and damps oscillation across it.",
    params=(
        lr(1e-3),
        momentum(0.9),
        Param("nesterov", False, "Nesterov momentum"),
        *_MOMENTUM_PARAMS,
    ),
    formula=r"b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t,\quad b_1 = g_1 \\ "
    r"\theta_t = \theta_{t-1} - \eta\, b_t",
    build=heavy_ball,
    check=nesterov_check,
    presets={"keras": _KERAS_MOMENTUM},
    torch_ref=_torch_sgd(False),
    torch_equivalent="torch.optim.SGD(momentum=0.9)",
    convergence={"quadratic": (0.03, 200), "rosenbrock": (0.001, 800)},
    reference="Polyak 1964; Rumelhart, Hinton & Williams 1986; Sutskever et al. 2013",
)

register(
    name="nag",
    aliases=("nesterov",),
    class_name="NAG",
    summary="Nesterov momentum: corrects the velocity with the gradient at the look-ahead point, "
    "so it overshoots less than plain momentum.",
    params=(
        lr(1e-3),
        momentum(0.9),
        Param("nesterov", True, "Nesterov momentum"),
        *_MOMENTUM_PARAMS,
    ),
    formula=r"b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t,\quad b_1 = g_1 \\ "
    r"\theta_t = \theta_{t-1} - \eta\, (g_t + \mu\, b_t)",
    build=heavy_ball,
    check=nesterov_check,
    presets={"keras": _KERAS_MOMENTUM},
    torch_ref=_torch_sgd(True),
    torch_equivalent="torch.optim.SGD(momentum=0.9, nesterov=True)",
    convergence={"quadratic": (0.018, 200), "rosenbrock": (0.00056, 1500)},
    reference="Nesterov 1983; Sutskever, Martens, Dahl & Hinton 2013",
)
