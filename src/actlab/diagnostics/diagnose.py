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
from dataclasses import dataclass
from typing import Any

from actlab.activations import ACTIVATIONS
from actlab.diagnostics import rows as R
from actlab.diagnostics.findings import Finding, Thresholds, findings, ratio_series, saturating
from actlab.diagnostics.table import health_table
from actlab.errors import ActlabError
from actlab.init import weight_variance
from actlab.models import ModelSpec
from actlab.theory import predict

__all__ = ["Diagnosis", "diagnose", "measured_ratio", "predicted_ratio"]


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
    thresholds: Thresholds = Thresholds(),
) -> Diagnosis:
    """The health table, findings and gradient ratios of one run's rows.

    Args:
        rows: one run's ``(step, layer, metric, value)`` rows (tuples or store mappings).
        label: a name for the run.
        activation, optimizer: the hidden layers' activation and the optimizer's name (the
            saturation and AdaGrad rules need them).
        predicted_ratio: theory's first-to-last gradient ratio, shown beside the measured one.
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
    plain = spec.normalization == "none" and not spec.residual and not spec.maxout
    if spec.kind != "mlp" or not plain or spec.depth < 2:
        return None
    if ACTIVATIONS.get(spec.activation).kind != "elementwise":
        return None
    width, n_in = spec.width, spec.in_features
    kwargs = spec.init_kwargs()
    mean_1, var_1 = weight_variance(spec.init, n_in, width, **kwargs)
    mean_w, var_w = weight_variance(spec.init, width, width, **kwargs)
    if mean_1 != 0 or mean_w != 0 or var_w <= 0:
        return None
    sigma_w2 = width * var_w
    layers = predict(
        spec.activation,
        sigma_w2=sigma_w2,
        depth=spec.depth,
        width=width,
        batch=batch,
        input_second_moment=n_in * var_1 * input_second_moment / sigma_w2,
        params=spec.activation_kwargs,
    )
    first = math.sqrt(width * n_in * layers[0].backward_rms ** 2 * input_second_moment / batch)
    last = layers[-1].grad_norm
    return first / last if last > 0 else None
