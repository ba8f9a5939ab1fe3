"""The optimizer's path drawn over the loss of the plane it mostly moves in (Li et al. 2018,
Sec. 7): stack the snapshots' offsets from the final weights, ``M = [theta_i - theta_n]``, take
the first two principal directions of ``M`` (PCA: centred, via SVD), project every snapshot on
them and evaluate the loss on that plane around ``theta_n``. Random directions would show no
motion at all: in millions of dimensions they are nearly orthogonal to the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.landscape.directions import check_like, flatten, parameters, unflatten
from actlab.landscape.evaluate import LossFn
from actlab.landscape.slices import Plane, plane_at

__all__ = ["Path", "path"]


@dataclass(frozen=True)
class Path:
    """``plane`` around the final weights spanned by the two principal directions;
    ``coords`` ``(S, 2)``: every snapshot's coordinates in it (the last is ``(0, 0)``);
    ``explained`` ``(2,)``: the share of the path's variance along each direction."""

    plane: Plane
    coords: Tensor
    explained: Tensor


def path(
    snapshots: Sequence[nn.Module | Mapping[str, Tensor]],
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    *,
    steps: int = 41,
    margin: float = 0.25,
    dtype: torch.dtype | None = None,
) -> Path:
    """Project the training trajectory ``snapshots`` (weights in order; the last is the solution)
    on its two principal directions and evaluate the loss of ``model`` on that plane.

    The grid spans the projected path plus ``margin`` times its extent on every side.
    Raises one :class:`ActlabError` line for fewer than 3 snapshots or mismatched shapes.
    """
    if len(snapshots) < 3:
        raise ActlabError(f"a path needs at least 3 snapshots; got {len(snapshots)}")
    points = [parameters(s) for s in snapshots]
    like = parameters(model)
    for i, p in enumerate(points):
        check_like(p, like, f"snapshot {i}")
    final = flatten(points[-1]).double()
    m = torch.stack([flatten(p).double() - final for p in points])
    _, s, vt = torch.linalg.svd(m - m.mean(0), full_matrices=False)
    explained = (s**2 / (s**2).sum())[:2]
    coords = m @ vt[:2].T
    directions = tuple(unflatten(v, points[-1]) for v in vt[:2])
    axes = []
    for k in range(2):
        low, high = float(coords[:, k].min()), float(coords[:, k].max())
        pad = margin * max(high - low, 1e-12)
        axes.append(torch.linspace(low - pad, high + pad, steps, dtype=torch.float64))
    plane = plane_at(model, loss_fn, x, y, *axes, directions, center=points[-1], dtype=dtype)
    return Path(plane, coords, explained)
