"""Adam and its configurations: AdamW (decoupled decay), AMSGrad (running max), Adamax (infinity
norm).

Where epsilon sits is an option, because frameworks disagree: torch adds it to the bias-corrected
root, ``m_hat / (sqrt(v_hat) + eps)``; Keras adds it *before* the bias correction ("epsilon hat"
in Kingma & Ba's section 2), ``lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)``;
optax's ``eps_root`` puts it inside the root. ``eps_hat`` and ``eps_inside`` select among them.
"""

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
from actlab.optim.transforms import Scalar, State, Transform, numbers, root, with_weight_decay


def moments(g: Tensor, state: State, b1: Scalar, b2: Scalar) -> tuple[Tensor, Tensor]:
    """``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``, computed as
    ``m + (1 - b1) (g - m)`` and ``b2 v + ((1 - b2) g) g``."""
    m, v = state["exp_avg"], state["exp_avg_sq"]
    if not (numbers(b1, b2) and g.dtype == m.dtype == v.dtype):
        return m + (1 - b1) * (g - m), b2 * v + (1 - b2) * g * g
    # the same operations on fresh temporaries, in place (x + y == y + x exactly)
    return torch.sub(g, m).mul_(1 - b1).add_(m), torch.mul(v, b2).add_(torch.mul(g, 1 - b2).mul_(g))


def moment_state(p: Tensor) -> State:
    return {"exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}


def bias_corrections(state: State, *, betas: tuple[Scalar, Scalar], **_: Any) -> dict[str, Tensor]:
    b1, b2 = betas
    t = state["step"]
    return {"bias_correction1": 1 - b1**t, "bias_correction2": 1 - b2**t}


def scale_by_adam(*, amsgrad: bool, eps_inside: bool, eps_hat: bool) -> Transform:
    """Adam's direction ``m_hat / (sqrt(v_hat) + eps)``, times ``-lr``."""

    def init(p: Tensor, **_: Any) -> State:
        state = moment_state(p)
        if amsgrad:
            state["max_exp_avg_sq"] = torch.zeros_like(p)
        return state

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
        new = {"exp_avg": m, "exp_avg_sq": v}
        if amsgrad:
            v = new["max_exp_avg_sq"] = torch.maximum(state["max_exp_avg_sq"], v)
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        if eps_hat:
            denom = root(v, eps, inside=eps_inside) / torch.sqrt(bc2)
        else:
            denom = root(v / bc2, eps, inside=eps_inside)
        step = -(lr / bc1) * m
        if step.dtype == denom.dtype and step.shape == denom.shape:
            return step.div_(denom), new  # in place on the temporary: as ``step / denom``
        return step / denom, new

    return Transform(init, update, bias_corrections)


def adam(
    *, amsgrad: bool, eps_inside: bool, eps_hat: bool, decoupled_weight_decay: bool
) -> Transform:
    core = scale_by_adam(amsgrad=amsgrad, eps_inside=eps_inside, eps_hat=eps_hat)
    return with_weight_decay(core, decoupled=decoupled_weight_decay)


def eps_hat(default: bool = False) -> Param:
    return Param("eps_hat", default, "epsilon added before the bias correction (Keras)")


def _adam_params(wd: float, amsgrad: bool, decoupled_wd: bool) -> tuple[Param, ...]:
    return (
        lr(1e-3),
        betas(),
        eps(1e-8),
        weight_decay(wd),
        Param("amsgrad", amsgrad, "use the running maximum of v (AMSGrad)"),
        eps_inside(),
        eps_hat(),
        decoupled(decoupled_wd),
        CONVENTION,
    )


_ADAM_FORMULA = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t,\quad "
    r"v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\ "
    r"\hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = \frac{v_t}{1-\beta_2^t} \\ "
)
_KERAS_ADAM = {"eps": 1e-7, "eps_hat": True, "decoupled_weight_decay": True}


def _torch_adam(cls: type):
    def make(ps, h):
        return cls(
            ps,
            lr=h["lr"],
            betas=h["betas"],
            eps=h["eps"],
            weight_decay=h["weight_decay"],
            amsgrad=h["amsgrad"],
        )

    return make


