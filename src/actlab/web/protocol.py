"""The playground's message protocol: JSON text in, JSON-ready dicts out, no web framework.

A :class:`Channel` owns one :class:`~actlab.web.session.PlaygroundSession` (one per browser tab)
and answers each message with a list of replies. Every client message is an object with a
``type``:

=============  ===========================================  ==========================
type           fields                                        replies
=============  ===========================================  ==========================
``config``     ``config``: fields to change (partial), or    config, frame
               ``query``: a whole configuration as a URL
               query string (``Config.to_query``)
``step``       ``epochs``: 1 .. ``max_epochs_per_step``      frame
``frame``      --                                            frame
``reset``      --                                            frame
``regenerate`` ``seed``: optional; default a random one      config, frame
``set_weight`` ``layer``, ``unit``, ``source`` (null: bias),  frame
               ``value``
``export``     --                                            network
``load``       ``network``: what ``export`` sent             config, frame
``race``       ``variants``: 1-3 config changes              config, frame, race
               (``RACE_FIELDS``); ``[]`` ends the race
``anatomy``    ``layer``: a hidden layer, or null to stop    frame, anatomy (layer null:
                                                             closed)
``transform``  ``layer`` (null to stop), ``units``: [i, j]   frame, transform (likewise)
``curve``      ``layer``: a hidden layer, or null to close;  frame, curve (layer null:
               ``add``: a point [x, y] (both optional;       closed)
               the first ``curve`` opens the demo)
=============  ===========================================  ==========================

While a race runs, ``step``, ``frame`` and ``reset`` act on every racer and add a ``race``
reply (each racer's losses and output picture); ``config``, ``regenerate`` and ``load`` end it.
Likewise, once a layer's anatomy is asked for, every frame comes with an ``anatomy`` reply (f, f'
and the histogram of its pre-activations, :func:`actlab.web.health.anatomy`), and once a
``transform`` view is asked for, with a ``transform`` reply (:func:`actlab.web.views.transformed`).
Once the 1-D regression demo is opened (``curve``), every ``step`` also trains its network and
every frame comes with a ``curve`` reply (:class:`actlab.web.curve.Curve`); a configuration
change rebuilds that network and keeps the points, ``reset`` starts it over.

A message that is not valid (oversized, not JSON, NaN, unknown type or field, out of range)
gets one ``{"type": "error", "message": ...}`` reply and changes nothing; each distinct problem
is logged once per page, as one line. Pictures travel as base64 ``uint8`` rasters:
``(v + 1) * 127.5`` for ``v`` clamped to ``[-1, 1]`` (input features are first divided by their
largest magnitude). With more than two classes a frame also has ``classes``: the most probable
class at each pixel, one ``uint8`` per pixel; with more than one output unit, ``outputs``: each
class's probability ``p`` as a thumbnail raster of ``2 p - 1``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from actlab._registry import closest
from actlab.errors import ActlabError, ParameterError
from actlab.web.config import LIMITS, Config
from actlab.web.curve import Curve, check_point
from actlab.web.health import anatomy
from actlab.web.race import Race
from actlab.web.session import Frame, PlaygroundSession
from actlab.web.views import transformed

__all__ = ["Channel", "encode_frame", "parse"]

log = logging.getLogger("actlab.web")
LOGGED_MAX = 100
"""Distinct problems logged per page; later ones are answered but not logged."""

FIELDS: dict[str, tuple[str, ...]] = {
    "config": ("config", "query"),
    "step": ("epochs",),
    "frame": (),
    "reset": (),
    "regenerate": ("seed",),
    "set_weight": ("layer", "unit", "source", "value"),
    "export": (),
    "load": ("network",),
    "race": ("variants",),
    "anatomy": ("layer",),
    "transform": ("layer", "units"),
    "curve": ("layer", "add"),
}
"""Each message type and the fields it may carry (besides ``type``)."""


def _reject_constant(name: str) -> float:
    raise ParameterError(f"{name} is not a number this protocol accepts")


def parse(text: str | bytes) -> dict[str, Any]:
    """Decode and check one client message (size, JSON, type, fields); raise ParameterError."""
    if isinstance(text, bytes):
        raise ParameterError("messages are JSON text, not binary")
    if len(text) > LIMITS.max_message_bytes:
        raise ParameterError(
            f"message of {len(text)} characters exceeds the limit of {LIMITS.max_message_bytes}"
        )
    try:
        message = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        if isinstance(e, ParameterError):
            raise
        raise ParameterError("message is not valid JSON") from None
    if not isinstance(message, dict):
        raise ParameterError("message must be a JSON object with a 'type'")
    kind = message.get("type")
    if kind not in FIELDS:
        near = closest(str(kind), list(FIELDS)) if isinstance(kind, str) else []
        hint = f"; did you mean: {', '.join(near)}?" if near else ""
        raise ParameterError(f"unknown message type {kind!r}{hint}")
    extra = sorted(set(message) - {"type", *FIELDS[kind]})
    if extra:
        raise ParameterError(f"{kind}: unknown field(s) {extra}; allowed: {list(FIELDS[kind])}")
    return message


def _raster(values: Tensor) -> str:
    q = ((torch.nan_to_num(values).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return base64.b64encode(q.contiguous().numpy().tobytes()).decode("ascii")


def _classes(classes: Tensor | None) -> str | None:
    if classes is None:
        return None
    q = classes.to(torch.uint8).contiguous().numpy().tobytes()
    return base64.b64encode(q).decode("ascii")


def _number(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def encode_frame(frame: Frame) -> dict[str, Any]:
    """A :class:`Frame` as a JSON-ready ``frame`` reply (non-finite numbers become null)."""
    features = [f / f.abs().max().clamp_min(1e-12) for f in frame.features]
    return {
        "type": "frame",
        "epoch": frame.epoch,
        "train_loss": _number(frame.train_loss),
        "test_loss": _number(frame.test_loss),
        "train_accuracy": _number(frame.train_accuracy),
        "test_accuracy": _number(frame.test_accuracy),
        "diverged": frame.diverged,
        "grid": frame.output.shape[-1],
        "thumb": frame.features.shape[-1],
        "output": _raster(frame.output),
        "classes": _classes(frame.classes),
        "outputs": None if frame.outputs is None else [_raster(o) for o in frame.outputs],
        "features": [_raster(f) for f in features],
        "neurons": [[_raster(unit) for unit in layer] for layer in frame.neurons],
        "weights": [
            {"w": torch.nan_to_num(w).tolist(), "b": torch.nan_to_num(b).tolist()}
            for w, b in frame.weights
        ],
        "health": frame.health,
    }


def encode_config(session: PlaygroundSession) -> dict[str, Any]:
    """The ``config`` reply: the validated configuration, its URL query and the data points."""
    points = {k: v.tolist() for k, v in session.points().items()}
    return {
        "type": "config",
        "config": session.config.to_dict(),
        "query": session.config.to_query(),
        "points": points,
    }


def encode_race(race: Race, frames: list[Frame]) -> dict[str, Any]:
    """The ``race`` reply: per racer, what it changes, its losses and its output picture."""
    base = race.racers[0].config.to_dict()
    racers = []
    for racer, frame in zip(race.racers, frames):
        changes = {k: v for k, v in racer.config.to_dict().items() if v != base[k]}
        racers.append(
            {
                "changes": changes,
                "epoch": frame.epoch,
                "train_loss": _number(frame.train_loss),
                "test_loss": _number(frame.test_loss),
                "diverged": frame.diverged,
                "output": _raster(frame.output),
                "classes": _classes(frame.classes),
            }
        )
    return {"type": "race", "grid": LIMITS.grid, "racers": racers}


class Channel:
    """One client's session behind the protocol; :meth:`handle` never raises on bad input."""

    def __init__(self, session: PlaygroundSession | None = None) -> None:
        self.session = session or PlaygroundSession()
        self.race: Race | None = None
        self._logged: set[str] = set()
        self.anatomy: int | None = None
        self.transform: tuple[int, Any] | None = None
        self.curve: Curve | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
            "config": self._config,
            "step": self._step,
            "frame": lambda m: self._frame(self.session.frame()),
            "reset": self._reset,
            "regenerate": self._regenerate,
            "set_weight": self._set_weight,
            "export": lambda m: [{"type": "network", "network": self.session.to_json()}],
            "load": self._load,
            "race": self._race,
            "anatomy": self._anatomy,
            "transform": self._transform,
            "curve": self._curve,
        }

    def handle(self, text: str | bytes) -> list[dict[str, Any]]:
        """The replies to one raw message: results, or one ``error`` reply."""
        try:
            message = parse(text)
            return self._handlers[message["type"]](message)
        except ActlabError as e:
            self._log_once(str(e))
            return [{"type": "error", "message": str(e)}]
        except Exception as e:  # a bug must not take the server down with it
            log.exception("playground: message failed")
            return [{"type": "error", "message": f"internal error: {type(e).__name__}: {e}"}]

    def _log_once(self, problem: str) -> None:
        """One log line per distinct problem and page, so a flood of bad messages stays quiet."""
        if problem not in self._logged and len(self._logged) < LOGGED_MAX:
            self._logged.add(problem)
            log.warning("playground: rejected message: %s", problem)

    def _frame(self, frame: Frame, others: list[Frame] | None = None) -> list[dict[str, Any]]:
        replies = [encode_frame(frame)]
        if self.race is not None:
            if others is None:
                others = [r.frame(pictures=False) for r in self.race.racers[1:]]
            replies.append(encode_race(self.race, [frame, *others]))
        if self.anatomy is not None:
            s = self.session
            replies.append({"type": "anatomy", **anatomy(s.model, s.inputs, self.anatomy)})
        if self.transform is not None:
            view = transformed(self.session, *self.transform)
            replies.append({"type": "transform", **view})
        if self.curve is not None:
            replies.append({"type": "curve", **self.curve.view()})
        return replies

    def _full(self) -> list[dict[str, Any]]:
        self.race = self.anatomy = self.transform = None
        if self.curve is not None and self.curve.config != self.session.config:
            self.curve = self.curve.rebuilt(self.session.config)
        return [encode_config(self.session), *self._frame(self.session.frame())]

    def _step(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        epochs = m.get("epochs", 1)
        if self.race is None:
            frame, others = self.session.step(epochs), None
        else:
            frame, *others = self.race.step(epochs)
        if self.curve is not None:
            self.curve.step(epochs)
        return self._frame(frame, others)

    def _curve(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        if "layer" in m and m["layer"] is None:
            self.curve = None
            return [*self._frame(self.session.frame()), {"type": "curve", "layer": None}]
        point = check_point(m["add"]) if "add" in m else None
        curve = self.curve or Curve(self.session.config)
        layer = curve.checked_layer(m["layer"]) if "layer" in m else curve.layer
        if point is not None:
            curve.add(*point)  # the last check: nothing has changed before it passes
        curve.layer, self.curve = layer, curve
        return self._frame(self.session.frame())

    def _transform(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        layer, units = m.get("layer"), m.get("units", [0, 1])
        if layer is not None:
            transformed(self.session, layer, units)  # checks layer and units
        self.transform = None if layer is None else (layer, units)
        closed = [{"type": "transform", "layer": None}] if layer is None else []
        return self._frame(self.session.frame()) + closed

    def _anatomy(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        layer = m.get("layer")
        if layer is not None:
            anatomy(self.session.model, self.session.inputs, layer)  # checks the index
        self.anatomy = layer
        closed = [{"type": "anatomy", "layer": None}] if layer is None else []
        return self._frame(self.session.frame()) + closed

    def _race(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        variants = m.get("variants")
        if variants == []:
            return self._full()
        self.race = Race(self.session, variants)
        return [encode_config(self.session), *self._frame(self.session.frame())]

    def _config(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        query = m.get("query")
        if query is not None:
            if not isinstance(query, str):
                raise ParameterError("config: 'query' must be a URL query string")
            self.session.configure(Config.from_query(query).to_dict())
            return self._full()
        changes = m.get("config", {})
        if not isinstance(changes, dict):
            raise ParameterError("config: 'config' must be an object of fields to change")
        self.session.configure(changes)
        return self._full()

    def _reset(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        if self.race is None:
            self.session.reset()
        else:
            self.race.reset()
        if self.curve is not None:
            self.curve = self.curve.rebuilt(self.session.config)
        return self._frame(self.session.frame())

    def _regenerate(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        self.session.regenerate(m.get("seed"))
        return self._full()

    def _set_weight(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        self.session.set_weight(m.get("layer"), m.get("unit"), m.get("source"), m.get("value"))
        return self._frame(self.session.frame())

    def _load(self, m: dict[str, Any]) -> list[dict[str, Any]]:
        self.session = PlaygroundSession.from_json(m.get("network"))
        return self._full()
