"""Adam's descendants: NAdam (Nesterov momentum), RAdam (rectified variance) and Lion (sign of an
interpolated momentum)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.optim._core import (
    CONVENTION,
    betas,
    decoupled,
    eps,
    eps_inside,
    lr,
    register,
    weight_decay,
)
from actlab.optim.adam import eps_hat, moment_state, moments
from actlab.optim.transforms import Scalar, State, Transform, root, with_weight_decay


def _mu(b1: Scalar, t: Tensor, momentum_decay: Scalar) -> Tensor:
    """NAdam's momentum schedule ``mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))``."""
    return b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))


def scale_by_nadam(*, eps_inside: bool) -> Transform:
    def init(p: Tensor, **_: Any) -> State:
        return {**moment_state(p), "mu_product": torch.ones((), dtype=torch.float64)}

    def update(
        g: Tensor,
        state: State,
        p: Tensor,
        *,
        lr: Scalar,
        betas: tuple[Scalar, Scalar],
        eps: Scalar,
        momentum_decay: Scalar,
        **_: Any,
    ) -> tuple[Tensor, State]:
        b1, b2 = betas
        t = state["step"]
        mu, mu_next = _mu(b1, t, momentum_decay), _mu(b1, t + 1, momentum_decay)
        mu_product = state["mu_product"] * mu
        m, v = moments(g, state, b1, b2)
        denom = root(v / (1 - b2**t), eps, inside=eps_inside)
        step = (1 - mu) / (1 - mu_product) * g + mu_next / (1 - mu_product * mu_next) * m
        return -lr * step / denom, {"exp_avg": m, "exp_avg_sq": v, "mu_product": mu_product}

    def factors(state: State, *, betas: tuple[Scalar, Scalar], momentum_decay: Scalar, **_: Any):
        t = state["step"]
        return {
            "mu": _mu(betas[0], t, momentum_decay),
            "mu_next": _mu(betas[0], t + 1, momentum_decay),
            "mu_product": state["mu_product"],
            "bias_correction2": 1 - betas[1] ** t,
        }

    return Transform(init, update, factors)


def nadam(*, eps_inside: bool, decoupled_weight_decay: bool) -> Transform:
    core = scale_by_nadam(eps_inside=eps_inside)
    return with_weight_decay(core, decoupled=decoupled_weight_decay)


register(
    name="nadam",
    class_name="NAdam",
    summary="Adam with Nesterov momentum: the update uses the next step's momentum, with a "
    "momentum schedule that warms up.",
    params=(
        lr(2e-3),
        betas(),
        eps(1e-8),
        weight_decay(),
        Param("momentum_decay", 4e-3, "speed of the momentum schedule's warm-up", low=0.0),
        eps_inside(),
        decoupled(),
        CONVENTION,
    ),
    formula=r"\mu_t = \beta_1 \big(1 - \tfrac12\, 0.96^{t\psi}\big),\quad "
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\ "
    r"\theta_t = \theta_{t-1} - \eta\, \Big(\frac{(1-\mu_t)\, g_t}{1-\prod_{i\le t}\mu_i}"
    r" + \frac{\mu_{t+1}\, m_t}{1-\prod_{i\le t+1}\mu_i}\Big) \Big/ "
    r"\Big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Big)",
    build=nadam,
    # Keras 3's Nadam computes 0.96 ** t, i.e. momentum_decay = 1 in torch's parametrization.
    presets={
        "keras": {
            "lr": 1e-3,
            "eps": 1e-7,
            "momentum_decay": 1.0,
            "decoupled_weight_decay": True,
        }
    },
    torch_ref=lambda ps, h: torch.optim.NAdam(
        ps,
        lr=h["lr"],
        betas=h["betas"],
        eps=h["eps"],
        weight_decay=h["weight_decay"],
        momentum_decay=h["momentum_decay"],
        decoupled_weight_decay=h["decoupled_weight_decay"],
    ),
    torch_equivalent="torch.optim.NAdam",
    factors=("mu", "mu_next", "mu_product", "bias_correction2"),
    convergence={"quadratic": (0.056, 200), "rosenbrock": (0.01, 1500)},
    reference="Dozat 2016",
)


