"""The playground's configuration: one frozen record, checked against the catalogs and ``LIMITS``.

Every menu of the page is generated here from the registries (:func:`menus`), and every bound a
message is checked against is declared once, in :data:`LIMITS`. A configuration round-trips
through a URL query string (:meth:`Config.to_query` / :meth:`Config.from_query`), so a link
reproduces the data and the initial weights exactly.

>>> cfg = Config.from_dict({"dataset": "xor", "hidden": [4, 2], "activation": "relu"})
>>> Config.from_query(cfg.to_query()) == cfg
True
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import torch
from torch import Tensor

from actlab._registry import closest
from actlab.activations import ACTIVATIONS
from actlab.data import DATASETS
from actlab.data.toy import N_CLASSES, TWO_D
from actlab.errors import ActlabError, ParameterError
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.nn import Activation
from actlab.optim import OPTIMIZERS

__all__ = ["FEATURES", "LIMITS", "Config", "Limits", "menus"]


@dataclass(frozen=True)
class Limits:
    """Every bound the playground enforces, declared once (the page reads them from ``menus``)."""

    max_layers: int = 6
    max_neurons: int = 8
    min_points: int = 20
    max_points: int = 2000
    max_batch: int = 2000
    max_epochs_per_step: int = 100
    max_lr: float = 10.0
    max_reg_rate: float = 10.0
    max_noise: float = 0.5
    min_train_ratio: float = 0.1
    max_train_ratio: float = 0.9
    max_seed: int = 2**31 - 1
    max_weight: float = 1e3
    max_message_bytes: int = 65_536
    max_racers: int = 4
    max_curve_points: int = 100
    curve_y: float = 3.0
    grid: int = 100
    thumb: int = 50
    extent: float = 6.0


LIMITS = Limits()

FEATURES: dict[str, Callable[[Tensor], Tensor]] = {
    "x1": lambda x: x[:, 0],
    "x2": lambda x: x[:, 1],
    "x1^2": lambda x: x[:, 0] ** 2,
    "x2^2": lambda x: x[:, 1] ** 2,
    "x1*x2": lambda x: x[:, 0] * x[:, 1],
    "sin_x1": lambda x: torch.sin(x[:, 0]),
    "sin_x2": lambda x: torch.sin(x[:, 1]),
}
"""The Playground's input features, each a function of the raw points ``(N, 2)``."""

RACE_FIELDS = (
    "activation",
    "optimizer",
    "learning_rate",
    "regularization",
    "reg_rate",
    "batch_size",
)
"""What a racer may change (:mod:`actlab.web.race`): the rest would change the data or the
initial weights."""
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")
DEFAULT_LOSS = {
    "classification": "binary_logistic",
    "multiclass": "cross_entropy",
    "regression": "squared_error",
}


@functools.cache
def hidden_activations() -> tuple[str, ...]:
    """Catalog activations that keep any layer's width (so each unit has its own thumbnail)."""

    def keeps_width(name: str) -> bool:
        probe = torch.zeros(1, 3)
        try:
            return Activation(name)(probe).shape == probe.shape
        except ActlabError:  # maxout: pieces must divide the width
            return False

    return tuple(a.name for a in ACTIVATIONS if keeps_width(a.name))


def losses_for(problem: str) -> list[str]:
    """Catalog losses that train ``problem`` from class labels or real targets; ``"multiclass"``:
    the classification losses that take class indices (softmax cross-entropy, hinge)."""
    if problem == "multiclass":
        return [n for n in losses_for("classification") if "index" in LOSSES.get(n).targets]
    return [i.name for i in LOSSES if i.task == problem and i.differentiable]


def is_multiclass(dataset: str) -> bool:
    """Whether a catalog set has a chosen number of classes (``n_classes``): one output each."""
    return "n_classes" in DATASETS.get(dataset).defaults


def loss_menu(dataset: str, problem: str) -> str:
    """The key of :func:`menus`' ``losses`` that lists the losses this data set can train on."""
    return "multiclass" if problem == "classification" and is_multiclass(dataset) else problem


@dataclass(frozen=True)
class Config:
    """One playground setup: data, features, network, training. Build with :meth:`from_dict`."""

    dataset: str = "circle"
    noise: float = 0.0
    train_ratio: float = 0.5
    n_points: int = 500
    batch_size: int = 10
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    init: str = "xavier_uniform"
    optimizer: str = "sgd"
    learning_rate: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    problem: str = ""
    loss: str = ""
    n_classes: int = 3

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: Config | None = None) -> Config:
        """``base`` (default: the defaults) with ``values`` replaced, validated; else one line."""
        if not isinstance(values, Mapping):
            raise ParameterError("config must be a JSON object")
        names = [f.name for f in fields(cls)]
        for key in values:
            if key not in names:
                near = closest(str(key), names)
                hint = f"; did you mean: {', '.join(near)}?" if near else ""
                raise ParameterError(f"unknown config field {key!r}{hint}")
        merged = {**asdict(base or cls()), **values}
        if "dataset" in values and "problem" not in values:
            merged["problem"] = ""
        if ("dataset" in values or "problem" in values) and "loss" not in values:
            merged["loss"] = ""
        return _validated(merged)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"], d["hidden"] = list(self.features), list(self.hidden)
        return d

    def to_query(self) -> str:
        """The URL query string holding this whole configuration (seed included)."""
        d = self.to_dict()
        d["features"] = ",".join(self.features)
        d["hidden"] = ",".join(str(h) for h in self.hidden)
        if not is_multiclass(self.dataset):
            del d["n_classes"]  # only the k-class sets read it
        return urlencode(d)

    @classmethod
    def from_query(cls, query: str) -> Config:
        """Parse :meth:`to_query`'s output (unknown or malformed fields: one-line error)."""
        raw = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            text = raw.pop(f.name)
            if f.name == "features":
                values[f.name] = [t for t in text.split(",") if t]
            elif f.name == "hidden":
                values[f.name] = [_number(f.name, t) for t in text.split(",") if t]
            elif isinstance(getattr(cls(), f.name), (int, float)):
                values[f.name] = _number(f.name, text)
            else:
                values[f.name] = text
        values.update(raw)  # leftovers are unknown fields: from_dict names them
        return cls.from_dict(values)

    def with_seed(self, seed: int) -> Config:
        return replace(self, seed=seed)


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"{name}={text!r} is not a number") from None


