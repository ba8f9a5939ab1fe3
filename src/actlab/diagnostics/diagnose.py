"""Diagnose one run: its per-layer health table, the findings that fire, and the first-to-last
gradient ratio measured beside the one signal-propagation theory predicts for the network.

:func:`diagnose` reads the ``(step, layer, metric, value)`` rows a :class:`Monitor` or a
:class:`StackRecorder` recorded (or a store returned); :func:`predicted_ratio` asks
:func:`actlab.theory.predict` what ``||dL/dW_1|| / ||dL/dW_L||`` a freshly initialized MLP of
that spec should show. ``actlab diagnose`` prints both.

>>> rows = [(1, f"layer{i}", "grad_norm", 8.0 ** -(5 - i)) for i in (1, 2, 3, 4, 5)]
>>> d = diagnose(rows, activation="sigmoid")
>>> d.verdict, round(d.measured_ratio, 6)
('1 warning: vanishing_gradients', 0.000244)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from actlab.activations import ACTIVATIONS
from actlab.activations.properties import gain
from actlab.diagnostics import rows as R
from actlab.diagnostics.findings import (
    Finding,
    Loss,
    Thresholds,
    findings,
    ratio_series,
    saturating,
)
from actlab.diagnostics.table import health_table
from actlab.errors import ActlabError
from actlab.init import weight_variance
from actlab.losses import LOSSES
from actlab.models import ModelSpec
from actlab.theory import critical_weight_variance, predict

__all__ = [
    "Diagnosis",
    "chance_loss",
    "diagnose",
    "measured_ratio",
    "predicted_ratio",
    "reference_grad_norms",
]


@dataclass(frozen=True)
class Diagnosis:
    """One run's diagnosis.

    Attributes:
        label: what was diagnosed (a variant's label).
        table: :func:`~actlab.diagnostics.health_table` rows, input to output.
        findings: every :class:`Finding` that fired, warnings first.
        measured_ratio: median over recorded steps of ``||dL/dW_1|| / ||dL/dW_L||`` (first and
            last hidden layers), ``None`` with fewer than two hidden layers.
        start_ratio: that ratio at the first recorded step (the network as initialized).
        ratio_steps: how many steps the median is over.
        predicted_ratio: what theory predicts at initialization (:func:`predicted_ratio`).
        steps: the recorded steps.
        activation: the hidden layers' catalog activation, if known.
    """

    label: str
    table: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]
    measured_ratio: float | None = None
    start_ratio: float | None = None
    ratio_steps: int = 0
    predicted_ratio: float | None = None
    steps: tuple[int, ...] = ()
    activation: str | None = None

    @property
    def saturating(self) -> bool | None:
        """Whether the activation flattens on both sides (sigmoid, tanh: the saturation rule
        applies); ``False`` for ReLU-like ones, whose saturated fraction is their flat side."""
        return None if self.activation is None else saturating(self.activation)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def healthy(self) -> bool:
        """No warning fired (``info`` findings are remarks, not problems)."""
        return not self.warnings

    @property
    def verdict(self) -> str:
        """``"healthy"`` or ``"2 warnings: dying_relu, lr_too_high"``."""
        if self.healthy:
            return "healthy"
        n = len(self.warnings)
        return f"{n} warning{'s' * (n != 1)}: " + ", ".join(f.code for f in self.warnings)


def measured_ratio(rows: R.Rows) -> tuple[float | None, float | None, int]:
    """``(median, first, n)``: the first-to-last hidden layer gradient-norm ratio over the ``n``
    steps where it is recorded and finite -- its median (the value the findings judge) and its
    value at the first of them; ``(None, None, 0)`` with fewer than two hidden layers."""
    norms = R.frame(rows).get(R.GRAD_NORM, {})
    series = ratio_series(norms, R.hidden_layers(norms))
    if series is None:
        return None, None, 0
    ratios = series[0]
    return statistics.median(ratios), ratios[0], len(ratios)


def diagnose(
    rows: R.Rows,
    *,
    label: str = "",
    activation: str | None = None,
    optimizer: Any = None,
    predicted_ratio: float | None = None,
    reference: Mapping[str, float] | None = None,
    loss: Loss | None = None,
    chance_loss: float | None = None,
    thresholds: Thresholds = Thresholds(),
) -> Diagnosis:
    """The health table, findings and gradient ratios of one run's rows.

    Args:
        rows: one run's ``(step, layer, metric, value)`` rows (tuples or store mappings).
        label: a name for the run.
        activation, optimizer: the hidden layers' activation and the optimizer's name (the
            saturation and AdaGrad rules need them).
        predicted_ratio: theory's first-to-last gradient ratio, shown beside the measured one.
        reference, loss, chance_loss: theory's per-layer gradient norms for a critically
            initialized network (:func:`reference_grad_norms`), the training loss per epoch and
            the chance-level loss (:func:`chance_loss`), for the gradient-scale and
            stuck-at-chance rules (see :func:`~actlab.diagnostics.findings`).
        thresholds: when the rules fire.

    Raises:
        ActlabError: no rows.
    """
    rows = [R.as_row(r) for r in rows]
    if not rows:
        raise ActlabError(f"{label or 'the run'}: no diagnostic rows to diagnose")
    found = findings(
        rows,
        activation=activation,
        optimizer=optimizer,
        predicted_ratio=predicted_ratio,
        reference=reference,
        loss=loss,
        chance_loss=chance_loss,
        thresholds=thresholds,
    )
    median, first, n = measured_ratio(rows)
    return Diagnosis(
        label=label,
        table=tuple(health_table(rows)),
        findings=tuple(found),
        measured_ratio=median,
        start_ratio=first,
        ratio_steps=n,
        predicted_ratio=predicted_ratio,
        steps=tuple(sorted({r[0] for r in rows})),
        activation=None if activation is None else ACTIVATIONS.get(activation).name,
    )


def _plain_mlp(spec: ModelSpec) -> bool:
    plain = spec.normalization == "none" and not spec.residual and not spec.maxout
    if spec.kind != "mlp" or not plain or spec.depth < 2:
        return False
    return ACTIVATIONS.get(spec.activation).kind == "elementwise"


def _grad_norms(
    spec: ModelSpec, sigma_w2: float, var_1: float, batch: int, m_x: float
) -> list[float]:
    """Theory's ``||dL/dW_l||`` per hidden layer at initialization, for weights of variance
    ``sigma_w2 / width`` (``var_1`` in the first layer) and a unit output gradient (``predict``'s
    loss). The first layer reads ``in_features`` inputs of second moment ``m_x``, so
    ``q_1 = in_features var_1 m_x`` and ``||dL/dW_1||^2 = width in_features d_1 m_x / batch``."""
    width, n_in = spec.width, spec.in_features
    layers = predict(
        spec.activation,
        sigma_w2=sigma_w2,
        depth=spec.depth,
        width=width,
        batch=batch,
        input_second_moment=n_in * var_1 * m_x / sigma_w2,
        params=spec.activation_kwargs,
    )
    first = math.sqrt(width * n_in * layers[0].backward_rms ** 2 * m_x / batch)
    return [first, *(layer.grad_norm for layer in layers[1:])]


def predicted_ratio(
    spec: ModelSpec, *, batch: int, input_second_moment: float = 1.0
) -> float | None:
    """Theory's ``||dL/dW_1|| / ||dL/dW_L||`` for ``spec``'s hidden layers at initialization.

    Mean-field (:func:`actlab.theory.predict`) for ``depth`` layers of ``width`` units with
    ``sigma_w^2 = width Var(w)`` from the initializer's formula and zero biases. The first layer
    reads ``in_features`` inputs of second moment ``m_x``, so its pre-activation variance is
    ``q_1 = in_features Var(w_1) m_x`` and ``||dL/dW_1||^2 = width in_features d_1 m_x / batch``
    (``d_1`` the backward second moment theory gives layer 1).

    Returns ``None`` where the theory does not apply: not a plain MLP (a CNN, normalization,
    residual connections, maxout), fewer than two hidden layers, a vector activation, or an
    initializer whose weights do not have mean zero.
    """
    if not _plain_mlp(spec):
        return None
    width, n_in = spec.width, spec.in_features
    kwargs = spec.init_kwargs()
    mean_1, var_1 = weight_variance(spec.init, n_in, width, **kwargs)
    mean_w, var_w = weight_variance(spec.init, width, width, **kwargs)
    if mean_1 != 0 or mean_w != 0 or var_w <= 0:
        return None
    norms = _grad_norms(spec, width * var_w, var_1, batch, input_second_moment)
    return norms[0] / norms[-1] if norms[-1] > 0 else None


def reference_grad_norms(
    spec: ModelSpec, *, batch: int, classes: int, input_second_moment: float = 1.0
) -> dict[str, float] | None:
    """Per hidden layer, the ``||dL/dW_l||`` theory predicts at initialization for ``spec``'s
    network with a *critical* initialization: the gradient scale a healthy network of that
    shape gets, which the ``gradient_scale`` rule compares the measured one with.

    Critical: ``sigma_w^2`` at the edge of chaos (:func:`actlab.theory.critical_weight_variance`:
    2 for ReLU, 1 for tanh), or, for activations without one (the sigmoid), the
    variance-preserving ``gain^2``. The loss is cross-entropy over ``classes`` classes with a
    near-uniform softmax at initialization: each example's score gradient has squared norm
    ``(C - 1) / C``, and an output layer of variance ``1 / width`` hands the last hidden layer
    ``(C - 1) / (C width)`` per unit, which scales theory's unit output gradient.

    Returns ``None`` where the theory does not apply (as :func:`predicted_ratio`).

    >>> from actlab.models import ModelSpec
    >>> spec = ModelSpec(input_shape=(40,), n_outputs=10, depth=3, width=100, activation="relu")
    >>> [round(v, 3) for v in reference_grad_norms(spec, batch=100, classes=10).values()]
    [0.424, 0.671, 0.671]
    """
    if not _plain_mlp(spec) or classes < 2:
        return None
    try:
        sigma_w2 = critical_weight_variance(spec.activation, params=spec.activation_kwargs)
    except ActlabError:
        sigma_w2 = gain(spec.activation, **dict(spec.activation_kwargs)) ** 2
    norms = _grad_norms(spec, sigma_w2, sigma_w2 / spec.in_features, batch, input_second_moment)
    scale = math.sqrt((classes - 1) / (classes * spec.width))
    return {R.layer_name(i + 1): scale * n for i, n in enumerate(norms)}


def chance_loss(loss: str, targets: Tensor) -> float | None:
    """The loss of predicting the class frequencies of ``targets`` (class indices): their
    entropy ``-sum_c p_c ln p_c`` for cross-entropy (``ln C`` for C balanced classes); ``None``
    for other losses.

    >>> round(chance_loss("cross_entropy", torch.arange(10)), 4)  # ln 10
    2.3026
    """
    if LOSSES.get(loss).name != "cross_entropy" or targets.is_floating_point():
        return None
    p = torch.bincount(targets.flatten()).double()
    p = p[p > 0] / p.sum()
    return float(-(p * p.log()).sum())