def _rectification(b2: Scalar, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """RAdam's ``rho_t``, whether the variance is tractable (``rho_t > 5``) and ``r_t``."""
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    on = rho_t > 5
    ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    rect = torch.where(on, torch.sqrt(torch.clamp(ratio, min=0)), torch.zeros_like(ratio))
    return rho_t, on, rect


def scale_by_radam(*, eps_inside: bool, eps_hat: bool) -> Transform:
    def init(p: Tensor, **_: Any) -> State:
        return moment_state(p)

    def update(
        g: Tensor,
        state: State,
        p: Tensor,
        *,
        lr: Scalar,
        betas: tuple[Scalar, Scalar],
        eps: Scalar,
        **_: Any,
    ) -> tuple[Tensor, State]:
        b1, b2 = betas
        t = state["step"]
        m, v = moments(g, state, b1, b2)
        bc2 = 1 - b2**t
        if eps_hat:
            adaptive = torch.sqrt(bc2) / root(v, eps, inside=eps_inside)
        else:
            adaptive = 1 / root(v / bc2, eps, inside=eps_inside)
        _, on, rect = _rectification(b2, t)
        scale = torch.where(on, rect * adaptive, torch.ones_like(adaptive))
        return -lr * m / (1 - b1**t) * scale, {"exp_avg": m, "exp_avg_sq": v}

    def factors(state: State, *, betas: tuple[Scalar, Scalar], **_: Any) -> dict[str, Tensor]:
        rho_t, on, rect = _rectification(betas[1], state["step"])
        return {
            "bias_correction1": 1 - betas[0] ** state["step"],
            "rho_t": rho_t,
            "rectified": on.to(torch.float64),
            "rectification": rect,
        }

    return Transform(init, update, factors)


def radam(*, eps_inside: bool, eps_hat: bool, decoupled_weight_decay: bool) -> Transform:
    core = scale_by_radam(eps_inside=eps_inside, eps_hat=eps_hat)
    return with_weight_decay(core, decoupled=decoupled_weight_decay)


register(
    name="radam",
    class_name="RAdam",
    summary="Adam that switches the adaptive rate on only once its variance is tractable "
    "(rho_t > 5), scaled by a rectification term: a built-in warm-up.",
    params=(
        lr(1e-3),
        betas(),
        eps(1e-8),
        weight_decay(),
        eps_inside(),
        eps_hat(True),
        decoupled(),
        CONVENTION,
    ),
    formula=r"\rho_\infty = \tfrac{2}{1-\beta_2} - 1,\quad "
    r"\rho_t = \rho_\infty - \tfrac{2 t \beta_2^t}{1-\beta_2^t},\quad "
    r"r_t = \sqrt{\tfrac{(\rho_t-4)(\rho_t-2)\rho_\infty}"
    r"{(\rho_\infty-4)(\rho_\infty-2)\rho_t}} \\ "
    r"\theta_t = \theta_{t-1} - \eta\, \hat m_t \cdot \begin{cases} "
    r"r_t\, \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5 \\ 1 & "
    r"\text{otherwise} \end{cases}",
    build=radam,
    presets={"keras": {"eps": 1e-7, "decoupled_weight_decay": True}},
    torch_ref=lambda ps, h: torch.optim.RAdam(
        ps,
        lr=h["lr"],
        betas=h["betas"],
        eps=h["eps"],
        weight_decay=h["weight_decay"],
        decoupled_weight_decay=h["decoupled_weight_decay"],
    ),
    torch_equivalent="torch.optim.RAdam",
    factors=("bias_correction1", "rho_t", "rectified", "rectification"),
    convergence={"quadratic": (0.18, 200), "rosenbrock": (0.018, 800)},
    reference="Liu et al. 2020",
)


def scale_by_lion() -> Transform:
    def init(p: Tensor, **_: Any) -> State:
        return {"exp_avg": torch.zeros_like(p)}

    def update(
        g: Tensor, state: State, p: Tensor, *, lr: Scalar, betas: tuple[Scalar, Scalar], **_: Any
    ) -> tuple[Tensor, State]:
        b1, b2 = betas
        m = state["exp_avg"]
        direction = torch.sign(b1 * m + (1 - b1) * g)
        return -lr * direction, {"exp_avg": b2 * m + (1 - b2) * g}

    return Transform(init, update)


def lion(*, decoupled_weight_decay: bool) -> Transform:
    return with_weight_decay(scale_by_lion(), decoupled=decoupled_weight_decay)


register(
    name="lion",
    class_name="Lion",
    summary="Sign of an interpolated momentum: every coordinate moves by exactly lr; found by "
    "program search. Use a 3-10x smaller lr than Adam.",
    params=(lr(1e-4), betas((0.9, 0.99)), weight_decay(), decoupled(True), CONVENTION),
    formula=r"c_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t,\quad "
    r"\theta_t = \theta_{t-1} - \eta\, "
    r"\big(\operatorname{sign}(c_t) + \lambda \theta_{t-1}\big) \\ "
    r"m_t = \beta_2 m_{t-1} + (1-\beta_2)\, g_t",
    build=lion,
    presets={"keras": {"lr": 1e-3}},
    torch_equivalent="",
    convergence={"quadratic": (0.004, 800), "rosenbrock": (0.0032, 1000)},
    reference="Chen et al. 2023",
)
