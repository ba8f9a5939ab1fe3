"""ReLU and its variants: leaky, parametric, randomized, capped, and the exponential-linear units.

Derivatives at the kinks follow PyTorch: ReLU'(0) = 0, LeakyReLU'(0) = slope, ReLU6'(0) =
ReLU6'(6) = 0, ELU'(0) = alpha, CELU'(0) = 1.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.activations._core import register

SLOPE = Param("negative_slope", 0.01, "slope for x < 0", low=0.0, high=1.0)


def _ones(x: Tensor) -> Tensor:
    """A 0-d one of x's dtype: broadcasts inside torch.where without allocating a full tensor."""
    return x.new_ones(())


def _zeros(x: Tensor, **_: Any) -> Tensor:
    return torch.zeros_like(x)


def relu(x: Tensor) -> Tensor:
    """f(x) = max(0, x)."""
    return torch.clamp(x, min=0)


register(
    name="relu",
    summary="The default for hidden layers: cheap, no saturation for x > 0; units whose input "
    "stays negative die (zero gradient) -- try leaky_relu if they do.",
    formula=r"f(x) = \max(0, x)",
    derivative=r"f'(x) = \mathbb{1}[x > 0]",
    fn=relu,
    df=lambda x: (x > 0).to(x.dtype),
    df_out=lambda y: (y > 0).to(y.dtype),
    saves="output",
    d2f=_zeros,
    kinks=lambda p: (0.0,),
    torch_fn=F.relu,
    reference="Nair & Hinton 2010; Glorot, Bordes & Bengio 2011",
)


def leaky_relu(x: Tensor, *, negative_slope: float | Tensor = 0.01) -> Tensor:
    """f(x) = x if x > 0 else negative_slope * x: ReLU with a small gradient for x < 0."""
    return torch.where(x > 0, x, negative_slope * x)


def _leaky_df(x: Tensor, negative_slope: float | Tensor) -> Tensor:
    return torch.where(x > 0, _ones(x), negative_slope * _ones(x))


register(
    name="leaky_relu",
    aliases=("leakyrelu", "lrelu"),
    summary="ReLU that cannot die: a small slope keeps a gradient for negative inputs.",
    params=(SLOPE,),
    formula=r"f(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}",
    derivative=r"f'(x) = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",
    fn=leaky_relu,
    df=_leaky_df,
    d2f=_zeros,
    param_grads=(("negative_slope", lambda x, negative_slope: torch.clamp(x, max=0)),),
    kinks=lambda p: (0.0,),
    torch_fn=lambda x, negative_slope: F.leaky_relu(x, negative_slope),
    reference="Maas, Hannun & Ng 2013",
)


def _channel(weight: float | Tensor, x: Tensor) -> float | Tensor:
    """A per-channel weight [C] viewed along dim 1 of x, as nn.PReLU does; a weight of any other
    shape (e.g. ``[K, 1, 1]``, one slope per stacked member) broadcasts as it is."""
    if isinstance(weight, Tensor) and weight.dim() == 1 and weight.numel() > 1 and x.dim() > 1:
        return weight.reshape(1, -1, *([1] * (x.dim() - 2)))
    return weight


def prelu(x: Tensor, *, weight: float | Tensor = 0.25) -> Tensor:
    """Leaky ReLU whose slope is learned (one per channel, or one shared)."""
    return leaky_relu(x, negative_slope=_channel(weight, x))


register(
    name="prelu",
    summary="Leaky ReLU with the slope learned per channel; helped very deep image models.",
    params=(Param("weight", 0.25, "slope for x < 0 (learned; initial value)", learnable=True),),
    learnable=("weight",),
    learn_by_default=True,
    formula=r"f(x) = \begin{cases} x & x > 0 \\ a_c x & x \le 0 \end{cases}",
    derivative=r"f'(x) = \begin{cases} 1 & x > 0 \\ a_c & x \le 0 \end{cases},\ "
    r"\partial f / \partial a_c = \min(x, 0)",
    fn=prelu,
    df=lambda x, weight: _leaky_df(x, _channel(weight, x)),
    d2f=_zeros,
    param_grads=(("weight", lambda x, weight: torch.clamp(x, max=0)),),
    kinks=lambda p: (0.0,),
    torch_fn=lambda x, weight: F.prelu(x, torch.as_tensor([weight], dtype=x.dtype)),
    reference="He et al. 2015, Delving Deep into Rectifiers",
)

