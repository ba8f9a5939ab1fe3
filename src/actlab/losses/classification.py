"""Classification losses on logits: softmax cross-entropy, binary and multi-label logistic, KL
divergence, and the 0-1 loss (a metric).

Every loss here starts from raw scores (logits) and never forms a probability it then logs:
``log softmax(z) = z - logsumexp(z)``, and ``logsumexp`` subtracts the row maximum before
exponentiating, so logits 1e4 apart give finite values and gradients. ``log sigmoid`` is written
the same way through a stable softplus.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._registry import Param
from actlab.errors import ActlabError
from actlab.losses._checks import class_weight
from actlab.losses._core import register

__all__ = [
    "binary_logistic",
    "cross_entropy",
    "kl_div",
    "log_softmax",
    "multilabel_logistic",
    "softplus",
    "zero_one",
]


def log_softmax(z: Tensor) -> Tensor:
    """``z - logsumexp(z)`` along the last dim; logsumexp shifts by the max: no overflow."""
    return z - torch.logsumexp(z, dim=-1, keepdim=True)


def softplus(x: Tensor) -> Tensor:
    """``log(1 + e^x) = max(x, 0) + log1p(e^{-|x|})``: exact and finite for every finite x."""
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))


def _soft_targets(scores: Tensor, target: Tensor, weight: object, label_smoothing: float) -> Tensor:
    """The coefficients a_c with L = -sum_c a_c log p_c: one-hot or given probabilities, smoothed
    towards uniform, times the class weight."""
    num_classes = scores.shape[-1]
    if target.is_floating_point():
        q = target
    else:
        q = F.one_hot(target.long(), num_classes).to(scores.dtype)
    if label_smoothing:
        q = (1 - label_smoothing) * q + label_smoothing / num_classes
    w = class_weight("cross_entropy", weight, scores)
    return q if w is None else q * w


def cross_entropy(
    scores: Tensor,
    target: Tensor,
    *,
    weight: object = None,
    label_smoothing: float = 0.0,
    temperature: float = 1.0,
) -> Tensor:
    """Softmax cross-entropy per sample: ``-sum_c a_c log softmax(s / T)_c``.

    ``target`` is class indices ``(N,)`` or probabilities ``(N, C)``; ``a`` is the (smoothed,
    class-weighted) target distribution. Equals ``F.cross_entropy(s / T, ..., reduction="none")``.
    """
    a = _soft_targets(scores, target, weight, label_smoothing)
    return -(a * log_softmax(scores / temperature)).sum(-1)


def _cross_entropy_grad(scores, target, *, weight=None, label_smoothing=0.0, temperature=1.0):
    a = _soft_targets(scores, target, weight, label_smoothing)
    p = torch.softmax(scores / temperature, dim=-1)
    return (p * a.sum(-1, keepdim=True) - a) / temperature


def _cross_entropy_denominator(scores, target, *, weight=None, **_):
    """torch's weighted mean: divide by the summed weights of the true classes (index targets)."""
    w = class_weight("cross_entropy", weight, scores)
    if w is None or target.is_floating_point():
        return None
    return w[target.long()].sum()


