"""The loss record and the registry every loss is declared in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor

from actlab._registry import Info, Registry

__all__ = ["LOSSES", "REDUCTIONS", "LossInfo", "TargetForm", "register"]

Fn = Callable[..., Tensor]
TargetForm = Literal["index", "probs", "binary", "real"]
REDUCTIONS = ("none", "mean", "sum", "batchmean")


@dataclass(frozen=True)
class LossInfo(Info):
    """One loss function, declared once.

    Attributes:
        fn: the unreduced loss ``fn(scores, target, **params)``, written with differentiable torch
            ops: one value per sample (``per="sample"``, the class dimension -- the last -- is
            summed or averaged away) or per element (``per="element"``, same shape as scores).
        grad: the analytic gradient of ``fn(...).sum()`` with respect to the scores, same shape as
            the scores. Sample ``i``'s loss depends only on row ``i``, so this is every sample's own
            gradient, stacked. ``None`` for metrics (0-1 loss), which have none.
        formula / gradient: LaTeX for the per-sample loss and for its gradient wrt the scores.
        targets: the target forms accepted -- ``"index"`` (integer class indices for scores
            ``(N, C)``), ``"probs"`` (a distribution per row, same shape as scores), ``"binary"``
            (labels in [0, 1], same shape) or ``"real"`` (regression targets, same shape).
        reduction / reductions: the default reduction and the ones that apply.
        mean_denominator: what ``"mean"`` divides the summed values by, where that is not their
            count (torch's weighted mean for class-weighted cross-entropy).
        torch_fn: the same unreduced loss computed by ``torch.nn.functional`` (for tests and docs),
            rescaled where torch uses another normalization (noted in ``torch_note``).
        task: ``"classification"``, ``"multilabel"``, ``"regression"``, ``"distribution"`` or
            ``"metric"`` (for grouping in docs).
    """

    fn: Fn | None = None
    grad: Fn | None = None
    formula: str = ""
    gradient: str = ""
    per: Literal["sample", "element"] = "sample"
    targets: tuple[TargetForm, ...] = ("index",)
    reduction: str = "mean"
    reductions: tuple[str, ...] = REDUCTIONS
    mean_denominator: Fn | None = None
    torch_fn: Fn | None = None
    torch_note: str = ""
    task: str = "classification"

    @property
    def differentiable(self) -> bool:
        return self.grad is not None


LOSSES: Registry[LossInfo] = Registry("loss")


def register(**fields: Any) -> LossInfo:
    """Declare a loss: ``register(name=..., fn=..., grad=..., ...)``."""
    return LOSSES.register(LossInfo(**fields))
