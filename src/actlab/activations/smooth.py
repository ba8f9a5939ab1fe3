"""Smooth, self-gated activations: GELU, SiLU/Swish, hard-swish, Mish and softplus.

Products ``x * gate(x)`` use :func:`safe_mul` so that the limits at +-inf are returned (0 at
-inf) where ``torch.nn.functional`` gives NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.activations._core import register, safe_mul

_INV_SQRT2 = 1 / math.sqrt(2)
_INV_SQRT2PI = 1 / math.sqrt(2 * math.pi)
_C = math.sqrt(2 / math.pi)
_K = 0.044715


def _phi(x: Tensor) -> Tensor:
    """Standard normal density."""
    return torch.exp(-0.5 * x * x) * _INV_SQRT2PI


def _Phi(x: Tensor) -> Tensor:
    """Standard normal CDF."""
    return 0.5 * (1 + torch.erf(x * _INV_SQRT2))


def gelu(x: Tensor, *, approximate: str = "none") -> Tensor:
    """f(x) = x * Phi(x) (exact) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("tanh")."""
    if approximate == "tanh":
        return safe_mul(0.5 * x, 1 + torch.tanh(_C * (x + _K * x**3)))
    return safe_mul(x, _Phi(x))


def _gelu_df(x: Tensor, approximate: str) -> Tensor:
    if approximate == "tanh":
        t = torch.tanh(_C * (x + _K * x**3))
        du = _C * (1 + 3 * _K * x * x)
        return 0.5 * (1 + t) + safe_mul(0.5 * x * du, 1 - t * t)
    return _Phi(x) + safe_mul(x, _phi(x))


def _gelu_d2f(x: Tensor, approximate: str) -> Tensor:
    if approximate == "tanh":
        t = torch.tanh(_C * (x + _K * x**3))
        du = _C * (1 + 3 * _K * x * x)
        d2u = 6 * _C * _K * x
        return safe_mul(du + 0.5 * x * (d2u - 2 * t * du * du), 1 - t * t)
    return 2 * _phi(x) - safe_mul(x * x, _phi(x))


register(
    name="gelu",
    summary="Smooth ReLU weighted by the Gaussian CDF; the default in Transformers (BERT, GPT).",
    params=(Param("approximate", "none", "'none' (erf) or 'tanh'", choices=("none", "tanh")),),
    formula=r"f(x) = x\,\Phi(x) = \tfrac{x}{2}\left(1 + \operatorname{erf}(x/\sqrt{2})\right)",
    derivative=r"f'(x) = \Phi(x) + x\,\varphi(x)",
    fn=gelu,
    df=_gelu_df,
    d2f=_gelu_d2f,
    torch_fn=lambda x, approximate: F.gelu(x, approximate=approximate),
    reference="Hendrycks & Gimpel 2016, Gaussian Error Linear Units",
)


def silu(x: Tensor, *, beta: float | Tensor = 1.0) -> Tensor:
    """f(x) = x * sigmoid(beta * x). beta = 1 is SiLU; beta may be learned (Swish)."""
    return safe_mul(x, torch.sigmoid(beta * x))


def _silu_df(x: Tensor, beta: float | Tensor) -> Tensor:
    s = torch.sigmoid(beta * x)
    return s + safe_mul(beta * x, s * (1 - s))


def _silu_d2f(x: Tensor, beta: float | Tensor) -> Tensor:
    s = torch.sigmoid(beta * x)
    return beta * (2 * s * (1 - s) + safe_mul(beta * x, s * (1 - s) * (1 - 2 * s)))


register(
    name="silu",
    aliases=("swish",),
    summary="Smooth, non-monotonic self-gated ReLU; found by search to beat ReLU in deep "
    "models (EfficientNet); costs a sigmoid.",
    params=(Param("beta", 1.0, "gate sharpness (learnable)", low=0.0, learnable=True),),
    learnable=("beta",),
    formula=r"f(x) = x\,\sigma(\beta x)",
    derivative=r"f'(x) = \sigma(\beta x) + \beta x\,\sigma(\beta x)(1 - \sigma(\beta x))",
    fn=silu,
    df=_silu_df,
    d2f=_silu_d2f,
    param_grads=(
        ("beta", lambda x, beta: safe_mul(x * x, (s := torch.sigmoid(beta * x)) * (1 - s))),
    ),
    torch_fn=lambda x, beta: F.silu(x) if beta == 1.0 else x * torch.sigmoid(beta * x),
    reference="Ramachandran, Zoph & Le 2017, Searching for Activation Functions; "
    "Elfwing et al. 2018",
)


def hardswish(x: Tensor) -> Tensor:
    """f(x) = x * relu6(x + 3) / 6: a piecewise-polynomial Swish without exp (0 at -inf, where
    the product alone would be -inf * 0)."""
    return torch.where(x.isinf(), torch.clamp(x, min=0), x * torch.clamp(x + 3, 0, 6) / 6)


register(
    name="hardswish",
    aliases=("hard_swish",),
    summary="Swish without the exponential, for mobile CPUs (MobileNetV3).",
    formula=r"f(x) = x\,\frac{\min(\max(x + 3, 0), 6)}{6}",
    derivative=r"f'(x) = \begin{cases} 0 & x \le -3 \\ \frac{2x + 3}{6} & -3 < x < 3 \\ 1 & x "
    r"\ge 3 \end{cases}",
    fn=hardswish,
    df=lambda x: torch.where(
        x <= -3, torch.zeros_like(x), torch.where(x < 3, (2 * x + 3) / 6, torch.ones_like(x))
    ),
    d2f=lambda x: ((x > -3) & (x < 3)).to(x.dtype) / 3,
    kinks=lambda p: (-3.0, 3.0),
    torch_fn=F.hardswish,
    reference="Howard et al. 2019, Searching for MobileNetV3",
)


def softplus(x: Tensor, *, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """f(x) = log(1 + exp(beta x)) / beta, and x itself once beta x > threshold (as in torch)."""
    z = beta * x
    return torch.where(z > threshold, x, torch.log1p(torch.exp(z)) / beta)


register(
    name="softplus",
    summary="Smooth ReLU with positive output; used where outputs must be positive (variances, "
    "rates); its derivative is the sigmoid.",
    params=(
        Param("beta", 1.0, "sharpness", low=0.0, low_open=True),
        Param("threshold", 20.0, "linear above beta*x > threshold", low=0.0, low_open=True),
    ),
    formula=r"f(x) = \tfrac{1}{\beta}\log\left(1 + e^{\beta x}\right)",
    derivative=r"f'(x) = \sigma(\beta x)",
    fn=softplus,
    df=lambda x, beta, threshold: torch.where(
        beta * x > threshold, torch.ones_like(x), torch.sigmoid(beta * x)
    ),
    d2f=lambda x, beta, threshold: torch.where(
        beta * x > threshold,
        torch.zeros_like(x),
        beta * torch.sigmoid(beta * x) * torch.sigmoid(-beta * x),
    ),
    kinks=lambda p: (p["threshold"] / p["beta"],),
    torch_fn=lambda x, beta, threshold: F.softplus(x, beta, threshold),
    reference="Dugas et al. 2001; Glorot, Bordes & Bengio 2011",
)


def _stable_softplus(x: Tensor) -> Tensor:
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


def mish(x: Tensor) -> Tensor:
    """f(x) = x * tanh(softplus(x))."""
    return safe_mul(x, torch.tanh(_stable_softplus(x)))


def _mish_df(x: Tensor) -> Tensor:
    t, s = torch.tanh(_stable_softplus(x)), torch.sigmoid(x)
    return t + safe_mul(x, (1 - t * t) * s)


def _mish_d2f(x: Tensor) -> Tensor:
    t, s = torch.tanh(_stable_softplus(x)), torch.sigmoid(x)
    g = (1 - t * t) * s
    return 2 * g + safe_mul(x, g * (1 - s - 2 * t * s))


register(
    name="mish",
    summary="Smooth, non-monotonic, unbounded above and bounded below, like Swish; used in "
    "YOLOv4; costs exp, log and tanh.",
    formula=r"f(x) = x \tanh(\operatorname{softplus}(x))",
    derivative=r"f'(x) = \tanh(\operatorname{sp}(x)) + x\,\operatorname{sech}^2(\operatorname{sp}"
    r"(x))\,\sigma(x)",
    fn=mish,
    df=_mish_df,
    d2f=_mish_d2f,
    torch_fn=F.mish,
    reference="Misra 2019, Mish: A Self Regularized Non-Monotonic Activation Function",
)
