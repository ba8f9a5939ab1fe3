"""How convex a loss looks along random 1-D slices.

Along each slice ``f_i = L(theta_0 + a_i d)`` the second difference
``D_i = f_{i+1} - 2 f_i + f_{i-1}`` is ``>= 0`` at every point exactly when the slice is convex (up
to rounding). Two numbers sum up many slices:

- ``negative_share``: the share of interior points with ``D_i < -tol`` (0 for a convex loss);
- ``curvature_ratio``: ``min D / max D`` over all slices, the 1-D analogue of Li et al.'s
  ``|lambda_min / lambda_max|`` Hessian ratio; ``>= 0`` (up to ``tol``) for a convex loss,
  clearly negative where the loss bends down.

A linear classifier's multiclass hinge loss is a maximum of affine functions of the weights,
hence convex: its numbers are 0 and >= 0. A network with hidden layers is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.landscape.directions import filter_normalized_direction
from actlab.landscape.evaluate import LossFn, evaluate, grid

__all__ = ["Convexity", "convexity", "curvature"]


@dataclass(frozen=True)
class Convexity:
    """``negative_share`` in [0, 1], ``curvature_ratio`` = min/max second difference, the
    slices' ``alphas`` ``(T,)`` and ``loss`` ``(n_slices, T)``, and the tolerance used."""

    negative_share: float
    curvature_ratio: float
    alphas: Tensor
    loss: Tensor
    tol: float

    @property
    def convex(self) -> bool:
        """No slice bends down anywhere beyond rounding."""
        return self.negative_share == 0.0


def convexity(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    *,
    n_slices: int = 20,
    steps: int = 41,
    span: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    rtol: float = 1e-9,
) -> Convexity:
    """Second differences along ``n_slices`` filter-normalized random slices through ``model``.

    Evaluated in ``dtype`` (float64 by default) so that rounding stays far below the tolerance
    ``tol = rtol * max |L|`` under which a negative second difference counts as zero.
    """
    if isinstance(n_slices, bool) or not isinstance(n_slices, int) or n_slices < 1:
        raise ActlabError(f"n_slices must be an integer >= 1; got {n_slices!r}")
    alphas = grid(steps, span)
    directions = [filter_normalized_direction(model, generator) for _ in range(n_slices)]
    eye = torch.eye(n_slices, dtype=torch.float64)
    coords = (eye[:, None, :] * alphas[None, :, None]).reshape(-1, n_slices)
    loss = evaluate(model, loss_fn, x, y, coords, directions, dtype=dtype).loss
    return curvature(alphas, loss.reshape(n_slices, steps), rtol=rtol)


def curvature(alphas: Tensor, loss: Tensor, *, rtol: float = 1e-9) -> Convexity:
    """The two numbers for given slices ``loss`` ``(n, T)`` at evenly spaced ``alphas`` (e.g.
    the :func:`~actlab.landscape.interpolate` line between two solutions, as ``loss[None]``)."""
    loss = torch.as_tensor(loss, dtype=torch.float64).reshape(-1, len(alphas))
    second = loss[:, 2:] - 2 * loss[:, 1:-1] + loss[:, :-2]
    tol = rtol * float(loss.abs().max())
    share = float((second < -tol).double().mean())
    low, top = float(second.min()), float(second.max())
    ratio = low / top if top > 0 else (float("-inf") if low < -tol else 0.0)
    return Convexity(share, ratio, alphas, loss, tol)
