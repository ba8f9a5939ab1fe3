"""One variance-scaling initializer; Glorot/Xavier, He/Kaiming, LeCun, PyTorch's Linear default
and ``auto`` are configurations of it.

``Var(W) = scale / n``, with ``n`` the fan-in, the fan-out or their average, drawn from a normal,
a uniform on ``[-sqrt(3 Var), sqrt(3 Var)]``, or a normal truncated at two standard deviations
whose std is enlarged so that the truncated variance is still ``scale / n``.

==============  =====================  ========  ==================================
entry           scale                  mode      why
==============  =====================  ========  ==================================
xavier_*        gain^2                 fan_avg   keeps forward and backward variance
he_*            calculate_gain(nl,a)^2 fan_in    ReLU halves the second moment
lecun_*         1                      fan_in    SELU's self-normalizing fixed point
torch_default   1/3                    fan_in    nn.Linear: kaiming_uniform_(a=sqrt 5)
auto            searched sigma_w^2     fan_in    stable q*, chi(q*) -> 1 (mean-field theory)
==============  =====================  ========  ==================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.activations import ACTIVATIONS
from actlab.activations.properties import gain
from actlab.init._core import fan, register
from actlab.theory.auto_choice import AutoChoice, auto_choice

__all__ = ["TRUNCATED_STD", "variance_scaling_"]

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")


@lru_cache(maxsize=1)
def _truncated_std() -> float:
    """Std of N(0, 1) truncated to [-2, 2]: 0.8796 (the constant Keras and JAX divide by)."""
    phi = math.exp(-2.0) / math.sqrt(2 * math.pi)
    z = math.erf(2 / math.sqrt(2))
    return math.sqrt(1 - 4 * phi / z)


TRUNCATED_STD = _truncated_std()


def variance_scaling_(
    tensor: Tensor,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "normal",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` in place with zero-mean values of variance ``scale / n``.

    Args:
        tensor: a weight of shape ``(out, in, *kernel)``.
        scale: the variance times the fan.
        mode: ``"fan_in"`` (preserve forward variance), ``"fan_out"`` (backward) or ``"fan_avg"``.
        distribution: ``"normal"``, ``"uniform"`` or ``"truncated_normal"`` (at +-2 std).

    >>> w = variance_scaling_(torch.empty(256, 512), scale=2.0)  # He normal
    >>> round(w.var().item() * 512, 1)
    2.0
    """
    var = scale / fan(tensor.shape, mode)
    with torch.no_grad():
        if distribution == "uniform":
            bound = math.sqrt(3 * var)
            return tensor.uniform_(-bound, bound, generator=generator)
        if distribution == "truncated_normal":
            std = math.sqrt(var) / TRUNCATED_STD
            return torch.nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std, generator)
        return tensor.normal_(0.0, math.sqrt(var), generator=generator)


def _declare(
    name: str,
    *,
    distribution: str | None,
    scale: Callable[[dict[str, Any]], float],
    mode: str | None,
    **fields: Any,
) -> None:
    """Register one configuration; a ``None`` distribution or mode is read from the params."""

    def config(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "scale": scale(p),
            "mode": mode or p["mode"],
            "distribution": distribution or p["distribution"],
        }

    def fn(tensor: Tensor, *, generator: torch.Generator | None = None, **p: Any) -> Tensor:
        return variance_scaling_(tensor, generator=generator, **config(p))

    def moments(shape, **p: Any) -> tuple[float, float]:
        c = config(p)
        return 0.0, c["scale"] / fan(shape, c["mode"])

    register(name=name, fn=fn, moments=moments, **fields)


MODE = Param("mode", "fan_in", "preserve forward (fan_in) or backward (fan_out)", choices=MODES)
VAR = r"\operatorname{Var}(W) = "

_declare(
    "variance_scaling",
    distribution=None,
    mode=None,
    scale=lambda p: p["scale"],
    params=(
        Param("scale", 1.0, "variance times fan", low=0),
        Param("mode", "fan_in", "which fan to divide by", choices=MODES),
        Param("distribution", "normal", "shape of the distribution", choices=DISTRIBUTIONS),
    ),
    formula=VAR
    + r"\frac{s}{n},\ n \in \{n_\text{in}, n_\text{out}, (n_\text{in}+n_\text{out})/2\}",
    summary="The general scheme the named ones configure: Var(W) = scale / fan.",
    reference="Keras VarianceScaling; Glorot & Bengio 2010; He et al. 2015",
)

GAIN = Param("gain", 1.0, "multiplies the std", low=0)
for dist, law in (
    ("uniform", r"\mathcal{U}(-b, b),\ b = g\sqrt{6/(n_\text{in}+n_\text{out})}"),
    ("normal", r"\mathcal{N}(0, \sigma^2)"),
):
    _declare(
        f"xavier_{dist}",
        aliases=(f"glorot_{dist}",),
        distribution=dist,
        mode="fan_avg",
        scale=lambda p: p["gain"] ** 2,
        params=(GAIN,),
        formula=rf"W \sim {law},\ " + VAR + r"\frac{2 g^2}{n_\text{in} + n_\text{out}}",
        summary="Keeps activation and gradient variance for symmetric, near-linear units (tanh "
        "at small inputs); halves the signal per layer under ReLU.",
        torch_fn=getattr(torch.nn.init, f"xavier_{dist}_"),
        reference="Glorot & Bengio 2010",
    )