register(
    name="cross_entropy",
    aliases=("ce", "softmax_cross_entropy"),
    summary="The default classification loss: negative log-likelihood of the softmax of the "
    "logits; wants ever larger margins (never exactly zero).",
    params=(
        Param("weight", None, "per-class weights, shape (C,)", kind=object),
        Param("label_smoothing", 0.0, "mix the target with uniform", low=0, high=1, high_open=True),
        Param("temperature", 1.0, "divide the logits by T", low=0, low_open=True),
    ),
    formula=r"L = -\sum_c a_c \log \frac{e^{s_c/T}}{\sum_k e^{s_k/T}},\quad "
    r"a_c = w_c\big((1-\varepsilon)\,q_c + \varepsilon/C\big),\ "
    r"q = \text{one-hot}(y)\text{ or probs}",
    gradient=r"\frac{\partial L}{\partial s_j} = \frac{1}{T}\Big(p_j \sum_c a_c - a_j\Big)"
    r" \;=\; p_j - [j = y]\ \text{(one-hot, no weights, } T = 1)",
    fn=cross_entropy,
    grad=_cross_entropy_grad,
    targets=("index", "probs"),
    mean_denominator=_cross_entropy_denominator,
    torch_fn=lambda s, y, weight=None, label_smoothing=0.0, temperature=1.0: F.cross_entropy(
        s / temperature, y, weight=weight, label_smoothing=label_smoothing, reduction="none"
    ),
    torch_note="torch has no temperature; pass s / T",
    reference="Bridle 1990; label smoothing: Szegedy et al. 2016; temperature: Hinton et al. 2015",
)


def _pos_weight(pos_weight: object, scores: Tensor) -> Tensor | float:
    if pos_weight is None:
        return 1.0
    pw = torch.as_tensor(pos_weight, dtype=scores.dtype, device=scores.device)
    if not bool(torch.isfinite(pw).all()) or bool((pw < 0).any()):
        raise ActlabError("binary_logistic: pos_weight must be finite and non-negative")
    try:
        torch.broadcast_shapes(pw.shape, scores.shape)
    except RuntimeError:
        raise ActlabError(
            f"binary_logistic: pos_weight of shape {tuple(pw.shape)} does not broadcast to "
            f"scores of shape {tuple(scores.shape)}"
        ) from None
    return pw


def binary_logistic(scores: Tensor, target: Tensor, *, pos_weight: object = None) -> Tensor:
    """Logistic loss per element: ``-[w y log sigma(s) + (1 - y) log(1 - sigma(s))]``.

    Written as ``w y softplus(-s) + (1 - y) softplus(s)``, finite for any finite s. Equals
    ``F.binary_cross_entropy_with_logits(s, y, pos_weight=w, reduction="none")``.
    """
    pw = _pos_weight(pos_weight, scores)
    return pw * target * softplus(-scores) + (1 - target) * softplus(scores)


def _binary_logistic_grad(scores, target, *, pos_weight=None):
    pw = _pos_weight(pos_weight, scores)
    return torch.sigmoid(scores) * (pw * target + 1 - target) - pw * target


register(
    name="binary_logistic",
    aliases=("binary_cross_entropy_with_logits", "bce_with_logits", "logistic"),
    summary="Two-class (or independent per-output) cross-entropy on logits; pos_weight > 1 "
    "trades precision for recall on an imbalanced positive class.",
    params=(Param("pos_weight", None, "weight of positive examples (float or (C,))", kind=object),),
    formula=r"L = -\big[w\,y \log\sigma(s) + (1-y)\log(1-\sigma(s))\big]"
    r" = \log(1 + e^{-t}),\ t = \pm s \text{ for } y \in \{1, 0\},\ w = 1",
    gradient=r"\frac{\partial L}{\partial s} = \sigma(s)\,(w y + 1 - y) - w y"
    r" \;=\; \sigma(s) - y \ (w = 1)",
    fn=binary_logistic,
    grad=_binary_logistic_grad,
    per="element",
    targets=("binary",),
    torch_fn=lambda s, y, pos_weight=None: F.binary_cross_entropy_with_logits(
        s,
        y,
        pos_weight=None if pos_weight is None else torch.as_tensor(pos_weight, dtype=s.dtype),
        reduction="none",
    ),
    reference="Cox 1958 (logistic regression)",
)


def multilabel_logistic(scores: Tensor, target: Tensor) -> Tensor:
    """Independent logistic loss per label, averaged over the C labels: one value per sample."""
    return binary_logistic(scores, target).mean(-1)


