"""Points and directions in weight space, as ``{name: Tensor}`` dicts keyed like
``model.named_parameters()``.

Filter normalization (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets", Sec. 4):
draw ``d ~ N(0, I)`` shaped like the weights, then rescale each filter -- one output unit's row of
a ``Linear`` weight, one output channel of a convolution kernel -- to the norm of the same filter
of the weights::

    d_i <- d_i / ||d_i|| * ||theta_i||

so that a step of length 1 moves every filter by its own size, whatever the scale invariance of
the layer after it. As Li et al. do (their ``ignore='biasbn'`` option), one-dimensional
parameters -- biases and the affine parameters of batch or layer norm -- get direction zero: the
landscape is drawn over the filters only. Buffers (BatchNorm's running statistics) never move.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError

__all__ = [
    "Direction",
    "difference",
    "filter_normalize",
    "filter_normalized_direction",
    "flatten",
    "parameters",
    "unflatten",
]

Direction = dict[str, Tensor]


def parameters(model: nn.Module | Mapping[str, Tensor]) -> Direction:
    """The model's trainable parameters as a detached ``{name: Tensor}`` dict (a dict passes
    through, detached)."""
    items = model.items() if isinstance(model, Mapping) else model.named_parameters()
    return {name: p.detach() for name, p in items}


def filter_normalize(direction: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> Direction:
    """Rescale every filter of ``direction`` to the norm of the same filter of ``weights``; zero
    the one-dimensional entries (biases, norm layers). A filter is a slice along dim 0."""
    check_like(direction, weights, "direction")
    out = {}
    for name, d in direction.items():
        w = weights[name]
        if d.dim() <= 1:
            out[name] = torch.zeros_like(d)
            continue
        d_norm = d.flatten(1).norm(dim=1).clamp_min(torch.finfo(d.dtype).tiny)
        w_norm = w.flatten(1).norm(dim=1)
        scale = (w_norm / d_norm).reshape(-1, *([1] * (d.dim() - 1)))
        out[name] = d * scale
    return out


def filter_normalized_direction(
    model: nn.Module | Mapping[str, Tensor], generator: torch.Generator | None = None
) -> Direction:
    """A random Gaussian direction, filter-normalized to ``model``'s weights (Li et al. 2018).

    >>> net = torch.nn.Linear(3, 2)
    >>> d = filter_normalized_direction(net, torch.Generator().manual_seed(0))
    >>> torch.allclose(d["weight"].norm(dim=1), net.weight.norm(dim=1)), d["bias"].abs().sum()
    (True, tensor(0.))
    """
    weights = parameters(model)
    noise = {
        name: torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        for name, w in weights.items()
    }
    return filter_normalize(noise, weights)


def difference(
    a: nn.Module | Mapping[str, Tensor], b: nn.Module | Mapping[str, Tensor]
) -> Direction:
    """``theta_b - theta_a``: the direction of the straight line from ``a`` to ``b``."""
    pa, pb = parameters(a), parameters(b)
    check_like(pb, pa, "second model")
    return {name: pb[name] - pa[name] for name in pa}


def flatten(point: Mapping[str, Tensor]) -> Tensor:
    """All entries as one vector, in the dict's order."""
    return torch.cat([t.reshape(-1) for t in point.values()])


def unflatten(vector: Tensor, like: Mapping[str, Tensor]) -> Direction:
    """The inverse of :func:`flatten` with the names and shapes of ``like``."""
    out, start = {}, 0
    for name, t in like.items():
        out[name] = vector[start : start + t.numel()].reshape(t.shape).to(t.dtype)
        start += t.numel()
    return out


def check_like(point: Mapping[str, Tensor], like: Mapping[str, Tensor], what: str) -> None:
    """Raise one :class:`ActlabError` line unless ``point`` has ``like``'s names and shapes."""
    if set(point) != set(like):
        missing = sorted(set(like) - set(point))
        extra = sorted(set(point) - set(like))
        raise ActlabError(
            f"{what} does not match the model's parameters: missing {missing}, unexpected {extra}"
        )
    for name, t in point.items():
        if tuple(t.shape) != tuple(like[name].shape):
            raise ActlabError(
                f"{what}[{name!r}] has shape {tuple(t.shape)}; the model's parameter has "
                f"{tuple(like[name].shape)}"
            )
