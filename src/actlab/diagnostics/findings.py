"""Findings: rules over one run's recorded rows that name what is going wrong, and a health table.

Each rule reads the ``(step, layer, metric, value)`` rows a :class:`~.monitor.Monitor` records
(or the store returns) and, when its threshold is crossed, says so in one sentence carrying the
measured numbers, with advice on what to try:

=======================  =====================================================================
``dying_relu``           a layer's dead fraction (units zero on every example) > ``dead``
``inactive_units``       a layer's inactive fraction (units with |f'(z)| <= 0.1 max |f'| on
                         every example) > ``inactive``, in a layer not already reported dead
``vanishing_gradients``  median over steps of ||dL/dW_1|| / ||dL/dW_L|| (first and last hidden
                         layers) < ``vanishing``
``exploding_gradients``  that ratio > ``exploding``; or a layer's gradient norm grows by more
                         than ``exploding`` times from first to last recorded step; or a
                         non-finite norm or moment
``gradient_scale``       at the first recorded step, the hidden layers' median gradient norm
                         over theory's reference for a critically initialized network of the
                         same shape is < ``vanishing`` or > ``exploding``
``stuck_at_chance``      after ``chance_epochs`` epochs the loss is still within ``chance`` of
                         the chance-level loss
``saturation``           a layer's saturated fraction > ``saturation``, for activations that
                         flatten on both sides (computed property: sigmoid, tanh, hardtanh, ...)
``not_zero_centred``     |mean| / std of activations > ``off_centre`` in most hidden layers
``lr_too_high/low``      median update/weight ratio > ``lr_high`` or < ``lr_low``
``effective_lr_decay``   the effective learning rate still falls like a power of the step
                         (slope of log eff. lr vs log step < ``-lr_decay`` over the second half)
=======================  =====================================================================

Layer rules judge the last recorded step (the network's current state). The learning-rate rules
(``lr_too_high/low``, ``effective_lr_decay``) are skipped when a gradient-flow problem (dying,
vanishing, exploding, gradient scale) is found: the update size then reflects that problem, not
the learning rate (an adaptive rate also falls when the gradients it divides by explode). The
training rules live in :mod:`~actlab.diagnostics.findings_training`; thresholds, the finding
record and the advice's initializers in :mod:`~actlab.diagnostics.findings_base`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from actlab.activations import ACTIVATIONS, ActivationInfo
from actlab.diagnostics import findings_training as training
from actlab.diagnostics import rows as R
from actlab.diagnostics.findings_base import (
    Finding,
    Run,
    Thresholds,
    optimizer_name,
    pct,
    saturating,
    span,
    value_range,
)
from actlab.diagnostics.metrics import INACTIVE_THRESHOLD, PEAK_GRID, gradient_ratio
from actlab.errors import ActlabError

__all__ = ["Finding", "Thresholds", "findings", "ratio_series", "saturating"]

Loss = Mapping[int, float] | Sequence[float]
"""Loss per epoch: ``{epoch: loss}`` or a sequence indexed by epoch (0 = before training)."""


def findings(
    rows: R.Rows,
    *,
    activation: str | ActivationInfo | None = None,
    optimizer: Any = None,
    predicted_ratio: float | None = None,
    reference: Mapping[str, float] | None = None,
    loss: Loss | None = None,
    chance_loss: float | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[Finding]:
    """Every rule that fires on one run's rows (see the module docstring), warnings first.

    Args:
        rows: ``(step, layer, metric, value)`` tuples or store mappings of one run.
        activation: the hidden layers' catalog activation; the saturation and inactive-unit
            rules and the advice need it (``Monitor.activation`` gives it).
        optimizer: a catalog optimizer name, or the optimizer object (named in the advice).
        predicted_ratio: the first-to-last gradient-norm ratio theory predicts
            (:func:`actlab.theory.predict`), shown beside the measured one.
        reference: per hidden layer, the weight-gradient norm theory predicts at
            initialization for a critically initialized network of the same shape
            (:func:`actlab.diagnostics.reference_grad_norms`); the gradient-scale rule needs it.
        loss: the training loss per epoch (epoch 0 = before training), and ``chance_loss``
            the loss of predicting the class frequencies (:func:`actlab.diagnostics.chance_loss`):
            the stuck-at-chance rule needs both.
        thresholds: when rules fire.

    >>> rows = [(0, f"layer{i}", "grad_norm", 10.0 ** (i - 5)) for i in (1, 2, 3, 4, 5)]
    >>> [f.code for f in findings(rows)]
    ['vanishing_gradients']
    """
    if not isinstance(thresholds, Thresholds):
        raise ActlabError(f"thresholds must be a Thresholds, got {type(thresholds).__name__}")
    frame = R.frame(rows)
    info = activation
    if isinstance(activation, str):
        info = ACTIVATIONS.get(activation)
    if loss is not None and not isinstance(loss, Mapping):
        loss = dict(enumerate(loss))
    run = Run(
        frame=frame,
        hidden=R.hidden_layers({layer for by_layer in frame.values() for layer in by_layer}),
        activation=info,
        optimizer=optimizer_name(optimizer),
        predicted=predicted_ratio,
        t=thresholds,
        reference=reference,
        loss=loss,
        chance_loss=chance_loss,
    )
    flow_rules = (_dying, _vanishing, _exploding, training.gradient_scale)
    flow = [f for rule in flow_rules if (f := rule(run))]
    rules = (_inactive, _saturation, training.stuck_at_chance, _off_centre)
    rules += () if flow else (training.learning_rate, training.lr_decay)
    found = flow + [f for rule in rules if (f := rule(run))]
    return sorted(found, key=lambda f: f.severity != "warning")


# -- the rules -------------------------------------------------------------------------------


def _dying(run: Run) -> Finding | None:
    over = run.over(R.DEAD, run.t.dead)
    if over is None:
        return None
    bad, step = over
    return Finding(
        "dying_relu",
        "warning",
        f"{span(bad)}: {pct(bad.values())} of units dead (zero output on every example) at "
        f"step {step} (threshold {run.t.dead:.0%})",
        "Dead units get no gradient and never recover: lower the learning rate (large steps push "
        "units negative for good), use Leaky ReLU (or PReLU/ELU)"
        + (f", and re-initialize with {inits} and zero biases." if (inits := run.inits()) else "."),
        {"dead_fraction": bad, "step": step, "threshold": run.t.dead},
    )


def _inactive(run: Run) -> Finding | None:
    if run.activation is None:
        return None
    over = run.over(R.INACTIVE, run.t.inactive)
    if over is None:
        return None
    dead = run.over(R.DEAD, run.t.dead)
    bad, step = over
    bad = {layer: v for layer, v in bad.items() if dead is None or layer not in dead[0]}
    if not bad:
        return None  # reported as dead
    name = run.activation.name
    passing, side = low_gradient_region(name)
    where = {"negative": "negative side", "positive": "positive side", "both": "flat tails"}[side]
    passes = "no gradient" if passing == 0 else f"at most {passing:.0%} of the largest gradient"
    return Finding(
        "inactive_units",
        "warning",
        f"{span(bad)}: {pct(bad.values())} of units inactive at step {step} (threshold "
        f"{run.t.inactive:.0%}): on every probe example their input is on {name}'s {where}, "
        f"where |f'| <= {INACTIVE_THRESHOLD:.0%} of its peak, so they pass {passes} f' can pass",
        _inactive_advice(run, side),
        {"inactive_fraction": bad, "step": step, "passing": passing, "side": side},
    )


def _inactive_advice(run: Run, side: str) -> str:
    inits = run.inits()
    init = f"re-initialize with {inits} and zero biases" if inits else "use zero initial biases"
    if side == "negative":
        return (
            f"Their inputs are negative for every example: lower the learning rate (large steps "
            f"push units there), {init}, add batch normalization before the activation, or use "
            f"an activation whose negative side passes more gradient (leaky_relu with "
            f"negative_slope 0.1-0.3, prelu, elu)."
        )
    scale = f"scale the initial weights down ({inits})" if inits else "scale the weights down"
    return (
        f"Their inputs sit where the activation is flat for every example: {scale}, "
        f"standardize the inputs, add batch normalization before the activation, or lower the "
        f"learning rate."
    )


def _vanishing_advice(run: Run) -> str:
    inits = run.inits()
    if inits:
        return (
            f"The first layers barely learn: use {inits}, batch normalization, or residual "
            f"connections (or a ReLU-family activation)."
        )
    name = run.activation.name
    return (
        f"The first layers barely learn, and no initialization keeps a deep {name} stack's "
        f"gradient (theory: every scale vanishes or explodes): use a ReLU-family activation, "
        f"batch normalization, or residual connections."
    )


@cache
def low_gradient_region(activation: str) -> tuple[float, str]:
    """Where ``|f'(z)| <= 0.1 max |f'|`` (computed on the catalog's f'): the largest gradient
    fraction a unit there still passes (Leaky ReLU: 0.01; ReLU: 0), and the side it lies on
    (``"negative"``, ``"positive"`` or ``"both"``)."""
    info = ACTIVATIONS.get(activation)
    z = PEAK_GRID[:-2]  # the finite grid
    df = info.derivative_of_scalar(z, **info.bind({})).abs()
    peak = float(df.max())
    low = df <= INACTIVE_THRESHOLD * peak
    if peak == 0 or not bool(low.any()):
        return 0.0, "both"
    passing = float(df[low].max()) / peak
    negative, positive = bool((z[low] < 0).any()), bool((z[low] > 0).any())
    return passing, "both" if negative and positive else "negative" if negative else "positive"


def ratio_series(
    norms: dict[str, dict[int, float]], hidden: list[str]
) -> tuple[list[float], str, str] | None:
    """The first-to-last hidden layer weight-gradient-norm ratio at every recorded step where it
    is finite (in step order), and the two layers; ``None`` without two layers or any ratio."""
    layers = [layer for layer in hidden if layer in norms]
    if len(layers) < 2:
        return None
    first, last = norms[layers[0]], norms[layers[-1]]
    ratios = [float(gradient_ratio(first[s], last[s])) for s in sorted(first) if s in last]
    ratios = [r for r in ratios if math.isfinite(r)]
    return (ratios, layers[0], layers[-1]) if ratios else None


def _gradient_ratios(run: Run) -> tuple[float, int, str, str] | None:
    """Median over steps of the first/last hidden grad-norm ratio, the step count, the layers."""
    series = ratio_series(run.frame.get(R.GRAD_NORM, {}), run.hidden)
    if series is None:
        return None
    ratios, first, last = series
    return statistics.median(ratios), len(ratios), first, last


def _ratio_text(run: Run, ratio: float, n: int, first: str, last: str, bound: str) -> str:
    theory = "" if run.predicted is None else f"; theory predicts {run.predicted:.2g}"
    return (
        f"gradient norm ratio {first}/{last} = {ratio:.2g} (median over {n} recorded "
        f"step{'s' * (n != 1)}{theory}; threshold {bound})"
    )


def _vanishing(run: Run) -> Finding | None:
    found = _gradient_ratios(run)
    if found is None or found[0] >= run.t.vanishing:
        return None
    ratio, n, first, last = found
    return Finding(
        "vanishing_gradients",
        "warning",
        _ratio_text(run, ratio, n, first, last, f"{run.t.vanishing:.0e}"),
        _vanishing_advice(run),
        {"ratio": ratio, "predicted_ratio": run.predicted, "steps": n, "layers": [first, last]},
    )


def _exploding(run: Run) -> Finding | None:
    reasons, evidence = [], {}
    found = _gradient_ratios(run)
    if found is not None and found[0] > run.t.exploding:
        reasons.append(_ratio_text(run, *found, f"{run.t.exploding:.0e}"))
        evidence.update(ratio=found[0], predicted_ratio=run.predicted)
    for layer, series in run.frame.get(R.GRAD_NORM, {}).items():
        steps = [s for s in series if math.isfinite(series[s])]
        if len(steps) >= 2 and series[steps[0]] > 0:
            growth = series[steps[-1]] / series[steps[0]]
            if growth > run.t.exploding:
                reasons.append(
                    f"{layer}'s gradient norm grew {growth:.2g}x from step {steps[0]} to "
                    f"step {steps[-1]}"
                )
                evidence.setdefault("growth", {})[layer] = growth
    bad = _non_finite(run.frame)
    if bad:
        step, layer, metric = bad
        reasons.append(f"non-finite {metric} in {layer} at step {step}")
        evidence["non_finite"] = {"step": step, "layer": layer, "metric": metric}
    if not reasons:
        return None
    return Finding(
        "exploding_gradients",
        "warning",
        "; ".join(reasons),
        "Clip gradients (by norm), lower the learning rate, initialize with smaller weights"
        + (f" ({inits})" if (inits := run.inits()) else "")
        + ", or add normalization.",
        evidence,
    )


def _saturation(run: Run) -> Finding | None:
    if run.activation is None or not saturating(run.activation.name):
        return None
    over = run.over(R.SATURATION, run.t.saturation)
    if over is None:
        return None
    bad, step = over
    return Finding(
        "saturation",
        "warning",
        f"{span(bad)}: {pct(bad.values())} of {run.activation.name} outputs saturated (f' near "
        f"0) at step {step} (threshold {run.t.saturation:.0%})",
        "Pre-activations are too large: scale the initial weights down"
        + (f" ({inits})" if (inits := run.inits()) else "")
        + ", standardize the inputs, add batch normalization before the activation, or use a "
        "non-saturating activation (ReLU family).",
        {"saturation_fraction": bad, "step": step, "threshold": run.t.saturation},
    )


def _off_centre(run: Run) -> Finding | None:
    means, stds = run.last(R.ACT_MEAN), run.last(R.ACT_STD)
    ratios = {}
    for layer in run.hidden:
        if layer in means and layer in stds:
            m, s = abs(means[layer][1]), stds[layer][1]
            if s > 0 or m > 0:
                ratios[layer] = m / s if s > 0 else math.inf
    bad = {layer: r for layer, r in ratios.items() if r > run.t.off_centre}
    if not ratios or 2 * len(bad) <= len(ratios):
        return None
    return Finding(
        "not_zero_centred",
        "info",
        f"{span(bad)} ({len(bad)} of {len(ratios)}): |mean| / std of activations "
        f"{value_range(bad.values())} at the last recorded step (threshold {run.t.off_centre:g})",
        "All-positive inputs make the next layer's weight gradients share one sign, so updates "
        "zig-zag: prefer a zero-centred activation (tanh over sigmoid) or batch normalization.",
        {"mean_over_std": bad, "threshold": run.t.off_centre},
    )


# -- helpers ---------------------------------------------------------------------------------


def _non_finite(frame: R.Frame) -> tuple[int, str, str] | None:
    checked = (R.GRAD_NORM, R.WEIGHT_NORM, R.PRE_MEAN, R.PRE_STD, R.ACT_MEAN, R.ACT_STD)
    bad = [
        (step, layer, metric)
        for metric in checked
        for layer, series in frame.get(metric, {}).items()
        for step, value in series.items()
        if not math.isfinite(value)
    ]
    return min(bad) if bad else None
