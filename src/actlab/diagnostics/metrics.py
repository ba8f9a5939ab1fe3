"""Pure metric maths for diagnostics, for one network or a stack of K networks at once.

Layout convention. Activations, pre-activations and derivatives come as ``[..., N, F]``: ``N``
examples and ``F`` units; any leading dims index *members* (networks trained side by side).
Every function reduces over the last two dims and returns a tensor of shape ``[...]`` -- 0-d for
one network, ``[K]`` for K stacked ones -- so one call on a stack equals K separate calls. A
convolutional feature map ``[B, C, *spatial]`` is passed as ``[B * prod(spatial), C]`` (see
:func:`examples_by_units`): a channel is one unit, each position of each image one example.

Weights, gradients and updates come as ``[*members, *param_shape]`` with ``member_dims`` the
number of leading member dims (0 for a plain tensor, 1 for stacked ``[K, ...]`` weights).

>>> x = torch.tensor([[0.0, 2.0], [0.0, 2.0]])  # 2 examples, 2 units
>>> float(dead_fraction(x))  # unit 0 is zero on both examples
0.5
>>> [float(v) for v in moments(x)]
[1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.optim.introspect import effective_lr

__all__ = [
    "INACTIVE_THRESHOLD",
    "SATURATION_THRESHOLD",
    "dead_fraction",
    "effective_lr",
    "examples_by_units",
    "gradient_ratio",
    "inactive_fraction",
    "moments",
    "norm",
    "peak_of",
    "peak_slope",
    "quantiles",
    "saturation_fraction",
    "update_ratio",
]

SATURATION_THRESHOLD = 0.05
"""|f'(z)| below which an entry counts as saturated: it passes back under 5% of the gradient.

A fifth of the sigmoid's largest slope (0.25, at z = 0), reached at |z| ~ 2.9 for the sigmoid and
|z| ~ 2.2 for tanh, where both curves have visibly flattened. Units at N(0, 1) pre-activations
are almost never below it (0.4% for sigmoid), units at N(0, 10^2) mostly are (77%)."""


INACTIVE_THRESHOLD = 0.1
"""|f'(z)| at most this fraction of the activation's largest slope ``max |f'|``: the low-gradient
region where a unit counts as *inactive* (see :func:`inactive_fraction`).

Computed per activation from its own derivative, never typed per activation: for ReLU the region
is ``z <= 0`` (f' = 0, so inactive = dead), for Leaky ReLU ``z < 0`` (f' = 0.01, 1% of the peak:
the unit is not dead, but passes back a hundredth of the gradient), for the sigmoid
``|z| > 3.4`` (f' <= 0.025) and for tanh ``|z| > 1.8`` (f' <= 0.1)."""

PEAK_GRID = torch.cat(
    [torch.linspace(-15.0, 15.0, 30001, dtype=torch.float64), torch.tensor([-1e4, 1e4]).double()]
)
"""Where :func:`peak_slope` looks for ``max |f'|``: the grid and far points on which
:func:`actlab.activations.properties.compute` finds ``max_abs_df``."""


def _check_batch(x: Tensor, what: str) -> None:
    if x.dim() < 2:
        raise ActlabError(f"{what}: expected [..., examples, units], got shape {tuple(x.shape)}")
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ActlabError(f"{what}: no examples or no units in shape {tuple(x.shape)}")


def _real(x: Tensor) -> Tensor:
    """Statistics in at least float32 (half-precision sums lose too much)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.to(torch.float32)


def _fraction(mask: Tensor, like: Tensor) -> Tensor:
    return mask.to(_real(like).dtype if like.is_floating_point() else torch.float32)


def examples_by_units(x: Tensor, member_dims: int = 0) -> Tensor:
    """Reshape a layer's output to ``[*members, examples, units]``, units on the channel axis.

    ``[*m, B, F]`` stays as is; ``[*m, B, C, *spatial]`` becomes ``[*m, B * prod(spatial), C]``
    (each position of each example is one example of channel ``C``); ``[*m, F]`` (one unbatched
    example) becomes ``[*m, 1, F]``.
    """
    rest = x.dim() - member_dims
    if rest < 1:
        raise ActlabError(f"no example/unit dims in shape {tuple(x.shape)}")
    if rest == 1:
        return x.unsqueeze(-2)
    if rest == 2:
        return x
    channels = x.shape[member_dims + 1]
    return x.movedim(member_dims + 1, -1).reshape(*x.shape[:member_dims], -1, channels)


