"""Per-coordinate step sizes from squared gradients: AdaGrad, AdaDelta and RMSProp.

AdaGrad divides by the root of the *sum* of all squared gradients, so its effective learning rate
only shrinks -- towards zero on long runs (introspection shows it). RMSProp and AdaDelta replace
the sum by an exponential moving average, which forgets; AdaDelta also replaces the learning rate
by a running RMS of its own past steps, so its unit matches the parameter's ("lr" is a plain
multiplier, 1.0 by default).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.optim._core import (
    CONVENTION,
    decoupled,
    eps,
    eps_inside,
    lr,
    lr_in_buffer,
    momentum,
    register,
    weight_decay,
)
from actlab.optim.transforms import Scalar, State, Transform, root, with_weight_decay


def scale_by_adagrad(*, eps_inside: bool) -> Transform:
    """``s <- s + g^2``, ``u = -lr / (1 + (t - 1) * lr_decay) * g / root(s)``."""

    def init(p: Tensor, *, initial_accumulator_value: Scalar = 0.0, **_: Any) -> State:
        return {"sum": torch.zeros_like(p) + initial_accumulator_value}

    def update(
        g: Tensor, state: State, p: Tensor, *, lr: Scalar, lr_decay: Scalar, eps: Scalar, **_: Any
    ) -> tuple[Tensor, State]:
        total = state["sum"] + g * g
        clr = lr / (1 + (state["step"] - 1) * lr_decay)
        return -clr * g / root(total, eps, inside=eps_inside), {"sum": total}

    def factors(state: State, *, lr_decay: Scalar, **_: Any) -> dict[str, Tensor]:
        return {"lr_decay_factor": 1 / (1 + (state["step"] - 1) * lr_decay)}

    return Transform(init, update, factors)


def adagrad(*, eps_inside: bool, decoupled_weight_decay: bool) -> Transform:
    return with_weight_decay(
        scale_by_adagrad(eps_inside=eps_inside), decoupled=decoupled_weight_decay
    )


register(
    name="adagrad",
    class_name="Adagrad",
    summary="Per-coordinate rates from the sum of squared gradients: good for sparse features; "
    "the rate only shrinks, so long runs slow down.",
    params=(
        lr(1e-2),
        Param("lr_decay", 0.0, "learning rate decay: lr / (1 + (t-1) lr_decay)", low=0.0),
        weight_decay(),
        Param(
            "initial_accumulator_value", 0.0, "initial value of the squared-gradient sum", low=0.0
        ),
        eps(1e-10),
        eps_inside(),
        decoupled(),
        CONVENTION,
    ),
    formula=r"s_t = s_{t-1} + g_t^2,\quad s_0 = s_{\text{init}} \\ "
    r"\theta_t = \theta_{t-1} - \frac{\eta}{1 + (t-1)\,\delta}\,"
    r"\frac{g_t}{\sqrt{s_t} + \epsilon}",
    build=adagrad,
    presets={
        "keras": {
            "lr": 1e-3,
            "initial_accumulator_value": 0.1,
            "eps": 1e-7,
            "eps_inside": True,
            "decoupled_weight_decay": True,
        }
    },
    torch_ref=lambda ps, h: torch.optim.Adagrad(
        ps,
        lr=h["lr"],
        lr_decay=h["lr_decay"],
        weight_decay=h["weight_decay"],
        initial_accumulator_value=h["initial_accumulator_value"],
        eps=h["eps"],
    ),
    torch_equivalent="torch.optim.Adagrad",
    factors=("lr_decay_factor",),
    convergence={"quadratic": (1.0, 200), "rosenbrock": (0.1, 2000)},
    reference="Duchi, Hazan & Singer 2011",
)


def scale_by_adadelta() -> Transform:
    """Zeiler's AdaDelta: the step's unit comes from the running RMS of past steps."""

    def init(p: Tensor, **_: Any) -> State:
        return {"square_avg": torch.zeros_like(p), "acc_delta": torch.zeros_like(p)}

    def update(
        g: Tensor, state: State, p: Tensor, *, lr: Scalar, rho: Scalar, eps: Scalar, **_: Any
    ) -> tuple[Tensor, State]:
        square_avg = rho * state["square_avg"] + (1 - rho) * g * g
        delta = torch.sqrt(state["acc_delta"] + eps) / torch.sqrt(square_avg + eps) * g
        acc_delta = rho * state["acc_delta"] + (1 - rho) * delta * delta
        return -lr * delta, {"square_avg": square_avg, "acc_delta": acc_delta}

    return Transform(init, update)


def adadelta(*, decoupled_weight_decay: bool) -> Transform:
    return with_weight_decay(scale_by_adadelta(), decoupled=decoupled_weight_decay)


register(
    name="adadelta",
    class_name="Adadelta",
    summary="AdaGrad with a forgetting average and no learning rate to tune: the step is the "
    "ratio of the RMS of past steps to the RMS of gradients.",
    params=(
        lr(1.0),
        Param("rho", 0.9, "decay rate of both running averages", low=0.0, high=1.0),
        eps(1e-6),
        weight_decay(),
        decoupled(),
        CONVENTION,
    ),
    formula=r"v_t = \rho\, v_{t-1} + (1-\rho)\, g_t^2 \\ "
    r"\Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t,\quad "
    r"u_t = \rho\, u_{t-1} + (1-\rho)\, \Delta_t^2 \\ "
    r"\theta_t = \theta_{t-1} - \eta\, \Delta_t",
    build=adadelta,
    presets={"keras": {"lr": 1e-3, "rho": 0.95, "eps": 1e-7, "decoupled_weight_decay": True}},
    torch_ref=lambda ps, h: torch.optim.Adadelta(
        ps, lr=h["lr"], rho=h["rho"], eps=h["eps"], weight_decay=h["weight_decay"]
    ),
    torch_equivalent="torch.optim.Adadelta",
    convergence={"quadratic": (1.0, 600), "rosenbrock": (0.15, 3000)},
    reference="Zeiler 2012",
)


def scale_by_rms(*, centered: bool, eps_inside: bool, lr_in_buffer: bool) -> Transform:
    """``v <- alpha v + (1 - alpha) g^2``; step ``g / root(v - mean(g)^2)``, through a momentum
    buffer (kept even when ``momentum = 0``, where it equals the plain step)."""

    def init(p: Tensor, **_: Any) -> State:
        state = {"square_avg": torch.zeros_like(p), "momentum_buffer": torch.zeros_like(p)}
        if centered:
            state["grad_avg"] = torch.zeros_like(p)
        return state

    def update(
        g: Tensor,
        state: State,
        p: Tensor,
        *,
        lr: Scalar,
        alpha: Scalar,
        eps: Scalar,
        momentum: Scalar,
        **_: Any,
    ) -> tuple[Tensor, State]:
        square_avg = alpha * state["square_avg"] + (1 - alpha) * g * g
        new = {"square_avg": square_avg}
        variance = square_avg
        if centered:
            new["grad_avg"] = alpha * state["grad_avg"] + (1 - alpha) * g
            variance = square_avg - new["grad_avg"] ** 2
        step = g / root(variance, eps, inside=eps_inside)
        if lr_in_buffer:
            new["momentum_buffer"] = momentum * state["momentum_buffer"] + lr * step
            return -new["momentum_buffer"], new
        new["momentum_buffer"] = momentum * state["momentum_buffer"] + step
        return -lr * new["momentum_buffer"], new

    return Transform(init, update)


def rmsprop(
    *, centered: bool, eps_inside: bool, lr_in_buffer: bool, decoupled_weight_decay: bool
) -> Transform:
    core = scale_by_rms(centered=centered, eps_inside=eps_inside, lr_in_buffer=lr_in_buffer)
    return with_weight_decay(core, decoupled=decoupled_weight_decay)


register(
    name="rmsprop",
    class_name="RMSprop",
    summary="Divides by a running RMS of the gradient: per-coordinate rates that adapt without "
    "AdaGrad's decay to zero. Optionally centered and with momentum.",
    params=(
        lr(1e-2),
        Param("alpha", 0.99, "decay rate of the squared-gradient average", low=0.0, high=1.0),
        eps(1e-8),
        weight_decay(),
        momentum(0.0),
        Param("centered", False, "divide by the variance instead of the second moment"),
        eps_inside(),
        lr_in_buffer(),
        decoupled(),
        CONVENTION,
    ),
    formula=r"v_t = \alpha\, v_{t-1} + (1-\alpha)\, g_t^2 \\ "
    r"b_t = \mu\, b_{t-1} + \frac{g_t}{\sqrt{v_t} + \epsilon},\quad "
    r"\theta_t = \theta_{t-1} - \eta\, b_t",
    build=rmsprop,
    presets={
        "keras": {
            "lr": 1e-3,
            "alpha": 0.9,
            "eps": 1e-7,
            "eps_inside": True,
            "lr_in_buffer": True,
            "decoupled_weight_decay": True,
        }
    },
    torch_ref=lambda ps, h: torch.optim.RMSprop(
        ps,
        lr=h["lr"],
        alpha=h["alpha"],
        eps=h["eps"],
        weight_decay=h["weight_decay"],
        momentum=h["momentum"],
        centered=h["centered"],
    ),
    torch_equivalent="torch.optim.RMSprop",
    convergence={"quadratic": (0.032, 200), "rosenbrock": (0.0032, 2000)},
    reference="Tieleman & Hinton 2012 (Coursera lecture 6.5); Graves 2013 (centered)",
)
