"""Findings: rules over one run's recorded rows that name what is going wrong, and a health table.

Each rule reads the ``(step, layer, metric, value)`` rows a :class:`~.monitor.Monitor` records
(or the store returns) and, when its threshold is crossed, says so in one sentence carrying the
measured numbers, with advice on what to try:

=======================  =====================================================================
``dying_relu``           a layer's dead fraction (units zero on every example) > ``dead``
``vanishing_gradients``  median over steps of ||dL/dW_1|| / ||dL/dW_L|| (first and last hidden
                         layers) < ``vanishing``
``exploding_gradients``  that ratio > ``exploding``; or a layer's gradient norm grows by more
                         than ``exploding`` times from first to last recorded step; or a
                         non-finite norm or moment
``saturation``           a layer's saturated fraction > ``saturation``, for activations that
                         flatten on both sides (computed property: sigmoid, tanh, hardtanh, ...)
``not_zero_centred``     |mean| / std of activations > ``off_centre`` in most hidden layers
``lr_too_high/low``      median update/weight ratio > ``lr_high`` or < ``lr_low``
``adagrad_decay``        AdaGrad's effective learning rate falls by > ``adagrad_decay`` times
=======================  =====================================================================

Layer rules judge the last recorded step (the network's current state). The learning-rate rules
are skipped when a gradient-flow problem (dying, vanishing, exploding) is found: the update size
then reflects that problem, not the learning rate.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from actlab.activations import ACTIVATIONS, ActivationInfo
from actlab.activations.properties import compute
from actlab.diagnostics import rows as R
from actlab.diagnostics.metrics import gradient_ratio
from actlab.errors import ActlabError
from actlab.optim import OPTIMIZERS

__all__ = ["Finding", "Thresholds", "findings"]


@dataclass(frozen=True)
class Thresholds:
    """When each rule fires.

    Attributes:
        dead: dead fraction of a layer's units. 0.5: once most units are dead the layer has lost
            most of its capacity, and a dead unit gets no gradient to come back.
        vanishing / exploding: first-to-last hidden layer gradient-norm ratio (1e-3 / 1e3):
            three orders of magnitude means the first layers learn 1000x slower (faster) than
            the last at the same learning rate -- no single rate suits both.
        saturation: fraction of (example, unit) entries with |f'(z)| below the monitor's
            saturation threshold. 0.5: most of the signal is then blocked on its way back.
        off_centre: |mean| / std of a layer's outputs. 1: the mean outweighs the spread (sigmoid
            at N(0, 1) inputs: about 2.4; ReLU: 0.68; tanh: 0).
        lr_high / lr_low: median ||dw|| / ||w|| per step. The rule of thumb is ~1e-3
            (Karpathy, CS231n); 100x either side (1e-1: each step moves weights by a tenth of
            their size; 1e-5: a million steps to change them) is far off by any account.
        adagrad_decay: factor by which AdaGrad's effective learning rate may fall (10x) from
            the first to the last recorded step.
    """

    dead: float = 0.5
    vanishing: float = 1e-3
    exploding: float = 1e3
    saturation: float = 0.5
    off_centre: float = 1.0
    lr_high: float = 1e-1
    lr_low: float = 1e-5
    adagrad_decay: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ActlabError(f"threshold {f.name}={value!r} is not a number")
            if not (0 < value < math.inf):
                raise ActlabError(f"threshold {f.name}={value} must be a finite number > 0")
        if self.lr_low >= self.lr_high or self.vanishing >= self.exploding:
            raise ActlabError("thresholds: lr_low must be below lr_high, vanishing below exploding")


@dataclass(frozen=True)
class Finding:
    """One diagnosis: ``code`` (e.g. ``"dying_relu"``), ``severity`` (``"warning"`` or
    ``"info"``), a one-sentence ``message`` with the numbers, ``advice``, and ``evidence``."""

    code: str
    severity: str
    message: str
    advice: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Run:
    frame: R.Frame
    hidden: list[str]
    activation: ActivationInfo | None
    optimizer: str | None
    predicted: float | None
    t: Thresholds

    def last(self, metric: str) -> dict[str, tuple[int, float]]:
        """``{layer: (step, value)}`` at each layer's last recorded step, in layer order."""
        by_layer = self.frame.get(metric, {})
        out = {}
        for layer in R.ordered_layers(by_layer):
            step = max(by_layer[layer])
            out[layer] = (step, by_layer[layer][step])
        return out