register(
    name="adam",
    class_name="Adam",
    summary="Momentum on the gradient, RMSProp's scaling, both bias-corrected: the default "
    "adaptive optimizer.",
    params=_adam_params(0.0, False, False),
    formula=_ADAM_FORMULA
    + r"\theta_t = \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}",
    build=adam,
    presets={"keras": _KERAS_ADAM},
    torch_ref=_torch_adam(torch.optim.Adam),
    torch_equivalent="torch.optim.Adam",
    factors=("bias_correction1", "bias_correction2"),
    convergence={"quadratic": (0.1, 200), "rosenbrock": (0.018, 400)},
    reference="Kingma & Ba 2015",
)

register(
    name="adamw",
    class_name="AdamW",
    summary="Adam with decoupled weight decay: the decay is not rescaled by the adaptive "
    "denominator, so it regularizes as intended.",
    params=_adam_params(1e-2, False, True),
    formula=_ADAM_FORMULA
    + r"\theta_t = \theta_{t-1} - \eta\, \Big(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}"
    r" + \lambda\, \theta_{t-1}\Big)",
    build=adam,
    presets={"keras": {**_KERAS_ADAM, "weight_decay": 0.004}},
    torch_ref=_torch_adam(torch.optim.AdamW),
    torch_equivalent="torch.optim.AdamW",
    factors=("bias_correction1", "bias_correction2"),
    convergence={"quadratic": (0.1, 200), "rosenbrock": (0.018, 400)},
    reference="Loshchilov & Hutter 2019",
)

register(
    name="amsgrad",
    class_name="AMSGrad",
    summary="Adam with the running maximum of the second moment, so the effective rate never "
    "grows (fixes Adam's non-convergence counterexample).",
    params=_adam_params(0.0, True, False),
    formula=_ADAM_FORMULA + r"\hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, v_t),\quad "
    r"\theta_t = \theta_{t-1} - \eta\, "
    r"\frac{\hat m_t}{\sqrt{\hat v^{\max}_t/(1-\beta_2^t)} + \epsilon}",
    build=adam,
    presets={"keras": _KERAS_ADAM},
    torch_ref=_torch_adam(torch.optim.Adam),
    torch_equivalent="torch.optim.Adam(amsgrad=True)",
    factors=("bias_correction1", "bias_correction2"),
    convergence={"quadratic": (0.1, 200), "rosenbrock": (0.032, 300)},
    reference="Reddi, Kale & Kumar 2018",
)


def scale_by_adamax(*, eps_inside: bool) -> Transform:
    """``u <- max(b2 u, |g| + eps)`` (torch; Keras: ``max(b2 u, |g|)`` then ``u + eps``)."""

    def init(p: Tensor, **_: Any) -> State:
        return {"exp_avg": torch.zeros_like(p), "exp_inf": torch.zeros_like(p)}

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
        m = state["exp_avg"] + (1 - b1) * (g - state["exp_avg"])
        if eps_inside:
            u = torch.maximum(b2 * state["exp_inf"], g.abs() + eps)
            denom = u
        else:
            u = torch.maximum(b2 * state["exp_inf"], g.abs())
            denom = u + eps
        bc1 = 1 - b1 ** state["step"]
        return -(lr / bc1) * m / denom, {"exp_avg": m, "exp_inf": u}

    def factors(state: State, *, betas: tuple[Scalar, Scalar], **_: Any) -> dict[str, Tensor]:
        return {"bias_correction1": 1 - betas[0] ** state["step"]}

    return Transform(init, update, factors)


def adamax(*, eps_inside: bool, decoupled_weight_decay: bool) -> Transform:
    return with_weight_decay(
        scale_by_adamax(eps_inside=eps_inside), decoupled=decoupled_weight_decay
    )


register(
    name="adamax",
    class_name="Adamax",
    summary="Adam with the infinity norm instead of the root mean square: steps bounded by lr.",
    params=(
        lr(2e-3),
        betas(),
        eps(1e-8),
        weight_decay(),
        eps_inside(True),
        decoupled(),
        CONVENTION,
    ),
    formula=r"m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t,\quad "
    r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\ "
    r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}",
    build=adamax,
    presets={
        "keras": {"lr": 1e-3, "eps": 1e-7, "eps_inside": False, "decoupled_weight_decay": True}
    },
    torch_ref=lambda ps, h: torch.optim.Adamax(
        ps, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"]
    ),
    torch_equivalent="torch.optim.Adamax",
    factors=("bias_correction1",),
    convergence={"quadratic": (0.1, 200), "rosenbrock": (0.032, 800)},
    reference="Kingma & Ba 2015, section 7",
)
