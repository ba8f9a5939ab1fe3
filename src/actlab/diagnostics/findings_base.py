"""What every rule of :mod:`~actlab.diagnostics.findings` shares: the thresholds, the finding
record, one run's rows as the rules read them, and the advice naming an initializer.

An advice line names only initializers that mean-field theory (:func:`actlab.theory.predict`)
expects to keep a network of that activation trainable: :func:`recommended_inits`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from actlab.activations import ActivationInfo
from actlab.activations.properties import compute, gain
from actlab.diagnostics import rows as R
from actlab.errors import ActlabError
from actlab.init import weight_variance
from actlab.optim import OPTIMIZERS
from actlab.theory import predict

__all__ = ["Finding", "Run", "Thresholds", "init_advice", "recommended_inits", "saturating"]

INIT_BOUND = 10.0
"""How far (x or /) theory may see the gradient and the signal change from the first layer to
the last for an initializer to be recommended."""


@dataclass(frozen=True)
class Thresholds:
    """When each rule fires.

    Attributes:
        dead: dead fraction of a layer's units. 0.5: once most units are dead the layer has lost
            most of its capacity, and a dead unit gets no gradient to come back.
        inactive: inactive fraction of a layer's units (``|f'(z)| <= 0.1 max |f'|`` on every
            probe example). 0.5: most of the layer then passes back a tenth of the gradient or
            less (Leaky ReLU's negative side: a hundredth).
        vanishing / exploding: first-to-last hidden layer gradient-norm ratio (1e-3 / 1e3):
            three orders of magnitude means the first layers learn 1000x slower (faster) than
            the last at the same learning rate -- no single rate suits both. The same bounds
            judge each layer's gradient against theory's reference for a critically initialized
            network of the same shape (``gradient_scale``).
        saturation: fraction of (example, unit) entries with |f'(z)| below the monitor's
            saturation threshold. 0.5: most of the signal is then blocked on its way back.
        off_centre: |mean| / std of a layer's outputs. 1: the mean outweighs the spread (sigmoid
            at N(0, 1) inputs: about 2.4; ReLU: 0.68; tanh: 0).
        lr_high / lr_low: median ||dw|| / ||w|| per step. The rule of thumb is ~1e-3
            (Karpathy, CS231n); 100x either side (1e-1: each step moves weights by a tenth of
            their size; 1e-5: a million steps to change them) is far off by any account.
        lr_decay: the effective learning rate keeps falling when the slope of log(eff. lr)
            against log(step) over the second half of the run (past step 100) is below
            ``-lr_decay`` (0.35): near AdaGrad's 1/sqrt(t) (-0.5; measured -0.41 to -0.47 on
            MNIST-1D MLPs, its gradients shrinking as it learns), away from a rate that has
            levelled off (0) and from RMSProp's still filling its running average (-0.27).
        chance: the loss is at chance level when it is within this fraction (2%) of the loss
            of predicting the class frequencies (ln(classes) for balanced classes).
        chance_epochs: epochs of training before the loss is judged against chance (2).
    """

    dead: float = 0.5
    inactive: float = 0.5
    vanishing: float = 1e-3
    exploding: float = 1e3
    saturation: float = 0.5
    off_centre: float = 1.0
    lr_high: float = 1e-1
    lr_low: float = 1e-5
    lr_decay: float = 0.35
    chance: float = 0.02
    chance_epochs: int = 2

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
class Run:
    """One run as the rules read it: its rows grouped by metric, the hidden layers, and what
    else is known (activation, optimizer, theory's numbers, the loss per epoch)."""

    frame: R.Frame
    hidden: list[str]
    activation: ActivationInfo | None
    optimizer: str | None
    predicted: float | None
    t: Thresholds
    reference: Mapping[str, float] | None = None
    loss: Mapping[int, float] | None = None
    chance_loss: float | None = None

    def last(self, metric: str) -> dict[str, tuple[int, float]]:
        """``{layer: (step, value)}`` at each layer's last recorded step, in layer order."""
        by_layer = self.frame.get(metric, {})
        out = {}
        for layer in R.ordered_layers(by_layer):
            step = max(by_layer[layer])
            out[layer] = (step, by_layer[layer][step])
        return out

    def over(self, metric: str, threshold: float) -> tuple[dict[str, float], int] | None:
        """The layers whose last recorded ``metric`` exceeds ``threshold`` (layer -> value), and
        the last recorded step; ``None`` if no layer does."""
        last = self.last(metric)
        bad = {layer: v for layer, (_, v) in last.items() if v > threshold}
        if not bad:
            return None
        return bad, max(s for s, _ in last.values())

    @property
    def depth(self) -> int:
        return max(len(self.hidden), 2)

    def inits(self) -> str:
        """The advice's initializer phrase for this run (see :func:`init_advice`)."""
        name = None if self.activation is None else self.activation.name
        return init_advice(name, self.depth)


# -- initializers the advice may name ---------------------------------------------------------


@cache
def recommended_inits(activation: str, depth: int = 10) -> tuple[str, ...]:
    """The initializers advice names for a ``depth``-layer network of ``activation``.

    Candidates: ``auto``, and ``he_normal`` for activations whose variance-preserving gain^2 is
    within 10% of He's 2 (the ReLU family). A candidate is kept only if mean-field theory
    predicts that, at ``depth`` layers, the weight-gradient norm and the output RMS change by
    less than :data:`INIT_BOUND` x from the first layer to the last (neither vanishing nor
    exploding). May be empty: no initializer keeps a deep sigmoid stack's gradient.

    >>> recommended_inits("relu")
    ('he_normal', 'auto')
    """
    candidates = ["auto"]
    if abs(gain(activation) ** 2 / 2 - 1) <= 0.1:
        candidates.insert(0, "he_normal")
    width = 100
    kept = []
    for init in candidates:
        mean, var = weight_variance(init, width, width, activation=activation)
        if mean != 0 or not var > 0:
            continue
        try:
            layers = predict(activation, sigma_w2=width * var, depth=depth, width=width, batch=1)
            first, last = layers[0], layers[-1]
            ratios = (first.grad_norm / last.grad_norm, last.rms / first.rms)
        except (ArithmeticError, ValueError):  # no gradient or no signal at all
            continue
        if all(r > 0 and 1 / INIT_BOUND <= r <= INIT_BOUND for r in ratios):
            kept.append(init)
    return tuple(kept)


def init_advice(activation: str | None, depth: int = 10) -> str | None:
    """``"He (he_normal) or 'auto' initialization"`` -- the initializers
    :func:`recommended_inits` keeps for the activation, named for it -- or ``None`` when none
    is kept (then advice must not suggest an initializer). Unknown activation: ``'auto'``."""
    if activation is None:
        return "'auto' initialization (scaled for your activation)"
    names = {"he_normal": "He (he_normal)", "auto": "'auto'"}
    inits = [names[i] for i in recommended_inits(activation, depth)]
    if not inits:
        return None
    return f"{' or '.join(inits)} initialization for {activation}"


# -- helpers -----------------------------------------------------------------------------------


@cache
def saturating(name: str) -> bool:
    """Flat on both sides far out (computed property): sigmoid, tanh, hardtanh, relu6, ..."""
    return "no" not in compute(name).saturates


def optimizer_name(optimizer: Any) -> str | None:
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return OPTIMIZERS.get(optimizer).name
    info = getattr(optimizer, "info", None)
    return info.name if info is not None else type(optimizer).__name__.lower()


def span(layers: Iterable[str]) -> str:
    """``layer3``, ``layers 2-4`` or ``layers 1, 3, output``."""
    names = R.ordered_layers(layers)
    if len(names) == 1:
        return names[0]
    numbers = [R.layer_index(n) for n in names]
    if None not in numbers and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"layers {numbers[0]}-{numbers[-1]}"
    return "layers " + ", ".join(n if i is None else str(i) for n, i in zip(names, numbers))


def pct(values: Iterable[float]) -> str:
    values = list(values)
    low, high = round(100 * min(values)), round(100 * max(values))
    return f"{low}%" if low == high else f"{low}-{high}%"


def value_range(values: Iterable[float], fmt: str = ".2g") -> str:
    values = list(values)
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low}-{high}"
