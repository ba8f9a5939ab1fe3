"""What an optimizer does, per parameter tensor: its effective learning rate and internal factors.

The *effective learning rate* of one step is the median, over the coordinates with a non-zero
gradient, of ``|update| / |grad|``: the step actually applied per unit of gradient. For gradient
descent it is ``lr``; for AdaGrad it is ``lr / sqrt(sum of g^2)``, which only shrinks -- the
reason AdaGrad stalls on long runs; for Adam it is about ``lr / |g|`` far from the optimum.

The *factors* are the scalars inside the update that are not per-coordinate: bias corrections
``1 - beta^t``, RAdam's ``rho_t`` and rectification ``r_t``, NAdam's momentum schedule ``mu_t``,
AdaGrad's learning-rate decay factor. :func:`inspect` computes both for the step the optimizer is
about to take, without taking it, so diagnostics can record them after ``backward()``.

>>> import torch
>>> from actlab.optim import create
>>> w = torch.nn.Parameter(torch.ones(3))
>>> opt = create("sgd", [w], lr=0.1)
>>> w.grad = torch.tensor([1.0, -2.0, 3.0])
>>> round(inspect(opt)[0].effective_lr, 6)
0.1
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.optim.shell import Optimizer

__all__ = ["StepReport", "effective_lr", "inspect"]


def effective_lr(grad: Tensor, update: Tensor, member_dims: int = 0) -> Tensor:
    """Median of ``|update| / |grad|`` over the coordinates where ``grad != 0`` (NaN if none).

    Args:
        grad, update: ``[*members, *param_shape]``, the same shape.
        member_dims: how many leading dims index stacked members (0 for one tensor, 1 for K
            networks stacked ``[K, ...]``); each member gets its own median.

    Returns:
        float64 tensor of shape ``members`` (0-d for one tensor). For an even count the lower
        of the two middle values, as ``torch.median``.

    >>> float(effective_lr(torch.tensor([1.0, -2.0, 0.0]), torch.tensor([-0.5, 1.0, 3.0])))
    0.5
    """
    if grad.shape != update.shape:
        raise ActlabError(
            f"effective_lr: grad {tuple(grad.shape)} and update "
            f"{tuple(update.shape)} differ in shape"
        )
    if not 0 <= member_dims <= grad.dim():
        raise ActlabError(
            f"member_dims={member_dims} is not in [0, {grad.dim()}] for a tensor of shape "
            f"{tuple(grad.shape)}"
        )
    members = grad.shape[:member_dims]
    g = grad.detach().to(torch.float64).reshape(*members, -1)
    u = update.detach().to(torch.float64).reshape(*members, -1)
    ratio = torch.where(g != 0, u.abs() / g.abs(), torch.nan)
    return ratio.nanmedian(dim=-1).values


@dataclass(frozen=True)
class StepReport:
    """One parameter tensor's next step: where it is, the effective rate and the factors."""

    group: int
    index: int
    shape: tuple[int, ...]
    effective_lr: float
    factors: dict[str, float] = field(default_factory=dict)


def inspect(optimizer: Optimizer) -> list[StepReport]:
    """Effective learning rate and factors of the step ``optimizer.step()`` would take now."""
    reports = []
    for group, index, grad, update, factors in optimizer.preview():
        reports.append(
            StepReport(
                group=group,
                index=index,
                shape=tuple(grad.shape),
                effective_lr=float(effective_lr(grad, update)),
                factors={k: _scalar(v) for k, v in factors.items()},
            )
        )
    return reports


def _scalar(value: Tensor | float) -> float:
    """A factor as one number (the median over stacked members, if it is per-member)."""
    t = torch.as_tensor(value, dtype=torch.float64)
    return float(t.median()) if t.numel() > 1 else float(t)