register(
    name="multilabel_logistic",
    aliases=("multilabel_soft_margin",),
    summary="Many correct labels: an independent logistic loss per label, averaged over labels.",
    formula=r"L = -\frac{1}{C}\sum_c \big[y_c \log\sigma(s_c) + (1-y_c)\log(1-\sigma(s_c))\big]",
    gradient=r"\frac{\partial L}{\partial s_j} = \frac{\sigma(s_j) - y_j}{C}",
    fn=multilabel_logistic,
    grad=lambda s, y: _binary_logistic_grad(s, y) / s.shape[-1],
    targets=("binary",),
    torch_fn=lambda s, y: F.multilabel_soft_margin_loss(s, y, reduction="none"),
    task="multilabel",
    reference="the lecture's multi-label logistic loss; torch MultiLabelSoftMarginLoss",
)


def kl_div(scores: Tensor, target: Tensor, *, log_target: bool = False) -> Tensor:
    """KL(target || softmax(scores)) per sample, with 0 log 0 = 0.

    ``target`` holds probabilities, or log-probabilities when ``log_target``. Equals
    ``F.kl_div(log_softmax(s), target, reduction="none", log_target=...).sum(-1)``.
    """
    logq = log_softmax(scores)
    if log_target:
        if target.numel() and float(target.detach().max()) > 0:
            raise ActlabError("kl_div: log_target=True needs log-probabilities (values <= 0)")
        p = torch.exp(target)
        return torch.where(p > 0, p * (target - logq), torch.zeros_like(logq)).sum(-1)
    return (torch.xlogy(target, target) - target * logq).sum(-1)


def _kl_div_grad(scores, target, *, log_target=False):
    p = torch.exp(target) if log_target else target
    return torch.softmax(scores, dim=-1) * p.sum(-1, keepdim=True) - p


register(
    name="kl_div",
    aliases=("kl", "kl_divergence", "kullback_leibler"),
    summary="Distance from a target distribution to softmax(scores); cross-entropy minus the "
    "target's entropy (distillation, soft labels).",
    params=(Param("log_target", False, "target given as log-probabilities"),),
    formula=r"L = \sum_c p_c \log \frac{p_c}{q_c},\quad q = \operatorname{softmax}(s)",
    gradient=r"\frac{\partial L}{\partial s_j} = q_j \sum_c p_c - p_j \;=\; q_j - p_j",
    fn=kl_div,
    grad=_kl_div_grad,
    targets=("probs",),
    reduction="batchmean",
    reductions=("none", "sum", "batchmean"),
    torch_fn=lambda s, y, log_target=False: F.kl_div(
        torch.log_softmax(s, -1), y, reduction="none", log_target=log_target
    ).sum(-1),
    torch_note="torch's kl_div takes log-probabilities, averages over classes too for 'mean', and "
    "returns NaN for a zero probability given as log_target -inf (here: 0)",
    task="distribution",
    reference="Kullback & Leibler 1951",
)


def zero_one(scores: Tensor, target: Tensor) -> Tensor:
    """1 where the prediction is wrong: ``argmax s != y`` (class indices), or ``y s <= 0`` with
    labels y in {0, 1} mapped to {-1, +1} (a zero score decides nothing, so it counts as wrong)."""
    if target.is_floating_point():
        return ((2 * target - 1) * scores <= 0).to(scores.dtype)
    return (scores.argmax(-1) != target).to(scores.dtype)


register(
    name="zero_one",
    aliases=("0_1", "zero_one_loss", "misclassification"),
    summary="The error rate: what the other classification losses stand in for. A metric -- its "
    "gradient is zero almost everywhere, so it cannot train.",
    formula=r"L = \mathbb{1}[\arg\max_c s_c \ne y] \;=\; \mathbb{1}[t \le 0],\ t = y f(x)",
    gradient=r"\text{none (0 almost everywhere)}",
    fn=zero_one,
    targets=("index", "binary"),
    task="metric",
    reference="the lecture's 0-1 loss; Rosasco et al. 2004",
)