def findings(
    rows: R.Rows,
    *,
    activation: str | ActivationInfo | None = None,
    optimizer: Any = None,
    predicted_ratio: float | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[Finding]:
    """Every rule that fires on one run's rows (see the module docstring), warnings first.

    Args:
        rows: ``(step, layer, metric, value)`` tuples or store mappings of one run.
        activation: the hidden layers' catalog activation; the saturation rule needs it
            (``Monitor.activation`` gives it).
        optimizer: a catalog optimizer name, or the optimizer object; the AdaGrad rule needs it.
        predicted_ratio: the first-to-last gradient-norm ratio theory predicts
            (:func:`actlab.theory.predict`), shown beside the measured one.
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
    run = _Run(
        frame=frame,
        hidden=R.hidden_layers({layer for by_layer in frame.values() for layer in by_layer}),
        activation=info,
        optimizer=_optimizer_name(optimizer),
        predicted=predicted_ratio,
        t=thresholds,
    )
    flow = [f for rule in (_dying, _vanishing, _exploding) if (f := rule(run))]
    rules = (_saturation, _off_centre, _adagrad) + (() if flow else (_learning_rate,))
    found = flow + [f for rule in rules if (f := rule(run))]
    return sorted(found, key=lambda f: f.severity != "warning")


# -- the rules -------------------------------------------------------------------------------


def _over(run: _Run, metric: str, threshold: float) -> tuple[dict[str, float], int] | None:
    """The layers whose last recorded ``metric`` exceeds ``threshold`` (layer -> value), and the
    last recorded step; ``None`` if no layer does."""
    last = run.last(metric)
    bad = {layer: v for layer, (_, v) in last.items() if v > threshold}
    if not bad:
        return None
    return bad, max(s for s, _ in last.values())


def _dying(run: _Run) -> Finding | None:
    over = _over(run, R.DEAD, run.t.dead)
    if over is None:
        return None
    bad, step = over
    return Finding(
        "dying_relu",
        "warning",
        f"{_span(bad)}: {_pct(bad.values())} of units dead (zero output on every example) at "
        f"step {step} (threshold {run.t.dead:.0%})",
        "Dead units get no gradient and never recover: use Leaky ReLU (or PReLU/ELU), lower the "
        "learning rate, and use He initialization with zero biases.",
        {"dead_fraction": bad, "step": step, "threshold": run.t.dead},
    )


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


def _gradient_ratios(run: _Run) -> tuple[float, int, str, str] | None:
    """Median over steps of the first/last hidden grad-norm ratio, the step count, the layers."""
    series = ratio_series(run.frame.get(R.GRAD_NORM, {}), run.hidden)
    if series is None:
        return None
    ratios, first, last = series
    return statistics.median(ratios), len(ratios), first, last


def _ratio_text(run: _Run, ratio: float, n: int, first: str, last: str, bound: str) -> str:
    theory = "" if run.predicted is None else f"; theory predicts {run.predicted:.2g}"
    return (
        f"gradient norm ratio {first}/{last} = {ratio:.2g} (median over {n} recorded "
        f"step{'s' * (n != 1)}{theory}; threshold {bound})"
    )


def _vanishing(run: _Run) -> Finding | None:
    found = _gradient_ratios(run)
    if found is None or found[0] >= run.t.vanishing:
        return None
    ratio, n, first, last = found
    return Finding(
        "vanishing_gradients",
        "warning",
        _ratio_text(run, ratio, n, first, last, f"{run.t.vanishing:.0e}"),
        "The first layers barely learn: use a ReLU-family activation, He or 'auto' "
        "initialization, batch normalization, or residual connections.",
        {"ratio": ratio, "predicted_ratio": run.predicted, "steps": n, "layers": [first, last]},
    )


def _exploding(run: _Run) -> Finding | None:
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
        "Clip gradients (by norm), initialize with smaller weights (Xavier/He or 'auto'), lower "
        "the learning rate, or add normalization.",
        evidence,
    )


def _saturation(run: _Run) -> Finding | None:
    if run.activation is None or not saturating(run.activation.name):
        return None
    over = _over(run, R.SATURATION, run.t.saturation)
    if over is None:
        return None
    bad, step = over
    return Finding(
        "saturation",
        "warning",
        f"{_span(bad)}: {_pct(bad.values())} of {run.activation.name} outputs saturated (f' near "
        f"0) at step {step} (threshold {run.t.saturation:.0%})",
        "Pre-activations are too large: scale the initial weights down (Xavier or 'auto'), "
        "standardize the inputs, add batch normalization before the activation, or use a "
        "non-saturating activation (ReLU family).",
        {"saturation_fraction": bad, "step": step, "threshold": run.t.saturation},
    )


def _off_centre(run: _Run) -> Finding | None:
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
    low, high = min(bad.values()), max(bad.values())
    span = f"{low:.2g}" if low == high else f"{low:.2g}-{high:.2g}"
    return Finding(
        "not_zero_centred",
        "info",
        f"{_span(bad)} ({len(bad)} of {len(ratios)}): |mean| / std of activations {span} at the "
        f"last recorded step (threshold {run.t.off_centre:g})",
        "All-positive inputs make the next layer's weight gradients share one sign, so updates "
        "zig-zag: prefer a zero-centred activation (tanh over sigmoid) or batch normalization.",
        {"mean_over_std": bad, "threshold": run.t.off_centre},
    )


def _learning_rate(run: _Run) -> Finding | None:
    values = [
        v
        for series in run.frame.get(R.UPDATE_RATIO, {}).values()
        for v in series.values()
        if math.isfinite(v)
    ]
    if not values:
        return None
    median = statistics.median(values)
    high = median > run.t.lr_high
    if not high and median >= run.t.lr_low:
        return None
    bound = run.t.lr_high if high else run.t.lr_low
    return Finding(
        "lr_too_high" if high else "lr_too_low",
        "warning",
        f"median update/weight ratio {median:.2g} over {len(values)} layer-steps, "
        f"{'above' if high else 'below'} {bound:.0e} (rule of thumb: about 1e-3)",
        "Lower the learning rate about 10x (or add warm-up); large steps also kill ReLU units."
        if high
        else "Raise the learning rate about 10x, or use an adaptive optimizer (Adam).",
        {"median_update_ratio": median, "threshold": bound, "count": len(values)},
    )


def _adagrad(run: _Run) -> Finding | None:
    if run.optimizer != "adagrad":
        return None
    falls, first_step, last_step = {}, None, None
    for layer, series in run.frame.get(R.EFFECTIVE_LR, {}).items():
        steps = [s for s in series if math.isfinite(series[s]) and series[s] > 0]
        if len(steps) >= 2:
            falls[layer] = series[steps[0]] / series[steps[-1]]
            first_step, last_step = steps[0], steps[-1]
    if not falls:
        return None
    fall = statistics.median(falls.values())
    if fall <= run.t.adagrad_decay:
        return None
    return Finding(
        "adagrad_decay",
        "warning",
        f"AdaGrad's effective learning rate fell {fall:.3g}x (median over {len(falls)} layers) "
        f"from step {first_step} to step {last_step} (threshold {run.t.adagrad_decay:g}x)",
        "AdaGrad divides by the root of the sum of all past squared gradients, so its steps only "
        "shrink: use RMSProp, AdaDelta or Adam, which average recent squared gradients instead.",
        {"fall": fall, "per_layer": falls, "threshold": run.t.adagrad_decay},
    )


# -- helpers ---------------------------------------------------------------------------------


@cache
def saturating(name: str) -> bool:
    """Flat on both sides far out (computed property): sigmoid, tanh, hardtanh, relu6, ..."""
    return "no" not in compute(name).saturates


def _optimizer_name(optimizer: Any) -> str | None:
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return OPTIMIZERS.get(optimizer).name
    info = getattr(optimizer, "info", None)
    return info.name if info is not None else type(optimizer).__name__.lower()


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


def _span(layers: Iterable[str]) -> str:
    """``layer3``, ``layers 2-4`` or ``layers 1, 3, output``."""
    names = R.ordered_layers(layers)
    if len(names) == 1:
        return names[0]
    numbers = [R.layer_index(n) for n in names]
    if None not in numbers and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"layers {numbers[0]}-{numbers[-1]}"
    return "layers " + ", ".join(n if i is None else str(i) for n, i in zip(names, numbers))


def _pct(values: Iterable[float]) -> str:
    values = list(values)
    low, high = round(100 * min(values)), round(100 * max(values))
    return f"{low}%" if low == high else f"{low}-{high}%"
