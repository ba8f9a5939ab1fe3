"""Initializers that do not scale with the layer: constants, plain uniform / normal / truncated
normal draws, and orthogonal matrices.

Zeros and constants are here to show why nobody uses them for weights: every hidden unit of a
layer computes the same function, receives the same gradient and so stays identical through
training (the symmetry is never broken; with zeros and ReLU no weight behind the output moves at
all). ``tests/test_init_symmetry.py`` trains such a network to show it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.init._core import register

__all__ = ["truncated_normal_moments"]


def _fill(value: float):
    def fn(tensor: Tensor, *, generator: torch.Generator | None = None, **p: Any) -> Tensor:
        with torch.no_grad():
            return tensor.fill_(p.get("val", value))

    return fn


register(
    name="zeros",
    aliases=("zero",),
    fn=_fill(0.0),
    moments=lambda shape: (0.0, 0.0),
    formula=r"W = 0",
    summary="Fails: every unit computes the same thing and gets the same gradient; hidden units "
    "stay identical forever (fine for biases).",
    torch_fn=lambda t, generator=None: torch.nn.init.zeros_(t),
    reference="torch.nn.init.zeros_",
)

register(
    name="constant",
    fn=_fill(0.1),
    moments=lambda shape, val=0.1: (val, 0.0),
    params=(Param("val", 0.1, "the value"),),
    formula=r"W = c",
    summary="Fails like zeros: identical units stay identical through training (symmetry).",
    torch_fn=lambda t, generator=None, val=0.1: torch.nn.init.constant_(t, val),
    reference="torch.nn.init.constant_",
)


def _uniform(tensor: Tensor, *, generator=None, a: float = 0.0, b: float = 1.0) -> Tensor:
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


register(
    name="uniform",
    fn=_uniform,
    moments=lambda shape, a=0.0, b=1.0: ((a + b) / 2, (b - a) ** 2 / 12),
    params=(Param("a", 0.0, "lower bound"), Param("b", 1.0, "upper bound")),
    check=lambda p: None if p["a"] < p["b"] else f"needs a < b, got a={p['a']}, b={p['b']}",
    formula=r"W \sim \mathcal{U}(a, b),\ \operatorname{Var}(W) = (b - a)^2 / 12",
    summary="Fixed bounds: the right scale for one width is wrong for another (torch defaults "
    "U(0, 1) has mean 1/2).",
    torch_fn=torch.nn.init.uniform_,
    reference="torch.nn.init.uniform_",
)


def _normal(tensor: Tensor, *, generator=None, mean: float = 0.0, std: float = 1.0) -> Tensor:
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


register(
    name="normal",
    aliases=("gaussian",),
    fn=_normal,
    moments=lambda shape, mean=0.0, std=1.0: (mean, std**2),
    params=(Param("mean", 0.0, "mean"), Param("std", 1.0, "standard deviation", low=0)),
    formula=r"W \sim \mathcal{N}(\mu, \sigma^2)",
    summary="Fixed std, independent of width: std=1 explodes wide layers; std=0.01 starves "
    "deep ones.",
    torch_fn=torch.nn.init.normal_,
    reference="torch.nn.init.normal_",
)


def _cut(mean: float, std: float, a: float, b: float, bounds: str) -> tuple[float, float]:
    """Absolute cut points: a, b as given, or ``mean + a * std`` when ``bounds="std"``."""
    return (a, b) if bounds == "absolute" else (mean + a * std, mean + b * std)


def _trunc_normal(
    tensor: Tensor, *, generator=None, mean=0.0, std=1.0, a=-2.0, b=2.0, bounds="absolute"
) -> Tensor:
    lo, hi = _cut(mean, std, a, b, bounds)
    return torch.nn.init.trunc_normal_(tensor, mean, std, lo, hi, generator)


def truncated_normal_moments(mean: float, std: float, lo: float, hi: float) -> tuple[float, float]:
    """Mean and variance of N(mean, std^2) conditioned on [lo, hi] (Johnson, Kotz, Balakrishnan)."""
    alpha, beta = (lo - mean) / std, (hi - mean) / std

    def pdf(x: float) -> float:
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    z = cdf(beta) - cdf(alpha)
    d = (pdf(alpha) - pdf(beta)) / z
    xa = alpha * pdf(alpha) if math.isfinite(alpha) else 0.0
    xb = beta * pdf(beta) if math.isfinite(beta) else 0.0
    return mean + std * d, std**2 * (1 + (xa - xb) / z - d**2)


def _trunc_check(p: dict[str, Any]) -> str | None:
    if p["a"] >= p["b"]:
        return f"needs a < b, got a={p['a']}, b={p['b']}"
    lo, hi = _cut(p["mean"], p["std"], p["a"], p["b"], p["bounds"])
    if hi < p["mean"] - 8 * p["std"] or lo > p["mean"] + 8 * p["std"]:
        return f"the interval [{lo:g}, {hi:g}] lies more than 8 std from the mean"
    return None


register(
    name="trunc_normal",
    aliases=("truncated_normal",),
    fn=_trunc_normal,
    moments=lambda shape, mean=0.0, std=1.0, a=-2.0, b=2.0, bounds="absolute": (
        truncated_normal_moments(mean, std, *_cut(mean, std, a, b, bounds))
    ),
    params=(
        Param("mean", 0.0, "mean before truncation"),
        Param("std", 1.0, "std before truncation", low=0, low_open=True),
        Param("a", -2.0, "lower cut"),
        Param("b", 2.0, "upper cut"),
        Param(
            "bounds",
            "absolute",
            "a, b are values ('absolute', as torch) or multiples of std "
            "around the mean ('std', as Keras/JAX)",
            choices=("absolute", "std"),
        ),
    ),
    check=_trunc_check,
    formula=r"W \sim \mathcal{N}(\mu, \sigma^2)\ \text{conditioned on}\ [a, b]"
    r"\ \text{or}\ [\mu + a\sigma, \mu + b\sigma]",
    summary="A normal without its tails; note that torch's a, b are absolute values -- with "
    "std=0.02 the default [-2, 2] cuts nothing -- while Keras cuts at 2 std.",
    torch_fn=torch.nn.init.trunc_normal_,
    reference="torch.nn.init.trunc_normal_",
)


def _orthogonal(tensor: Tensor, *, generator=None, gain: float = 1.0) -> Tensor:
    return torch.nn.init.orthogonal_(tensor, gain, generator)


def _orthogonal_moments(shape, gain: float = 1.0) -> tuple[float, float]:
    # rows (or columns, whichever are fewer) are orthonormal: the squared entries sum to min(r, c)
    rows, cols = shape[0], math.prod(shape[1:])
    return 0.0, gain**2 / max(rows, cols)


register(
    name="orthogonal",
    fn=_orthogonal,
    moments=_orthogonal_moments,
    params=(Param("gain", 1.0, "scale", low=0),),
    formula=r"W = g\,Q,\ Q^\top Q = I\ \text{(or } Q Q^\top = I),\ "
    r"\operatorname{Var}(W) = \frac{g^2}{\max(r, c)}",
    summary="Preserves the norm of every vector exactly in a linear network (all singular values "
    "g): dynamical isometry.",
    torch_fn=torch.nn.init.orthogonal_,
    reference="Saxe, McClelland & Ganguli 2014",
)
