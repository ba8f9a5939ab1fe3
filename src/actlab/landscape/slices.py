"""1-D and 2-D slices of a loss through weight space (Goodfellow et al. 2015; Li et al. 2018).

    line:         L(theta_0 + a d),                  a in [-span, span]
    interpolate:  L((1 - a) theta_A + a theta_B),    a in [-margin, 1 + margin]
    plane:        L(theta_0 + a d_1 + b d_2),        (a, b) in [-span, span]^2

Random directions are filter-normalized (:func:`filter_normalized_direction`) unless given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.landscape.directions import difference, filter_normalized_direction, parameters
from actlab.landscape.evaluate import LossFn, evaluate, grid

__all__ = ["Plane", "Slice", "interpolate", "line", "plane"]


@dataclass(frozen=True)
class Slice:
    """A 1-D slice: coefficients ``alphas`` ``(T,)``, ``loss`` ``(T,)`` and ``accuracy``
    ``(T,)`` (``None`` for non-class targets)."""

    alphas: Tensor
    loss: Tensor
    accuracy: Tensor | None


@dataclass(frozen=True)
class Plane:
    """A 2-D slice: ``loss[i, j]`` and ``accuracy[i, j]`` at ``alphas[i]`` along ``d_1`` and
    ``betas[j]`` along ``d_2``."""

    alphas: Tensor
    betas: Tensor
    loss: Tensor
    accuracy: Tensor | None


def line(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    direction: Mapping[str, Tensor] | None = None,
    *,
    steps: int = 51,
    span: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
) -> Slice:
    """``L(theta_0 + a d)`` for ``steps`` values of ``a`` in ``[-span, span]``.

    ``theta_0`` is ``model``'s weights; ``direction`` defaults to a filter-normalized random one
    drawn from ``generator``. Raises one :class:`ActlabError` line for ``steps < 3``,
    ``span <= 0`` or a direction shaped unlike the model.

    >>> net = torch.nn.Linear(4, 3)
    >>> x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    >>> s = line(net, torch.nn.functional.cross_entropy, x, y, steps=5)
    >>> s.loss.shape, s.alphas.tolist()
    (torch.Size([5]), [-1.0, -0.5, 0.0, 0.5, 1.0])
    """
    alphas = grid(steps, span)
    if direction is None:
        direction = filter_normalized_direction(model, generator)
    values = evaluate(model, loss_fn, x, y, alphas[:, None], [direction], dtype=dtype)
    return Slice(alphas, values.loss, values.accuracy)


def interpolate(
    model_a: nn.Module,
    model_b: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    *,
    steps: int = 51,
    margin: float = 0.5,
    dtype: torch.dtype | None = None,
) -> Slice:
    """``L((1 - a) theta_A + a theta_B)`` for ``a`` in ``[-margin, 1 + margin]``: a = 0 is
    model A, a = 1 model B. Give A = the initial weights and B = the trained ones for the line
    from initialization to the solution (Goodfellow et al. 2015), or two trained models (two
    seeds, two optimizers) for the barrier between two solutions."""
    if not (isinstance(margin, (int, float)) and margin >= 0):
        raise ActlabError(f"margin must be a number >= 0; got {margin!r}")
    alphas = grid(steps, 1.0 + 2 * margin, start=-margin)
    values = evaluate(
        model_a, loss_fn, x, y, alphas[:, None], [difference(model_a, model_b)], dtype=dtype
    )
    return Slice(alphas, values.loss, values.accuracy)


def plane(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    directions: tuple[Mapping[str, Tensor], Mapping[str, Tensor]] | None = None,
    *,
    steps: int = 51,
    span: float = 1.0,
    center: Mapping[str, Tensor] | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    chunk: int | None = None,
) -> Plane:
    """``L(theta_0 + a d_1 + b d_2)`` on a ``steps x steps`` grid over ``[-span, span]^2``.

    ``directions`` default to two filter-normalized random ones drawn from ``generator``
    (Li et al. 2018). All points are evaluated as batched models (see :func:`evaluate`).
    """
    alphas = grid(steps, span)
    return plane_at(
        model,
        loss_fn,
        x,
        y,
        alphas,
        alphas,
        directions,
        center=center,
        generator=generator,
        dtype=dtype,
        chunk=chunk,
    )


def plane_at(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    alphas: Tensor,
    betas: Tensor,
    directions: tuple[Mapping[str, Tensor], Mapping[str, Tensor]] | None = None,
    *,
    center: Mapping[str, Tensor] | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    chunk: int | None = None,
) -> Plane:
    """:func:`plane` on given coefficient vectors ``alphas`` ``(A,)`` and ``betas`` ``(B,)``."""
    if directions is None:
        weights = parameters(model) if center is None else center
        directions = tuple(filter_normalized_direction(weights, generator) for _ in range(2))
    if len(directions) != 2:
        raise ActlabError(f"a plane needs 2 directions; got {len(directions)}")
    a, b = torch.meshgrid(alphas, betas, indexing="ij")
    coords = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    values = evaluate(
        model, loss_fn, x, y, coords, list(directions), center=center, dtype=dtype, chunk=chunk
    )
    shape = (len(alphas), len(betas))
    acc = None if values.accuracy is None else values.accuracy.reshape(shape)
    return Plane(alphas, betas, values.loss.reshape(shape), acc)