def _num(d: dict[str, Any], key: str, kind: type, low: float, high: float) -> None:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{key}={value!r} is not a number")
    if not math.isfinite(value) or not low <= value <= high:
        raise ParameterError(f"{key}={value!r} is out of range; valid range is [{low}, {high}]")
    if kind is int:
        if float(value) != int(value):
            raise ParameterError(f"{key}={value!r} is not an integer")
        value = int(value)
    d[key] = kind(value)


def _name(d: dict[str, Any], key: str, valid: list[str], resolve=None) -> None:
    value = d[key]
    if not isinstance(value, str):
        raise ParameterError(f"{key}={value!r} is not a name")
    if resolve is not None and value not in valid:
        with contextlib.suppress(ActlabError):
            value = resolve(value).name
    if value not in valid:
        near = closest(value, valid)
        hint = f"; did you mean: {', '.join(near)}?" if near else ""
        raise ParameterError(f"unknown {key} {value!r}{hint}")
    d[key] = value


def _validated(d: dict[str, Any]) -> Config:
    L = LIMITS
    _name(d, "dataset", list(TWO_D), DATASETS.get)
    _num(d, "noise", float, 0.0, L.max_noise)
    _num(d, "train_ratio", float, L.min_train_ratio, L.max_train_ratio)
    _num(d, "n_points", int, L.min_points, L.max_points)
    _num(d, "n_classes", int, N_CLASSES.low, N_CLASSES.high)
    _num(d, "batch_size", int, 1, L.max_batch)
    _num(d, "seed", int, 0, L.max_seed)
    _num(d, "learning_rate", float, 0.0, L.max_lr)
    _num(d, "reg_rate", float, 0.0, L.max_reg_rate)
    if d["learning_rate"] <= 0:
        raise ParameterError(f"learning_rate={d['learning_rate']} must be > 0")
    _name(d, "activation", list(hidden_activations()), ACTIVATIONS.get)
    _name(d, "init", list(INITIALIZERS.names()), INITIALIZERS.get)
    _name(d, "optimizer", list(OPTIMIZERS.names()), OPTIMIZERS.get)
    _name(d, "regularization", list(REGULARIZATIONS))
    feats, hidden = d["features"], d["hidden"]
    if not isinstance(feats, (list, tuple)) or not feats or len(feats) > len(FEATURES):
        raise ParameterError(f"features must be a non-empty list drawn from {list(FEATURES)}")
    for f in feats:
        _name({"feature": f}, "feature", list(FEATURES))
    d["features"] = tuple(f for f in FEATURES if f in feats)  # catalog order, no duplicates
    if not isinstance(hidden, (list, tuple)) or len(hidden) > L.max_layers:
        raise ParameterError(f"hidden must be a list of at most {L.max_layers} layer widths")
    for i, width in enumerate(hidden):
        probe = {f"hidden[{i}]": width}
        _num(probe, f"hidden[{i}]", int, 1, L.max_neurons)
    d["hidden"] = tuple(int(w) for w in hidden)
    task = DATASETS.get(d["dataset"]).task
    if d["problem"] in ("", None):
        d["problem"] = task
    _name(d, "problem", list(PROBLEMS))
    if d["problem"] != task:
        raise ParameterError(f"dataset {d['dataset']!r} is a {task} set, not {d['problem']}")
    menu = loss_menu(d["dataset"], d["problem"])
    if d["loss"] in ("", None):
        d["loss"] = DEFAULT_LOSS[menu]
    _name(d, "loss", losses_for(menu), LOSSES.get)
    return Config(**d)


def menus() -> dict[str, Any]:
    """Everything the page's menus show, generated from the catalogs and :data:`LIMITS`."""

    def entries(registry, names) -> list[dict[str, str]]:
        return [{"name": n, "summary": registry.get(n).summary} for n in names]

    return {
        "datasets": [
            {
                "name": n,
                "task": DATASETS.get(n).task,
                "summary": DATASETS.get(n).summary,
                "multiclass": is_multiclass(n),
            }
            for n in TWO_D
        ],
        "activations": entries(ACTIVATIONS, hidden_activations()),
        "initializers": entries(INITIALIZERS, INITIALIZERS.names()),
        "optimizers": entries(OPTIMIZERS, OPTIMIZERS.names()),
        "losses": {p: entries(LOSSES, losses_for(p)) for p in (*PROBLEMS, "multiclass")},
        "n_classes": [N_CLASSES.low, N_CLASSES.high],
        "features": list(FEATURES),
        "regularizations": list(REGULARIZATIONS),
        "problems": list(PROBLEMS),
        "race_fields": list(RACE_FIELDS),
        "limits": asdict(LIMITS),
        "defaults": Config.from_dict({}).to_dict(),
    }
