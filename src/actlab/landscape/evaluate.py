"""Loss and accuracy at many points ``theta_0 + sum_k c_k d_k`` of weight space at once.

A chunk of points is one batched model: the parameters are stacked along a new leading dim and
the network runs under ``torch.vmap(torch.func.functional_call(...))``, so a 51 x 51 plane costs
a few dozen batched forward passes instead of 2,601 model loads. The loss is then taken per point
with the caller's ``loss_fn(scores, y)`` (any callable: catalog losses are custom autograd
functions, which ``vmap`` does not trace).

The model is evaluated in ``eval()`` mode on a private copy: dropout is off and batch norm uses
its running statistics, which stay at the trained model's values at every point.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from actlab.errors import ActlabError
from actlab.landscape.directions import check_like, parameters

__all__ = ["LossFn", "Values", "evaluate", "grid"]

LossFn = Callable[[Tensor, Tensor], Tensor]

# Points per batched forward pass: about 2**17 rows (points x examples) per pass, at most 64
# points: a hidden layer of 100 units then holds ~50 MB in float32.
_BUDGET = 2**17
_MAX_CHUNK = 64


@dataclass(frozen=True)
class Values:
    """Loss and accuracy at ``P`` points: ``loss`` ``(P,)``; ``accuracy`` ``(P,)`` in [0, 1], or
    ``None`` when the targets are not class indices."""

    loss: Tensor
    accuracy: Tensor | None


def grid(steps: int, span: float, *, start: float | None = None) -> Tensor:
    """``steps`` evenly spaced coefficients on ``[-span, span]`` (or ``[start, start + span]``),
    in float64. Raises one :class:`ActlabError` line for ``steps < 3`` or ``span <= 0``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 3:
        raise ActlabError(f"steps must be an integer >= 3 (a slice needs 3 points); got {steps!r}")
    if not (isinstance(span, (int, float)) and math.isfinite(span) and span > 0):
        raise ActlabError(f"span must be a finite number > 0; got {span!r}")
    low, high = (-span, span) if start is None else (start, start + span)
    return torch.linspace(low, high, steps, dtype=torch.float64)


def evaluate(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    coords: Tensor,
    directions: Sequence[Mapping[str, Tensor]],
    *,
    center: Mapping[str, Tensor] | None = None,
    dtype: torch.dtype | None = None,
    chunk: int | None = None,
) -> Values:
    """Loss and accuracy at ``center + sum_k coords[p, k] * directions[k]`` for every row ``p``.

    Args:
        model: any ``nn.Module`` mapping ``x`` to scores; its parameters are the default center.
        loss_fn: ``loss_fn(scores, y) -> scalar`` (mean over the data), e.g.
            ``torch.nn.functional.cross_entropy`` or ``actlab.losses.Loss("multiclass_hinge")``.
        x, y: inputs ``(N, ...)`` and targets ``(N, ...)``.
        coords: ``(P, K)`` coefficients, one row per point; ``directions``: ``K`` dicts shaped
            like the model's parameters.
        center: the origin theta_0 (default: the model's own weights).
        dtype: evaluate in this dtype (e.g. ``torch.float64``); default: the model's.
        chunk: points per batched forward pass (default: fitted to the data size).

    Returns :class:`Values` with ``(P,)`` loss and accuracy, in float64 on the CPU.
    """
    net = copy.deepcopy(model).eval()
    if dtype is not None:
        net = net.to(dtype)
    base = parameters(net)
    if center is not None:
        check_like(center, base, "center")
        base = {name: center[name].detach().to(base[name]) for name in base}
    coords = torch.as_tensor(coords, dtype=torch.float64)
    if coords.dim() != 2 or coords.shape[1] != len(directions):
        raise ActlabError(
            f"coords must be (points, {len(directions)}) for {len(directions)} direction(s); "
            f"got shape {tuple(coords.shape)}"
        )
    if x.shape[0] != y.shape[0]:
        raise ActlabError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    for k, d in enumerate(directions):
        check_like(d, base, f"direction {k}")
    first = next(iter(base.values()))
    stacked = {n: torch.stack([d[n].to(first) for d in directions]) for n in base}
    x, y = x.to(first.device, first.dtype if x.is_floating_point() else x.dtype), y.to(first.device)
    classes = not y.is_floating_point() and y.dim() == 1
    chunk = chunk or max(1, min(_MAX_CHUNK, _BUDGET // max(1, x.shape[0])))
    forward = torch.vmap(lambda p: functional_call(net, p, (x,)), in_dims=(0,))
    losses, accs = [], []
    with torch.no_grad():
        for c in coords.split(chunk):
            c = c.to(first)
            params = {n: base[n] + torch.tensordot(c, stacked[n], dims=([1], [0])) for n in base}
            scores = forward(params)
            losses += [float(loss_fn(s, y)) for s in scores]
            if classes:
                accs.append((scores.argmax(-1) == y).double().mean(-1).cpu())
    loss = torch.tensor(losses, dtype=torch.float64)
    return Values(loss, torch.cat(accs) if classes else None)
