"""The network's health, as :mod:`actlab.diagnostics` measures it, for the playground's panel.

Per layer (from a :class:`~actlab.diagnostics.Monitor` on the last minibatch of each epoch,
activation statistics on the whole training set): dead, saturated and inactive fractions,
gradient norm, update ratio and effective learning rate. Per hidden unit, the same rules the
monitor applies to a layer, applied to the unit's own column: dead (zero output on every
training point), inactive (``|f'(z)|`` at most 10 % of its peak on every point) and the share of
points where it is saturated (``|f'(z)| < 0.05``).

The effective learning rate is measured from the update actually applied, ``w_after - w_before``
in float32. A step smaller than half the float32 spacing of a weight (about ``6e-8 |w|``) leaves
that weight unchanged, so the measured rate of such a layer is 0 although the optimizer asked
for a step. The panel says so instead of showing 0: per layer, ``frozen_fraction`` is the share
of weights with a non-zero gradient that did not move, and where the median weight did not move
``effective_lr`` is ``None`` and ``effective_lr_below`` an upper bound: the median over the
weights of ``|dw| / |g|``, with ``dw`` replaced by the weight's float32 spacing where it did not
move (a lost step was smaller than that).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from actlab.diagnostics import metrics, rows
from actlab.diagnostics.monitor import Monitor, activation_of, discover_layers
from actlab.errors import ParameterError
from actlab.nn import Activation

__all__ = ["LAYER_METRICS", "Health", "anatomy", "unit_health"]

LAYER_METRICS = (
    rows.DEAD,
    rows.SATURATION,
    rows.INACTIVE,
    rows.GRAD_NORM,
    rows.UPDATE_RATIO,
    rows.EFFECTIVE_LR,
)


FROZEN = "frozen_fraction"
BELOW = "effective_lr_below"


def frozen(grad: Tensor, before: Tensor, after: Tensor) -> tuple[float, float]:
    """``(frozen_fraction, bound)`` of one step on one weight tensor: the share of weights with
    a non-zero gradient that did not move (their update fell below float32 resolution), and an
    upper bound on the median ``|dw| / |g|`` that counts a lost step as the weight's spacing.

    >>> w = torch.tensor([1.0, 1.0])
    >>> frozen(torch.tensor([1.0, 1.0]), w, w + torch.tensor([1e-9, 1e-3]))
    (0.5, 1.1920928955078125e-07)
    """
    moving = grad != 0
    if not moving.any():
        return math.nan, math.nan
    still = (after == before) & moving
    spacing = torch.nextafter(before.abs(), torch.tensor(math.inf, dtype=before.dtype))
    spacing = spacing - before.abs()
    step = torch.where(still, spacing, (after - before).abs()).double()
    bound = (step / grad.double().abs())[moving]
    return still.sum().item() / moving.sum().item(), bound.median().item()


class Health:
    """A monitor on one network and its optimizer that keeps only the latest step's values."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, probe: Tensor) -> None:
        self.model, self.probe = model, probe
        self.monitor = Monitor(model, optimizer=optimizer, probe=probe)
        self.layers: dict[str, dict[str, float]] = {}
        self._weights = [(layer.name, layer.weight) for layer in discover_layers(model)]
        self._armed = False
        self._before: list[tuple[str, Tensor, Tensor, Tensor]] = []
        self._hooks = [
            optimizer.register_step_pre_hook(lambda *_: self._snapshot()),
            optimizer.register_step_post_hook(lambda *_: self._resolution()),
        ]

    @contextlib.contextmanager
    def record(self, step: int) -> Iterator[None]:
        """Measure the forward and backward pass run inside the block (and the step after)."""
        with self.monitor.record(step):
            yield
        self._armed = True

    @torch.no_grad()
    def _snapshot(self) -> None:
        self._before = []
        if self._armed:
            self._before = [
                (name, w.grad.detach().clone(), w.detach().clone(), w)
                for name, w in self._weights
                if w.grad is not None
            ]
        self._armed = False

    @torch.no_grad()
    def _resolution(self) -> None:
        for name, grad, before, weight in self._before:
            share, bound = frozen(grad, before, weight.detach())
            self.layers.setdefault(name, {}).update({FROZEN: share, BELOW: bound})
        self._before = []

    def latest(self) -> dict[str, dict[str, float | None]]:
        """``{layer: {metric: value}}`` of the last recorded step (``None`` where not finite)."""
        for _, layer, metric, value in self.monitor.rows:
            if metric in LAYER_METRICS:
                self.layers.setdefault(layer, {})[metric] = value
        self.monitor.rows.clear()  # keep memory flat over long runs
        out = {}
        for layer, values in self.layers.items():
            shown = {m: (v if math.isfinite(v) else None) for m, v in values.items()}
            lost = values.get(rows.EFFECTIVE_LR) == 0 and (values.get(FROZEN) or 0) > 0
            if lost:  # the median weight did not move: its step was below float32 resolution
                shown[rows.EFFECTIVE_LR] = None
            else:
                shown.pop(BELOW, None)
            out[layer] = shown
        return out

    def close(self) -> None:
        self.monitor.close()
        for handle in self._hooks:
            handle.remove()
        self._hooks = []