def moments(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and (population) standard deviation over all examples and units.

    ``mean = sum_{n,f} x_nf / (N F)``, ``std = sqrt(sum_{n,f} (x_nf - mean)^2 / (N F))``: the
    spread of the layer's signal, pooled over units, with no Bessel correction (N F is large, and
    the exact form makes hand-checked values simple).

    Args:
        x: ``[..., N, F]``.

    Returns:
        ``(mean, std)``, each of shape ``[...]``.
    """
    _check_batch(x, "moments")
    x = _real(x.detach())
    return x.mean(dim=(-2, -1)), x.std(dim=(-2, -1), correction=0)


def dead_fraction(output: Tensor, grad: Tensor | None = None) -> Tensor:
    """Fraction of units that are dead on the whole batch.

    A unit is dead when its output is exactly zero on every example: ``mean_f prod_n [y_nf = 0]``
    (a ReLU unit whose pre-activation is negative for every input, so no gradient reaches its
    weights). Given ``grad`` -- the loss gradient wrt the pre-activation, same shape -- a unit is
    dead when that gradient is exactly zero on every example instead, which also catches units
    stuck on a flat part that is not at zero (ReLU6 above its cap, hardtanh).

    Args:
        output: ``[..., N, F]`` activations.
        grad: optional ``[..., N, F]`` gradients wrt the pre-activations.

    Returns:
        ``[...]``, in [0, 1].
    """
    _check_batch(output, "dead_fraction")
    source = output
    if grad is not None:
        if grad.shape != output.shape:
            raise ActlabError(
                f"dead_fraction: grad {tuple(grad.shape)} and output {tuple(output.shape)} "
                "differ in shape"
            )
        source = grad
    dead = (source.detach() == 0).all(dim=-2)
    return _fraction(dead, output).mean(dim=-1)


def saturation_fraction(derivative: Tensor, threshold: float = SATURATION_THRESHOLD) -> Tensor:
    """Fraction of (example, unit) entries where the activation is saturated: ``|f'(z)| < t``.

    ``mean_{n,f} [|f'(z_nf)| < threshold]``. The caller computes ``f'(z)`` on the layer's
    pre-activations, e.g. ``ACTIVATIONS.get("sigmoid").df(z)``. See :data:`SATURATION_THRESHOLD`
    for the default (0.05). For ReLU-like functions the flat side counts too; the findings judge
    saturation only for activations that flatten on both sides (sigmoid, tanh, ...).

    Args:
        derivative: ``[..., N, F]`` values of ``f'(z)``.
        threshold: a finite number >= 0.

    Returns:
        ``[...]``, in [0, 1].
    """
    _check_batch(derivative, "saturation_fraction")
    if not (threshold >= 0 and threshold < float("inf")):
        raise ActlabError(f"saturation threshold={threshold} must be a finite number >= 0")
    saturated = derivative.detach().abs() < threshold
    return _fraction(saturated, derivative).mean(dim=(-2, -1))


def peak_slope(
    derivative: Callable[[Tensor], Tensor],
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> float:
    """``max |f'(z)|`` of an activation's derivative: over ``[-15, 15]`` in steps of 1e-3 and at
    ``+-1e4`` (:data:`PEAK_GRID`, the grid of the catalog's computed ``max_abs_df``).

    Args:
        derivative: ``f'`` as a function of a tensor (the catalog's ``df`` with its parameters,
            or autograd through a torch module), evaluated on a ``[G, 1]`` column of points so
            that per-unit parameters broadcast.
        dtype, device: of the points (a module's own dtype, for autograd through it).

    >>> from actlab.activations import ACTIVATIONS
    >>> peak_slope(ACTIVATIONS.get("sigmoid").df)
    0.25
    """
    grid = PEAK_GRID.to(dtype=dtype, device=device).unsqueeze(-1)
    with torch.no_grad():
        return float(derivative(grid).detach().abs().max())


def peak_of(derivative: Callable[[Tensor], Tensor], z: Tensor) -> float | None:
    """The activation's ``max |f'|`` for the inactive fraction; ``None`` where it cannot be
    found on a column of points (a module whose parameters need the input's channel layout)."""
    try:
        peak = peak_slope(derivative, dtype=z.dtype, device=z.device)
    except RuntimeError:
        return None
    return peak if 0 < peak < float("inf") else None


def inactive_fraction(
    derivative: Tensor, peak: float, relative: float = INACTIVE_THRESHOLD
) -> Tensor:
    """Fraction of units that are inactive on the whole batch: ``|f'(z)| <= relative * peak`` on
    every example, ``mean_f prod_n [|f'(z_nf)| <= relative * peak]``.

    Such a unit passes back at most ``relative`` of the gradient the activation can pass (for
    Leaky ReLU, all its inputs negative: 1%). Units dead at ``f' = 0`` count too, so for ReLU
    this is the dead fraction; see :data:`INACTIVE_THRESHOLD`.

    Args:
        derivative: ``[..., N, F]`` values of ``f'(z)``.
        peak: the activation's ``max |f'|`` (:func:`peak_slope`), a finite number > 0.
        relative: the fraction of the peak, in [0, 1].

    Returns:
        ``[...]``, in [0, 1].

    >>> float(inactive_fraction(torch.tensor([[0.01, 1.0], [0.01, 0.01]]), peak=1.0))
    0.5
    """
    _check_batch(derivative, "inactive_fraction")
    if not (0 < peak < float("inf")) or not (0 <= relative <= 1):
        raise ActlabError(
            f"inactive_fraction: peak={peak} must be finite and > 0, relative={relative} in [0, 1]"
        )
    low = (derivative.detach().abs() <= relative * peak).all(dim=-2)
    return _fraction(low, derivative).mean(dim=-1)


def _flat(t: Tensor, member_dims: int, what: str) -> Tensor:
    if not 0 <= member_dims <= t.dim():
        raise ActlabError(
            f"{what}: member_dims={member_dims} is not in [0, {t.dim()}] for shape {tuple(t.shape)}"
        )
    return _real(t.detach()).reshape(*t.shape[:member_dims], -1)


def norm(t: Tensor, member_dims: int = 0) -> Tensor:
    """Euclidean (Frobenius) norm of each member's tensor: ``sqrt(sum_i t_i^2)``.

    Args:
        t: ``[*members, *param_shape]``.
        member_dims: number of leading member dims.

    Returns:
        ``members`` -shaped tensor (0-d for ``member_dims=0``).
    """
    return torch.linalg.vector_norm(_flat(t, member_dims, "norm"), dim=-1)


def quantiles(t: Tensor, levels: Sequence[float], member_dims: int = 0) -> Tensor:
    """Each member's entries at the given quantile levels (linear interpolation between order
    statistics, as :func:`numpy.quantile`): ``[*members, len(levels)]`` in float64.

    Two neighbouring levels ``p < q`` bound the entries' middle ``q - p`` share, so the values
    are the edges of an equal-mass histogram of the tensor (what TensorBoard draws from them).

    >>> quantiles(torch.arange(5.0), [0.0, 0.5, 1.0]).tolist()
    [0.0, 2.0, 4.0]
    """
    ordered = _flat(t, member_dims, "quantiles").to(torch.float64).sort(dim=-1).values
    n = ordered.shape[-1]
    if n == 0:
        raise ActlabError("quantiles: the tensor has no entries")
    at = torch.tensor([p * (n - 1) for p in levels], dtype=torch.float64, device=ordered.device)
    low = at.floor().long()
    high = torch.clamp(low + 1, max=n - 1)
    below, above = ordered[..., low], ordered[..., high]
    return below + (above - below) * (at - low)  # torch.quantile stops at 2**24 entries


def update_ratio(update: Tensor, weight: Tensor, member_dims: int = 0) -> Tensor:
    """``||dw|| / ||w||``: how far one optimizer step moved a weight tensor, relative to its size.

    The rule of thumb (Karpathy, CS231n) is ~1e-3 per step: much larger and the step overshoots
    (the learning rate is too high), much smaller and training crawls. ``weight`` is the tensor
    *before* the step. A zero weight gives ``inf`` (``nan`` if the update is zero too).

    Args:
        update: ``w_after - w_before``, ``[*members, *param_shape]``.
        weight: ``w_before``, the same shape.
        member_dims: number of leading member dims.
    """
    if update.shape != weight.shape:
        raise ActlabError(
            f"update_ratio: update {tuple(update.shape)} and weight {tuple(weight.shape)} "
            "differ in shape"
        )
    return norm(update, member_dims) / norm(weight, member_dims)


def gradient_ratio(first_norm: Tensor | float, last_norm: Tensor | float) -> Tensor:
    """``||dL/dW_1|| / ||dL/dW_L||``: first to last hidden layer weight-gradient norm.

    Far below 1 the gradient vanishes on its way back (the first layers barely learn); far above
    1 it explodes. ``0 / 0`` (no gradient at all) is ``nan``; ``x / 0`` is ``inf``.

    Args:
        first_norm, last_norm: norms, as numbers or ``[...]`` tensors (one per member).
    """
    first = torch.as_tensor(first_norm, dtype=torch.float64)
    last = torch.as_tensor(last_norm, dtype=torch.float64)
    return first / last
