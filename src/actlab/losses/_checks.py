"""Bad-input checks shared by the losses: shapes, dtypes and target ranges, one clear line each."""

from __future__ import annotations

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.losses._core import LossInfo, TargetForm

__all__ = ["check_inputs", "class_weight"]


def check_inputs(
    info: LossInfo, scores: Tensor, target: Tensor, params: dict | None = None
) -> TargetForm:
    """The form of ``target`` (one of ``info.targets``), or an :class:`ActlabError` saying why."""
    name = info.name
    if not isinstance(scores, Tensor) or not isinstance(target, Tensor):
        raise ActlabError(f"{name}: scores and target must be tensors")
    if not scores.is_floating_point():
        raise ActlabError(f"{name}: scores must be floating point, got {scores.dtype}")
    if scores.dim() == 0:
        raise ActlabError(f"{name}: scores must have a batch dimension, got a scalar")
    if scores.shape[0] == 0:
        raise ActlabError(
            f"{name}: the batch is empty (scores of shape {tuple(scores.shape)}); a loss needs "
            "at least one example"
        )
    if target.device != scores.device:
        raise ActlabError(f"{name}: scores are on {scores.device} but target on {target.device}")
    same_shape = target.shape == scores.shape
    if "index" in info.targets and not target.is_floating_point() and not same_shape:
        _check_index(name, scores, target)
        return "index"
    if same_shape and target.is_floating_point():
        if target.dtype != scores.dtype:
            raise ActlabError(
                f"{name}: scores are {_dt(scores)} but target is {_dt(target)}; "
                f"convert one (target.to(scores.dtype))"
            )
        forms = [f for f in ("probs", "binary", "real") if f in info.targets]
        if not forms:
            raise ActlabError(f"{name}: expected {_expected(info, scores)}, got {_desc(target)}")
        if not (params or {}).get("log_target"):  # log-probabilities are checked by the loss
            _check_values(name, forms[0], target)
        return forms[0]
    raise ActlabError(f"{name}: expected {_expected(info, scores)}, got {_desc(target)}")


def _check_index(name: str, scores: Tensor, target: Tensor) -> None:
    if scores.dim() != 2:
        raise ActlabError(
            f"{name}: class-index targets need scores of shape (N, C), got {tuple(scores.shape)}"
        )
    if target.shape != scores.shape[:1]:
        raise ActlabError(
            f"{name}: scores {tuple(scores.shape)} need {scores.shape[0]} class indices, "
            f"got target of shape {tuple(target.shape)}"
        )
    if target.dtype == torch.bool:
        raise ActlabError(f"{name}: class indices must be integers, got bool")
    num_classes = scores.shape[1]
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= num_classes):
        bad = target[(target < 0) | (target >= num_classes)][0].item()
        raise ActlabError(
            f"{name}: target class {bad} is out of range for {num_classes} classes "
            f"(valid: 0..{num_classes - 1})"
        )


def _check_values(name: str, form: TargetForm, target: Tensor) -> None:
    target = target.detach()
    if form in ("probs", "binary") and target.numel():
        finite = bool(torch.isfinite(target).all())
        low, high = float(target.min()), float(target.max())
        top = 1.0 if form == "binary" else float("inf")
        if not finite or low < 0 or high > top:
            what = "labels in [0, 1]" if form == "binary" else "non-negative probabilities"
            raise ActlabError(
                f"{name}: target must hold {what}; found values in [{low:g}, {high:g}]"
            )


def class_weight(name: str, weight: object, scores: Tensor) -> Tensor | None:
    """A per-class weight as a tensor on the scores' device and dtype (or ``None``)."""
    if weight is None:
        return None
    w = torch.as_tensor(weight, dtype=scores.dtype, device=scores.device)
    num_classes = scores.shape[-1]
    if w.shape != (num_classes,):
        raise ActlabError(
            f"{name}: weight must have one value per class ({num_classes}), "
            f"got shape {tuple(w.shape)}"
        )
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ActlabError(f"{name}: weight must be finite and non-negative")
    return w


def _dt(t: Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _desc(t: Tensor) -> str:
    return f"{_dt(t)} target of shape {tuple(t.shape)}"


def _expected(info: LossInfo, scores: Tensor) -> str:
    shape = tuple(scores.shape)
    words = {
        "index": f"integer class indices of shape {shape[:1]}",
        "probs": f"{_dt(scores)} probabilities of shape {shape}",
        "binary": f"{_dt(scores)} labels in [0, 1] of shape {shape}",
        "real": f"a {_dt(scores)} target of shape {shape}",
    }
    return " or ".join(words[f] for f in info.targets)
