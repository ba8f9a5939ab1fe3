"""Activations over a whole dimension: softmax and log-softmax with temperature, and maxout.

Their derivative is a Jacobian, not a number per element, so they declare a vector-Jacobian
product (``vjp``) instead of ``df``. For properties and plots each has a one-variable view,
through the same analytic autograd path: softmax of the two logits ``[x, 0]`` (which is
``sigmoid(x / T)``), and maxout of the group ``[x, 0, ..., 0]`` (which is ``relu(x)``, except
that at the tie x = 0 the gradient goes to the first piece, as with ``torch.max``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.activations._autograd import activate
from actlab.activations._core import ACTIVATIONS, register
from actlab.errors import ParameterError

TEMPERATURE = Param("temperature", 1.0, "T: > 1 flattens, < 1 sharpens", low=0.0, low_open=True)
DIM = Param("dim", -1, "dimension to act along", kind=int)


def _shifted(x: Tensor, temperature: float, dim: int) -> Tensor:
    """x / T minus its max along ``dim``; in a row holding +inf, 0 at the +inf entries and -inf
    elsewhere (the limit as those entries grow), where inf - inf would give NaN."""
    z = x / temperature
    top = z.amax(dim, keepdim=True)
    limit = torch.where(z == top, 0.0, -math.inf).to(z.dtype)
    return torch.where(top == math.inf, limit, z - top)


def softmax(x: Tensor, *, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """p_i = exp(x_i / T) / sum_j exp(x_j / T), with the max subtracted first (log-sum-exp trick),
    so logits 1e4 apart give exact one-hot probabilities rather than inf / inf. A row holding
    +inf gets its limit, the mass shared by its +inf entries (torch gives NaN)."""
    e = torch.exp(_shifted(x, temperature, dim))
    return e / e.sum(dim, keepdim=True)


def log_softmax(x: Tensor, *, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """log p_i = x_i / T - logsumexp(x / T), computed with the max subtracted (a row holding
    +inf: its limit, -log k at its k +inf entries and -inf elsewhere)."""
    z = _shifted(x, temperature, dim)
    return z - torch.log(torch.exp(z).sum(dim, keepdim=True))


def _two_logits(name: str):
    def view(x: Tensor, **p) -> Tensor:
        logits = torch.stack([x, torch.zeros_like(x)], -1)
        return activate(logits, ACTIVATIONS.get(name), **{**p, "dim": -1})[..., 0]

    return view


register(
    name="softmax",
    summary="Turns a score vector into class probabilities (output layer); temperature T "
    "controls how peaked they are.",
    params=(TEMPERATURE, DIM),
    kind="vector",
    saves="output",
    formula=r"p_i = \frac{e^{x_i / T}}{\sum_j e^{x_j / T}}",
    derivative=r"\frac{\partial p_i}{\partial x_j} = \frac{1}{T}\, p_i (\delta_{ij} - p_j)",
    fn=softmax,
    vjp=lambda y, g, temperature, dim: y * (g - (g * y).sum(dim, keepdim=True)) / temperature,
    scalar_view=_two_logits("softmax"),
    torch_fn=lambda x, temperature, dim: F.softmax(x / temperature, dim),
    reference="Bridle 1990; Hinton, Vinyals & Dean 2015 (temperature)",
)

register(
    name="log_softmax",
    aliases=("logsoftmax",),
    summary="Log-probabilities for the cross-entropy loss, computed stably via log-sum-exp.",
    params=(TEMPERATURE, DIM),
    kind="vector",
    saves="output",
    formula=r"\log p_i = \frac{x_i}{T} - \log \sum_j e^{x_j / T}",
    derivative=r"\frac{\partial \log p_i}{\partial x_j} = \frac{1}{T} (\delta_{ij} - p_j)",
    fn=log_softmax,
    vjp=lambda y, g, temperature, dim: (g - torch.exp(y) * g.sum(dim, keepdim=True)) / temperature,
    scalar_view=_two_logits("log_softmax"),
    torch_fn=lambda x, temperature, dim: F.log_softmax(x / temperature, dim),
    reference="(textbook); Bridle 1990",
)


def _groups(x: Tensor, pieces: int, dim: int) -> tuple[Tensor, int]:
    d = dim % x.dim()
    if x.shape[d] % pieces:
        raise ParameterError(
            f"maxout: size {x.shape[d]} of dim {dim} is not divisible by pieces={pieces}"
        )
    return x.unflatten(d, (x.shape[d] // pieces, pieces)), d + 1


def maxout(x: Tensor, *, pieces: int = 2, dim: int = -1) -> Tensor:
    """The max over each group of ``pieces`` consecutive features along ``dim``.

    Preceded by a linear layer with ``pieces`` times the outputs (see :class:`actlab.nn.Maxout`),
    it learns a convex piecewise-linear activation.
    """
    g, d = _groups(x, pieces, dim)
    return g.amax(d)


def _maxout_vjp(x: Tensor, grad: Tensor, pieces: int, dim: int) -> Tensor:
    g, d = _groups(x, pieces, dim)
    index = g.argmax(d, keepdim=True)  # ties: the first maximum gets the gradient, as torch.max
    out = torch.zeros_like(g).scatter(d, index, grad.unsqueeze(d))
    return out.flatten(d - 1, d)


def _maxout_view(x: Tensor, pieces: int, dim: int) -> Tensor:
    group = torch.zeros(*x.shape, pieces, dtype=x.dtype, device=x.device)
    group[..., 0] = x
    return activate(group, ACTIVATIONS.get("maxout"), pieces=pieces, dim=-1)[..., 0]


register(
    name="maxout",
    summary="Learns its own convex piecewise-linear activation from k linear pieces; never dies, "
    "but multiplies the layer's parameters by k.",
    params=(Param("pieces", 2, "k: linear pieces per unit", low=1, kind=int), DIM),
    kind="vector",
    formula=r"h_i(x) = \max_{j \in [1, k]} z_{ij},\ z_{ij} = x^\top W_{\cdot ij} + b_{ij}",
    derivative=r"\frac{\partial h_i}{\partial z_{ij}} = \mathbb{1}[j = \arg\max_{j'} z_{ij'}]",
    fn=maxout,
    vjp=_maxout_vjp,
    scalar_view=_maxout_view,
    kinks=lambda p: (0.0,),  # of the one-variable view
    reference="Goodfellow et al. 2013, Maxout Networks",
)
