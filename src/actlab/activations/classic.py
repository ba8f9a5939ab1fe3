"""The classic activations: identity, step, the sigmoid family and its hard and soft relatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.activations._core import register


def identity(x: Tensor) -> Tensor:
    """f(x) = x. A network of linear layers with this activation is itself one linear map."""
    return x.clone()


register(
    name="identity",
    aliases=("linear",),
    summary="Output layers of regression; between hidden layers it collapses the network to one "
    "linear map, which is why nonlinear activations exist.",
    formula=r"f(x) = x",
    derivative=r"f'(x) = 1",
    fn=identity,
    df=lambda x: torch.ones_like(x),
    d2f=lambda x: torch.zeros_like(x),
    reference="(textbook)",
)


def binary_step(x: Tensor) -> Tensor:
    """f(x) = 1 if x >= 0 else 0: the perceptron's threshold unit (step(0) = 1)."""
    return torch.where(x.isnan(), x, (x >= 0).to(x.dtype))


register(
    name="binary_step",
    aliases=("step", "heaviside"),
    summary="Teaching only: its derivative is zero everywhere, so gradient descent gets no signal "
    "-- the reason activations must be differentiable.",
    formula=r"f(x) = \begin{cases} 1 & x \ge 0 \\ 0 & x < 0 \end{cases}",
    derivative=r"f'(x) = 0 \quad (x \ne 0)",
    fn=binary_step,
    df=lambda x: torch.zeros_like(x),
    d2f=lambda x: torch.zeros_like(x),
    kinks=lambda p: (0.0,),
    reference="McCulloch & Pitts 1943; Rosenblatt 1958",
)


def sigmoid(x: Tensor) -> Tensor:
    """f(x) = 1 / (1 + exp(-x)), the logistic function, in (0, 1)."""
    return torch.sigmoid(x)


register(
    name="sigmoid",
    aliases=("logistic",),
    summary="Output unit for binary probabilities; in hidden layers it saturates and is not "
    "zero-centred, so deep sigmoid nets suffer vanishing gradients.",
    formula=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
    derivative=r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))",
    fn=sigmoid,
    df=lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
    df_out=lambda y: y * (1 - y),
    saves="output",
    d2f=lambda x: (s := torch.sigmoid(x)) * (1 - s) * (1 - 2 * s),
    torch_fn=torch.sigmoid,
    reference="Rumelhart, Hinton & Williams 1986",
)


register(
    name="tanh",
    summary="Zero-centred sigmoid shape, preferred to sigmoid in hidden layers (RNN gates); still "
    "saturates at both ends.",
    formula=r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
    derivative=r"\tanh'(x) = 1 - \tanh^2(x)",
    fn=torch.tanh,
    df=lambda x: 1 - torch.tanh(x) ** 2,
    df_out=lambda y: 1 - y * y,
    saves="output",
    d2f=lambda x: -2 * (t := torch.tanh(x)) * (1 - t * t),
    torch_fn=torch.tanh,
    reference="LeCun et al. 1998, Efficient BackProp",
)


def hardtanh(x: Tensor, *, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """f(x) = clamp(x, min_val, max_val): a piecewise-linear tanh."""
    return torch.clamp(x, min_val, max_val)


register(
    name="hardtanh",
    aliases=("hard_tanh",),
    summary="Cheap piecewise-linear tanh (quantized and low-power models); no gradient outside "
    "[min_val, max_val].",
    params=(Param("min_val", -1.0, "lower clamp"), Param("max_val", 1.0, "upper clamp")),
    check=lambda p: None if p["min_val"] < p["max_val"] else "min_val must be below max_val",
    formula=r"f(x) = \max(m, \min(M, x))",
    derivative=r"f'(x) = \mathbb{1}[m < x < M]",
    fn=hardtanh,
    df=lambda x, min_val, max_val: ((x > min_val) & (x < max_val)).to(x.dtype),
    d2f=lambda x, min_val, max_val: torch.zeros_like(x),
    kinks=lambda p: (p["min_val"], p["max_val"]),
    torch_fn=lambda x, min_val, max_val: F.hardtanh(x, min_val, max_val),
    reference="Collobert 2004",
)


def hardsigmoid(x: Tensor) -> Tensor:
    """f(x) = relu6(x + 3) / 6: a piecewise-linear sigmoid."""
    return torch.clamp(x + 3, 0, 6) / 6


register(
    name="hardsigmoid",
    aliases=("hard_sigmoid",),
    summary="Cheap sigmoid for gates on mobile hardware (MobileNetV3's squeeze-excite).",
    formula=r"f(x) = \frac{\min(\max(x + 3, 0), 6)}{6}",
    derivative=r"f'(x) = \tfrac{1}{6}\,\mathbb{1}[-3 < x < 3]",
    fn=hardsigmoid,
    df=lambda x: ((x > -3) & (x < 3)).to(x.dtype) / 6,
    d2f=lambda x: torch.zeros_like(x),
    kinks=lambda p: (-3.0, 3.0),
    torch_fn=F.hardsigmoid,
    reference="Howard et al. 2019, Searching for MobileNetV3",
)


def softsign(x: Tensor) -> Tensor:
    """f(x) = x / (1 + |x|): like tanh, but approaches its asymptotes polynomially."""
    return torch.where(x.isinf(), x.sign(), x / (1 + x.abs()))


register(
    name="softsign",
    summary="A tanh-like squashing with polynomial tails: saturates more slowly than tanh.",
    formula=r"f(x) = \frac{x}{1 + |x|}",
    derivative=r"f'(x) = \frac{1}{(1 + |x|)^2}",
    fn=softsign,
    df=lambda x: 1 / (1 + x.abs()) ** 2,
    d2f=lambda x: -2 * x.sign() / (1 + x.abs()) ** 3,
    kinks=lambda p: (0.0,),  # f'' jumps from 2 to -2: C1, and quadrature must split here
    torch_fn=F.softsign,
    reference="Bergstra et al. 2009; Glorot & Bengio 2010",
)


def logsigmoid(x: Tensor) -> Tensor:
    """f(x) = log(sigmoid(x)), computed as min(x, 0) - log1p(exp(-|x|)) so it never overflows."""
    return torch.clamp(x, max=0) - torch.log1p(torch.exp(-x.abs()))


register(
    name="logsigmoid",
    aliases=("log_sigmoid",),
    summary="The log-probability of a logistic output: the stable building block of the binary "
    "logistic loss.",
    formula=r"f(x) = \log \sigma(x) = -\log(1 + e^{-x})",
    derivative=r"f'(x) = \sigma(-x)",
    fn=logsigmoid,
    df=lambda x: torch.sigmoid(-x),
    d2f=lambda x: -torch.sigmoid(x) * torch.sigmoid(-x),
    torch_fn=F.logsigmoid,
    reference="(textbook)",
)


register(
    name="tanhshrink",
    summary="x - tanh(x): near zero it suppresses small inputs (cubic), far out it is linear; "
    "used in sparse coding.",
    formula=r"f(x) = x - \tanh(x)",
    derivative=r"f'(x) = \tanh^2(x)",
    fn=lambda x: x - torch.tanh(x),
    df=lambda x: torch.tanh(x) ** 2,
    d2f=lambda x: 2 * (t := torch.tanh(x)) * (1 - t * t),
    torch_fn=F.tanhshrink,
    reference="Gregor & LeCun 2010 (LISTA)",
)