NONLINEARITY = Param(
    "nonlinearity",
    "leaky_relu",
    "torch.nn.init.calculate_gain's name",
    choices=("leaky_relu", "relu", "linear", "sigmoid", "tanh", "selu"),
)
for dist in ("uniform", "normal"):
    _declare(
        f"he_{dist}",
        aliases=(f"kaiming_{dist}",),
        distribution=dist,
        mode=None,
        scale=lambda p: torch.nn.init.calculate_gain(p["nonlinearity"], p["a"]) ** 2,
        params=(Param("a", 0.0, "negative slope of the leaky ReLU"), MODE, NONLINEARITY),
        formula=VAR + r"\frac{2}{(1 + a^2)\, n}\ \ (\text{ReLU: } 2/n_\text{in})",
        summary="Preserves the signal through ReLU layers: doubles Xavier's variance to make up "
        "for the half of the inputs ReLU zeroes.",
        torch_fn=getattr(torch.nn.init, f"kaiming_{dist}_"),
        reference="He, Zhang, Ren & Sun 2015",
    )

for dist in ("uniform", "normal"):
    _declare(
        f"lecun_{dist}",
        distribution=dist,
        mode="fan_in",
        scale=lambda p: 1.0,
        formula=VAR + r"\frac{1}{n_\text{in}}",
        summary="Unit-variance pre-activations for unit-variance inputs; with SELU the network "
        "self-normalizes (Keras and JAX draw lecun_normal from a truncated normal).",
        reference="LeCun, Bottou, Orr & Müller 1998; Klambauer et al. 2017",
    )


def _uniform_fan_in_bias(bias: Tensor, *, fan_in: int, generator=None, **_: Any) -> Tensor:
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return bias.uniform_(-bound, bound, generator=generator)


def _uniform_fan_in_bias_moments(fan_in: int, **_: Any) -> tuple[float, float]:
    return 0.0, (1 / (3 * fan_in) if fan_in > 0 else 0.0)


_declare(
    "torch_default",
    aliases=("pytorch_default", "default"),
    distribution="uniform",
    mode="fan_in",
    scale=lambda p: 1 / 3,
    bias=_uniform_fan_in_bias,
    bias_moments=_uniform_fan_in_bias_moments,
    formula=r"W, b \sim \mathcal{U}\big(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}}\big),\ "
    + VAR
    + r"\frac{1}{3 n_\text{in}}",
    summary="What nn.Linear and nn.Conv use when nobody chooses: kaiming_uniform_(a=sqrt(5)), a "
    "third of LeCun's variance -- the signal shrinks with depth.",
    torch_fn=lambda t, generator=None: torch.nn.init.kaiming_uniform_(
        t, a=math.sqrt(5), generator=generator
    ),
    reference="torch.nn.Linear.reset_parameters",
)


def _auto_check(p: dict[str, Any]) -> str | None:
    if p["activation"] is None:
        return "derives its scale from an activation; pass activation='relu' (or any catalog name)"
    ACTIVATIONS.get(p["activation"]).bind(p["activation_params"] or {})  # raises on bad input
    return None


def _choice(p: dict[str, Any]) -> AutoChoice | None:
    """auto's mean-field choice; ``None`` for vector activations, which the theory cannot model
    (they keep the variance-preserving gain)."""
    info = ACTIVATIONS.get(p["activation"])
    if info.kind != "elementwise":
        return None
    return auto_choice(info, p["activation_params"] or {})


def _auto_scale(p: dict[str, Any]) -> float:
    choice = _choice(p)
    if choice is None:
        return gain(p["activation"], **(p["activation_params"] or {})) ** 2
    return choice.sigma_w2


def _auto_bias_moments(fan_in: int, **p: Any) -> tuple[float, float]:
    choice = _choice(p)
    return 0.0, (choice.sigma_b2 if choice is not None else 0.0)


def _auto_bias(bias: Tensor, *, fan_in: int, generator=None, **p: Any) -> Tensor:
    var = _auto_bias_moments(fan_in, **p)[1]
    return bias.normal_(0.0, math.sqrt(var), generator=generator) if var > 0 else bias.zero_()


_declare(
    "auto",
    aliases=("variance_preserving",),
    distribution=None,
    mode=None,
    scale=_auto_scale,
    bias=_auto_bias,
    bias_moments=_auto_bias_moments,
    uses_activation=True,
    params=(
        Param("activation", None, "catalog activation the layer feeds", kind=object),
        Param("activation_params", None, "its parameters, a mapping", kind=object),
        MODE,
        Param("distribution", "normal", "shape of the distribution", choices=DISTRIBUTIONS),
    ),
    check=_auto_check,
    formula=VAR + r"\frac{\sigma_w^2}{n_\text{in}},\ b \sim \mathcal{N}(0, \sigma_b^2):\ "
    r"q^* = \sigma_w^2 \mathbb{E}[f(h)^2] + \sigma_b^2 \text{ stable},\ "
    r"\chi = \sigma_w^2 \mathbb{E}[f'(h)^2] \to 1",
    summary="Depth-stable for any elementwise catalog activation: sigma_w^2 and sigma_b^2 are "
    "searched with mean-field theory so that the variance map has a stable fixed point q* "
    "and chi(q*) is as close to 1 as stability allows (He for ReLU-like functions, the edge "
    "of chaos for tanh); `actlab.init.auto_choice(name)` says what it chose and whether it "
    "keeps signal and gradients within [1/2, 2] over 50 layers. Vector activations keep the "
    "variance-preserving gain 1/E[f(z)^2].",
    reference="He et al. 2015; Poole et al. 2016; Schoenholz et al. 2017",
)