@torch.no_grad()
def unit_health(model: nn.Sequential, x: Tensor) -> list[dict[str, list[Any]]]:
    """Per hidden layer: each unit's ``dead``, ``inactive`` flags and ``saturation`` share on
    the inputs ``x`` (the model is run in ``eval()`` mode)."""
    model.eval()
    out, h = [], x
    for module in model:
        z, h = h, module(h)
        if not isinstance(module, Activation):
            continue
        _, derivative = activation_of(module)
        per_unit = h.T.unsqueeze(-1)  # [units, examples, 1]: the metrics' leading dims
        units: dict[str, list[Any]] = {
            "dead": (metrics.dead_fraction(per_unit) == 1).tolist(),
            "inactive": [None] * h.shape[1],
            "saturation": [None] * h.shape[1],
        }
        if derivative is not None:
            slopes = derivative(z).T.unsqueeze(-1)
            units["saturation"] = metrics.saturation_fraction(slopes).tolist()
            peak = metrics.peak_of(derivative, z)
            if peak is not None:
                units["inactive"] = (metrics.inactive_fraction(slopes, peak) == 1).tolist()
        out.append(units)
    return out


@torch.no_grad()
def anatomy(model: nn.Sequential, x: Tensor, layer: int, points: int = 121, bins: int = 40):
    """Hidden ``layer``'s activation f and slope f' over the range its pre-activations z take
    on ``x``, with the histogram of those z: ``{"z", "f", "df", "counts", "edges", ...}``."""
    acts = [m for m in model if isinstance(m, Activation)]
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(acts):
        raise ParameterError(
            f"layer={layer!r} is out of range; valid range is [0, {len(acts) - 1}]"
        )
    model.eval()
    h, z = x, None
    for module in model:
        if module is acts[layer]:
            z = h
            break
        h = module(h)
    module = acts[layer]
    reach = max(3.0, float(z.abs().max())) if z.numel() else 3.0
    reach = min(reach, 50.0)
    grid = torch.linspace(-reach, reach, points)
    _, derivative = activation_of(module)
    f = df = None
    if module.info.kind == "elementwise":  # a vector activation's f(z_i) depends on all of z
        column = grid[:, None]
        f = torch.nan_to_num(module(column)[:, 0]).tolist()
        df = None if derivative is None else torch.nan_to_num(derivative(column)[:, 0]).tolist()
    counts = torch.histc(z.clamp(-reach, reach), bins=bins, min=-reach, max=reach)
    return {
        "layer": layer,
        "activation": module.info.name,
        "formula": module.info.formula,
        "z": grid.tolist(),
        "f": f,
        "df": df,
        "counts": counts.tolist(),
        "edges": [-reach, reach],
    }
