"""ConvNetJS's 1-D regression demo: a network ``y = f(x)`` fitted to points placed by clicking.

The network is the playground's (its hidden layers, activation, initializer, optimizer and
learning rate, weights from its seed) with one input, ``x``, and one output; the points are the
user's. Each :meth:`Curve.step` takes ``STEPS_PER_EPOCH`` full-batch steps of the squared error,
so a new point is fitted within a few seconds of play; :meth:`Curve.view` gives the fit over
``[-extent, extent]`` and, under it, every unit's output in a chosen hidden layer (as Karpathy's
ConvNetJS 1-D regression demo draws them).

>>> from actlab.web.config import Config
>>> curve = Curve(Config.from_dict({"hidden": [4], "optimizer": "adam", "learning_rate": 0.03}))
>>> curve.add(2.0, 1.0)
>>> view = curve.step(5)
>>> view["epoch"], len(view["points"]), len(view["units"]), len(view["fit"]) == len(view["x"])
(5, 8, 4, True)
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from actlab.errors import ParameterError
from actlab.losses import loss
from actlab.nn import Activation
from actlab.optim import NonFiniteGradientError, create
from actlab.web.config import LIMITS, Config
from actlab.web.session import build_model

__all__ = ["STEPS_PER_EPOCH", "Curve", "check_point"]

STEPS_PER_EPOCH = 10
"""Full-batch steps per epoch: a handful of points make one step an epoch otherwise."""
SAMPLES = 200
"""Points along x at which the fit and the unit curves are drawn."""


def check_point(point: Any) -> list[float]:
    """``[x, y]`` as floats if it is a point the demo takes; else one-line ParameterError."""
    if not isinstance(point, (list, tuple)) or len(point) != 2:
        raise ParameterError("curve: a point is a pair [x, y]")
    for name, value, bound in zip("xy", point, (LIMITS.extent, LIMITS.curve_y)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"curve: {name}={value!r} is not a number")
        if not (math.isfinite(value) and abs(value) <= bound):
            raise ParameterError(
                f"curve: {name}={value!r} must be finite with |{name}| <= {bound:g}"
            )
    return [float(point[0]), float(point[1])]


def _default_points() -> list[list[float]]:
    """Seven points on ``1.5 sin(0.6 x)``: something to fit before the first click."""
    xs = torch.linspace(-5, 5, 7, dtype=torch.float64)
    return [[float(x), float(1.5 * torch.sin(0.6 * x))] for x in xs]


class Curve:
    """The 1-D regression demo for one playground configuration.

    Args:
        config: the playground's :class:`~actlab.web.config.Config` (its features are ignored:
            the only input is ``x``).
        points: ``[[x, y], ...]`` to start from (default: seven points on a sine).
        layer: the hidden layer whose units :meth:`view` draws.
    """

    def __init__(
        self,
        config: Config,
        points: list[list[float]] | None = None,
        layer: int = 0,
    ) -> None:
        self.config = config
        self.model = build_model(replace(config, features=("x1",)), 1, config.seed)
        self.optimizer = create(config.optimizer, self.model.parameters(), lr=config.learning_rate)
        self.points: list[list[float]] = []
        for x, y in _default_points() if points is None else points:
            self.add(x, y)
        self.layer = self.checked_layer(layer)
        self.epoch, self.diverged = 0, False

    def add(self, x: Any, y: Any) -> None:
        """Add the point ``(x, y)``: |x| at most ``extent``, |y| at most ``curve_y``."""
        if len(self.points) >= LIMITS.max_curve_points:
            raise ParameterError(f"curve: at most {LIMITS.max_curve_points} points")
        self.points.append(check_point([x, y]))

    def checked_layer(self, layer: Any) -> int:
        """``layer`` if it is a hidden layer whose units :meth:`view` can draw (0 when there is
        none: no unit curves); else one-line ParameterError. Set ``self.layer`` to choose."""
        hidden = len(self.config.hidden)
        if hidden == 0 and layer == 0 and not isinstance(layer, bool):
            return 0
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < hidden:
            raise ParameterError(
                f"curve: layer={layer!r} is out of range; valid range is [0, {hidden - 1}]"
            )
        return layer

    def _data(self) -> tuple[Tensor, Tensor]:
        xy = torch.tensor(self.points, dtype=torch.float32).reshape(-1, 2)
        return xy[:, :1], xy[:, 1:]

    def step(self, epochs: int = 1) -> dict[str, Any]:
        """Train ``epochs`` epochs of ``STEPS_PER_EPOCH`` full-batch steps; return :meth:`view`."""
        x, y = self._data()
        self.model.train()
        for _ in range(epochs):
            if self.diverged or not len(x):
                break
            for _ in range(STEPS_PER_EPOCH):
                self.optimizer.zero_grad()
                loss(self.model(x), y, "squared_error").backward()
                try:
                    self.optimizer.step()
                except NonFiniteGradientError:
                    self.diverged = True
                    break
            self.epoch += 1
        return self.view()

    @torch.no_grad()
    def view(self) -> dict[str, Any]:
        """``x`` (``SAMPLES`` values), ``fit``, ``units`` (per unit of the chosen layer, its
        output along ``x``), ``points``, ``loss`` (mean squared error), ``epoch``, ``layer``."""
        self.model.eval()
        xs = torch.linspace(-LIMITS.extent, LIMITS.extent, SAMPLES)[:, None]
        h, units, seen = xs, None, -1
        for module in self.model:
            h = module(h)
            if isinstance(module, Activation):
                seen += 1
                if seen == self.layer:
                    units = h.T
        x, y = self._data()
        mse = loss(self.model(x), y, "squared_error").item() if len(x) else math.nan
        return {
            "layer": self.layer,
            "epoch": self.epoch,
            "x": xs[:, 0].tolist(),
            "fit": torch.nan_to_num(h[:, 0]).tolist(),
            "units": [] if units is None else torch.nan_to_num(units).tolist(),
            "points": [list(p) for p in self.points],
            "loss": mse if math.isfinite(mse) else None,
            "diverged": self.diverged,
            "range": [LIMITS.extent, LIMITS.curve_y],
        }

    def rebuilt(self, config: Config) -> Curve:
        """The demo for a new configuration: same points and layer (if it still exists)."""
        layer = self.layer if self.layer < len(config.hidden) else 0
        return Curve(config, self.points, layer)