RRELU_RANGE = dict(low=0.0, high=1.0)


def _rrelu_slope(x: Tensor, lower: float, upper: float, training: bool) -> float | Tensor:
    return torch.empty_like(x).uniform_(lower, upper) if training else (lower + upper) / 2


def rrelu(x: Tensor, *, lower: float = 1 / 8, upper: float = 1 / 3, training: bool = False):
    """Leaky ReLU with a random slope ~ U(lower, upper) per element in training, the mean slope
    (lower + upper) / 2 in evaluation."""
    return leaky_relu(x, negative_slope=_rrelu_slope(x, lower, upper, training))


def _rrelu_sample(x: Tensor, p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # Draw the training slopes once, here, so backward reuses them (they are saved beside x).
    return "leaky_relu", {"negative_slope": _rrelu_slope(x, **p)}


register(
    name="rrelu",
    summary="Leaky ReLU with a random slope while training, a regularizer (Kaggle NDSB winner).",
    params=(
        Param("lower", 1 / 8, "lowest slope", **RRELU_RANGE),
        Param("upper", 1 / 3, "highest slope", **RRELU_RANGE),
        Param("training", False, "draw random slopes (True) or use their mean (False)"),
    ),
    check=lambda p: None if p["lower"] <= p["upper"] else "lower must not exceed upper",
    formula=r"f(x) = \begin{cases} x & x \ge 0 \\ a x & x < 0 \end{cases},\ "
    r"a \sim U(l, u)\ \text{(train)},\ a = \tfrac{l+u}{2}\ \text{(eval)}",
    derivative=r"f'(x) = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}",
    fn=rrelu,
    df=lambda x, lower, upper, training: _leaky_df(x, (lower + upper) / 2),
    d2f=_zeros,
    sample=_rrelu_sample,
    kinks=lambda p: (0.0,),
    torch_fn=lambda x, lower, upper, training: F.rrelu(x, lower, upper, training=False),
    reference="Xu et al. 2015, Empirical Evaluation of Rectified Activations",
)


register(
    name="relu6",
    summary="ReLU capped at 6, robust under low-precision arithmetic (MobileNets); no gradient "
    "above the cap.",
    formula=r"f(x) = \min(\max(0, x), 6)",
    derivative=r"f'(x) = \mathbb{1}[0 < x < 6]",
    fn=lambda x: torch.clamp(x, 0, 6),
    df=lambda x: ((x > 0) & (x < 6)).to(x.dtype),
    d2f=_zeros,
    kinks=lambda p: (0.0, 6.0),
    torch_fn=F.relu6,
    reference="Krizhevsky 2010, Convolutional Deep Belief Networks on CIFAR-10",
)


def leaky_relu6(
    x: Tensor, *, negative_slope: float = 0.01, cap: float = 6.0, cap_slope: float = 0.0
) -> Tensor:
    """min(max(a*x, x), cap): leaks below zero like LeakyReLU, saturates at `cap` like ReLU6.

    With ``cap_slope > 0`` it also leaks above the cap: ``cap + cap_slope * (x - cap)``.
    """
    y = torch.where(x > 0, x, negative_slope * x)
    if cap_slope == 0:
        return torch.clamp(y, max=cap)
    return torch.where(x > cap, cap + cap_slope * (x - cap), y)


def _leaky_relu6_df(x: Tensor, negative_slope: float, cap: float, cap_slope: float) -> Tensor:
    inner = torch.where(x > 0, _ones(x), negative_slope * _ones(x))
    return torch.where(x >= cap, cap_slope * _ones(x), inner)


register(
    name="leaky_relu6",
    aliases=("leakyrelu6",),
    summary="Bounded leaky ReLU: no dead units below zero, bounded output above (quantization-"
    "friendly); not in PyTorch.",
    params=(
        SLOPE,
        Param("cap", 6.0, "upper cap", low=0.0, low_open=True),
        Param("cap_slope", 0.0, "slope above the cap (0: flat, as ReLU6)", low=0.0, high=1.0),
    ),
    formula=r"f(x) = \begin{cases} a x & x \le 0 \\ x & 0 < x < c \\ c + b (x - c) & x \ge c "
    r"\end{cases}",
    derivative=r"f'(x) = \begin{cases} a & x \le 0 \\ 1 & 0 < x < c \\ b & x \ge c \end{cases}",
    fn=leaky_relu6,
    df=_leaky_relu6_df,
    d2f=_zeros,
    kinks=lambda p: (0.0, p["cap"]),
    reference="actlab (bounded leaky ReLU; cf. ReLU6, Krizhevsky 2010, and Maas et al. 2013)",
)

ALPHA = Param("alpha", 1.0, "scale of the negative part", low=0.0)


def elu(x: Tensor, *, alpha: float = 1.0) -> Tensor:
    """f(x) = x if x > 0 else alpha * (exp(x) - 1): smooth negative part, mean closer to zero."""
    return torch.where(x > 0, x, alpha * torch.expm1(x))


register(
    name="elu",
    summary="ReLU with a smooth negative saturation at -alpha: pushes mean activations towards "
    "zero and speeds up learning; costs an exp.",
    params=(ALPHA,),
    formula=r"f(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
    derivative=r"f'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}",
    fn=elu,
    df=lambda x, alpha: torch.where(x > 0, _ones(x), alpha * torch.exp(x)),
    d2f=lambda x, alpha: torch.where(x > 0, torch.zeros_like(x), alpha * torch.exp(x)),
    kinks=lambda p: (0.0,),
    torch_fn=lambda x, alpha: F.elu(x, alpha),
    reference="Clevert, Unterthiner & Hochreiter 2016",
)


def celu(x: Tensor, *, alpha: float = 1.0) -> Tensor:
    """f(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): ELU made C1 for every alpha."""
    return torch.where(x > 0, x, alpha * torch.expm1(x / alpha))


register(
    name="celu",
    summary="ELU reparametrized so the derivative is continuous at 0 for any alpha.",
    params=(Param("alpha", 1.0, "scale of the negative part", low=0.0, low_open=True),),
    formula=r"f(x) = \max(0, x) + \min\!\left(0, \alpha (e^{x/\alpha} - 1)\right)",
    derivative=r"f'(x) = \begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 \end{cases}",
    fn=celu,
    df=lambda x, alpha: torch.where(x > 0, _ones(x), torch.exp(x / alpha)),
    d2f=lambda x, alpha: torch.where(x > 0, torch.zeros_like(x), torch.exp(x / alpha) / alpha),
    kinks=lambda p: (0.0,),
    torch_fn=lambda x, alpha: F.celu(x, alpha),
    reference="Barron 2017, Continuously Differentiable Exponential Linear Units",
)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Tensor) -> Tensor:
    """f(x) = scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al."""
    return SELU_SCALE * elu(x, alpha=SELU_ALPHA)


register(
    name="selu",
    summary="Self-normalizing: with LeCun-normal init and no batch norm, activations keep mean 0 "
    "and variance 1 through deep fully connected nets.",
    formula=r"f(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases},"
    r"\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
    derivative=r"f'(x) = \lambda \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}",
    fn=selu,
    df=lambda x: SELU_SCALE * torch.where(x > 0, _ones(x), SELU_ALPHA * torch.exp(x)),
    d2f=lambda x: SELU_SCALE * torch.where(x > 0, torch.zeros_like(x), SELU_ALPHA * torch.exp(x)),
    kinks=lambda p: (0.0,),
    torch_fn=F.selu,
    reference="Klambauer et al. 2017, Self-Normalizing Neural Networks",
)
