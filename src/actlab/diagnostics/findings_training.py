"""The training rules of :func:`~actlab.diagnostics.findings`: is the network learning at all
(``stuck_at_chance``, ``gradient_scale``), and is the step size right (``lr_too_high`` /
``lr_too_low``, ``effective_lr_decay``).

Each takes the :class:`~actlab.diagnostics.findings_base.Run` and returns a
:class:`~actlab.diagnostics.findings_base.Finding` or ``None``.
"""

from __future__ import annotations

import math
import statistics

from actlab.diagnostics import rows as R
from actlab.diagnostics.findings_base import Finding, Run, span, value_range

__all__ = ["gradient_scale", "learning_rate", "lr_decay", "stuck_at_chance"]


def gradient_scale(run: Run) -> Finding | None:
    """At the first recorded step (the network as initialized), each hidden layer's gradient
    norm over theory's reference for a critically initialized network of the same shape: the
    median over layers below ``vanishing`` or above ``exploding`` (every layer far off, which
    the first-to-last ratio cannot see when all layers shrink alike)."""
    if not run.reference:
        return None
    norms = run.frame.get(R.GRAD_NORM, {})
    ratios = {}
    for layer in run.hidden:
        series, ref = norms.get(layer), run.reference.get(layer)
        if series and ref and ref > 0 and math.isfinite(value := series[min(series)]):
            ratios[layer] = value / ref
    if not ratios:
        return None
    median = statistics.median(ratios.values())
    small = median < run.t.vanishing
    if not small and median <= run.t.exploding:
        return None
    step = min(min(norms[layer]) for layer in ratios)
    bound = run.t.vanishing if small else run.t.exploding
    inits = run.inits()
    if small:
        advice = (
            "The weights are too small for the gradient to reach them: initialize with "
            + (inits if inits else "a scale that keeps the signal (batch normalization)")
            + "; a larger learning rate cannot make up for it."
        )
    else:
        advice = (
            "The weights are too large: initialize with "
            + (inits if inits else "smaller weights")
            + ", lower the learning rate, or clip gradients."
        )
    return Finding(
        "gradient_scale",
        "warning",
        f"{span(ratios)} get {value_range(ratios.values())}x (median {median:.2g}) the gradient "
        f"norm theory predicts for a critically initialized network of the same shape, at step "
        f"{step} (threshold {bound:.0e})",
        advice,
        {"ratio": ratios, "median": median, "step": step, "threshold": bound},
    )


def stuck_at_chance(run: Run) -> Finding | None:
    """The training loss after ``chance_epochs`` or more epochs is not below the chance-level
    loss (predicting the class frequencies) by more than ``chance``: within it, or above."""
    if run.loss is None or run.chance_loss is None or not run.chance_loss > 0:
        return None
    epochs = sorted(e for e, v in run.loss.items() if v is not None and math.isfinite(v))
    trained = [e for e in epochs if e >= 1]
    if not trained or trained[-1] < run.t.chance_epochs:
        return None
    last = trained[-1]
    loss = run.loss[last]
    if loss < (1 - run.t.chance) * run.chance_loss:
        return None
    start = f" ({run.loss[0]:.4g} before training)" if 0 in epochs else ""
    where = (
        f"within {run.t.chance:.0%} of" if loss <= (1 + run.t.chance) * run.chance_loss else "above"
    )
    inits = run.inits()
    return Finding(
        "stuck_at_chance",
        "warning",
        f"training loss {loss:.4g} after {last} epochs{start} is {where} the chance level "
        f"{run.chance_loss:.4g} (the loss of predicting the class frequencies): the network "
        f"has learned nothing",
        "Look at the gradient findings above: "
        + (f"initialize with {inits}, " if inits else "")
        + "check that inputs are standardized and labels match them, and raise the learning "
        "rate if the updates are tiny.",
        {"loss": loss, "chance_loss": run.chance_loss, "epoch": last},
    )


def learning_rate(run: Run) -> Finding | None:
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


WARM_UP = 100
"""Steps of warm-up the decay rule leaves out at least: RMSProp's default running average
(alpha = 0.99) spans about 1 / (1 - alpha) = 100 steps, and while it fills, ``1 / sqrt(1 -
alpha^t)`` makes its effective rate fall like AdaGrad's (slope -0.29 at step 100, -0.16 at 200)."""


def decay_slope(series: dict[int, float]) -> tuple[float, int, int, float] | None:
    """Least-squares slope of ``log(value)`` against ``log(t)`` after a warm-up, the window's
    first and last step, and the fall over it. ``t`` counts steps from the first recorded one
    (``t = 1``); the window is the second half of the run, ``t >= max(t_last / 2, WARM_UP)``.
    ``None`` with under 3 recorded steps in the window."""
    steps = sorted(s for s, v in series.items() if math.isfinite(v) and v > 0)
    if not steps:
        return None
    start = steps[0] - 1
    begin = max((steps[-1] - start) / 2, WARM_UP)
    window = [s for s in steps if s - start >= begin]
    if len(window) < 3:
        return None
    t = [math.log(s - start) for s in window]
    y = [math.log(series[s]) for s in window]
    mt, my = statistics.fmean(t), statistics.fmean(y)
    slope = sum((a - mt) * (b - my) for a, b in zip(t, y)) / sum((a - mt) ** 2 for a in t)
    return slope, window[0], window[-1], series[window[0]] / series[window[-1]]


def lr_decay(run: Run) -> Finding | None:
    """The effective learning rate still falls like a power of the step after the warm-up: the
    median over layers of the log-log slope over the second half of the run (and past
    :data:`WARM_UP`) is below ``-lr_decay``. AdaGrad's ``1/sqrt(t)`` gives -0.5 at any length;
    RMSProp's and AdaDelta's running averages level off once filled (a rate that divides by
    recent squared gradients still falls while they grow)."""
    fits = {}
    for layer, series in run.frame.get(R.EFFECTIVE_LR, {}).items():
        fit = decay_slope(series)
        if fit is not None:
            fits[layer] = fit
    if not fits:
        return None
    slope = statistics.median(f[0] for f in fits.values())
    if slope >= -run.t.lr_decay:
        return None
    first = min(f[1] for f in fits.values())
    last = max(f[2] for f in fits.values())
    fall = statistics.median(f[3] for f in fits.values())
    who = "AdaGrad's" if run.optimizer == "adagrad" else "the"
    return Finding(
        "effective_lr_decay",
        "warning",
        f"{who} effective learning rate keeps falling: log(eff. lr) against log(step) has slope "
        f"{slope:.2f} over steps {first}-{last} (median over {len(fits)} layers; 1/sqrt(t) is "
        f"-0.5, a level rate 0; threshold {-run.t.lr_decay:g}), {fall:.3g}x lower at the end "
        f"of that window",
        "A denominator that sums every past squared gradient (AdaGrad) shrinks the steps until "
        "training stalls: use RMSProp, AdaDelta or Adam, which average recent squared gradients "
        "instead, or raise the learning rate. (With those, a falling rate means the gradients "
        "they average grew.)",
        {"slope": slope, "fall": fall, "per_layer": {k: v[0] for k, v in fits.items()}},
    )
