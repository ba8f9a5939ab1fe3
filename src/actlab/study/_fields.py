"""Checking study fields: types with one-line errors, and the catalog lookups that resolve names
and parameters (used by both :class:`~actlab.study.spec.Study` and
:class:`~actlab.study.run_config.RunConfig`, so each rule is written once).

Errors raised inside :func:`at` carry ``.path`` (the study keys they concern, as the user wrote
them) and ``.value`` (the offending value, when known), which :func:`actlab.study.load_study`
turns into a file line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from actlab._registry import Info, Registry
from actlab.activations import ACTIVATIONS
from actlab.data import DATASETS, DatasetInfo
from actlab.errors import ActlabError, ParameterError
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.models import MODELS
from actlab.models.user import reference_of
from actlab.optim import OPTIMIZERS

Pairs = tuple[tuple[str, Any], ...]

DTYPES = ("float32", "float64")
MODEL_OPTIONS = ("depth", "width", "normalization", "dropout", "residual")
# Set by the architecture, never per study: the feature axis of softmax-like activations.
_SET_BY_MODEL = ("dim",)
_FROM_MODEL = ("activation", "activation_params")  # what activation-aware inits read

# Declared limits, checked before anything is trained or stored. A seed is stored as SQLite's
# signed 64-bit INTEGER (torch would take up to 2**64 - 1); the others keep a typo (1e8 seeds,
# 10**12 epochs) from exhausting memory or running for ever.
LIMITS = {
    "seed": 2**63 - 1,
    "seeds": 10_000,
    "epochs": 1_000_000,
    "steps": 10**12,
    "batch_size": 2**31 - 1,
    "depth": 1_000,
    "width": 65_536,
    "snapshots": 10_000,
}


@contextmanager
def at(*path: str, value: Any = None) -> Iterator[None]:
    """Tag an :class:`ActlabError` raised inside with the study keys it concerns (innermost
    wins)."""
    try:
        yield
    except ActlabError as e:
        if getattr(e, "path", None) is None:
            e.path = tuple(str(p) for p in path)  # type: ignore[attr-defined]
            e.value = value  # type: ignore[attr-defined]
        raise


# ---- JSON <-> hashable ---------------------------------------------------------------------


def freeze(value: Any) -> Any:
    """Lists -> tuples and mappings -> sorted pairs, recursively (so values are hashable)."""
    if isinstance(value, Mapping):
        return pairs(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Tuples -> lists, recursively (the JSON form)."""
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def pairs(params: Mapping[str, Any]) -> Pairs:
    """``{"b": 1, "a": [2]}`` -> ``(("a", (2,)), ("b", 1))``."""
    return tuple(sorted((str(k), freeze(v)) for k, v in params.items()))


def as_dict(p: Pairs) -> dict[str, Any]:
    """Sorted pairs -> a JSON-able dict."""
    return {k: thaw(v) for k, v in p}


# ---- plain types ---------------------------------------------------------------------------


def _wrong_type(key: str, value: Any, expected: str) -> ActlabError:
    return ParameterError(f"{key}={value!r} has type {type(value).__name__}; expected {expected}")


def integer(key: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """An int (a float with an integral value is accepted) in ``[low, high]``."""
    expected = "an integer" + (f" >= {low}" if low is not None else "")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(key, value, expected)
    if low is not None and value < low:
        raise ParameterError(f"{key}={value} must be {expected}")
    if high is not None and value > high:
        raise ParameterError(f"{key}={value} is above the limit of {high}")
    return value


def fraction(key: str, value: Any) -> float:
    """A share of the training set to hold out: a number in ``[0, 0.5]``."""
    share = number(key, value, high=0.5)
    if share < 0:
        raise ParameterError(f"{key}={value!r} must be a number in [0, 0.5]")
    return share


def number(key: str, value: Any, *, positive: bool = False, high: float | None = None) -> float:
    """A finite float; ``positive`` means > 0, ``high`` an inclusive upper bound."""
    rule = "a number" + (" > 0" if positive else "") + (f" <= {high:g}" if high is not None else "")
    if positive and high is not None:
        rule = f"a number in (0, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong_type(key, value, rule)
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0) or (high is not None and value > high):
        raise ParameterError(f"{key}={value:g} must be {rule}")
    return value


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(key, value, "true or false")
    return value


def text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _wrong_type(key, value, "a string")
    if not value.strip():
        raise ParameterError(f"{key} is empty")
    return value.strip()


def file_name(key: str, value: Any) -> str:
    """A name that is also used as a file or folder name (``actlab-runs/NAME``): one line, no
    path separator, not ``.`` or ``..`` -- so it can never point outside its folder."""
    value = text(key, value)
    separators = [c for c in ("/", "\\") if c in value]
    if separators:
        why = f"contains {separators[0]!r}"
    elif value in (".", ".."):
        why = "is a path, not a name"
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        why = "contains a control character"
    else:
        return value
    raise ParameterError(
        f"{key}={value!r} {why}; a name is one word or phrase without '/' or '\\' "
        "(it becomes a folder name)"
    )


def choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    value = text(key, value)
    if value not in choices:
        raise ParameterError(f"{key}={value!r} is not one of {', '.join(choices)}")
    return value


def mapping(key: str, value: Any, expected: str = "a table of parameter values") -> dict:
    """A mapping with string keys, from a dict or from ``(key, value)`` pairs."""
    is_pairs = isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value
    )
    if not (isinstance(value, Mapping) or is_pairs):
        raise _wrong_type(key, value, expected)
    out = dict(value)
    for k in out:
        if not isinstance(k, str):
            raise ParameterError(f"{key}: key {k!r} is not a string")
    return out


def names(key: str, value: Any, registry: Registry) -> tuple[str, ...]:
    """One name or a list of names, canonical, unique, non-empty."""
    items = [value] if isinstance(value, str) else value
    with at(key):
        if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
            raise _wrong_type(key, value, f"a list of {registry.kind} names")
        if not items:
            raise ParameterError(f"{key} is empty; give at least one {registry.kind} name")
    seen: dict[str, str] = {}
    for given in items:
        with at(key, value=given):
            name = registry.canonical(given)
            if name in seen:
                same = "" if seen[name] == given else f" ({seen[name]!r} and {given!r})"
                raise ParameterError(f"{key} lists {registry.kind} {name!r} twice{same}")
        seen[name] = given
    return tuple(seen)


def per_name(
    key: str, value: Any, registry: Registry, listed: tuple[str, ...], list_key: str, tables=True
) -> dict[str, tuple[str, Any]]:
    """``{name: {param: value}}`` (or ``{name: value}`` without ``tables``) keyed by canonical
    names, each one among ``listed``.

    Returns ``{canonical: (given_name, params)}`` (the given name is kept for error paths).
    """
    out: dict[str, tuple[str, Any]] = {}
    for given, params in mapping(key, value, f"a table of {registry.kind} names").items():
        with at(key, given):
            name = registry.canonical(given)
            if name not in listed:
                raise ParameterError(
                    f"{key} sets {name!r}, which is not in {list_key} ({', '.join(listed)})"
                )
            if name in out:
                raise ParameterError(f"{key} sets {name!r} twice ({out[name][0]!r}, {given!r})")
            out[name] = (given, mapping(f"{key}.{given}", params) if tables else params)
    return out


def seeds(value: Any) -> tuple[int, ...]:
    """A list of distinct integers >= 0, or ``n`` meaning ``0..n-1``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(integer("seeds", value, low=1, high=LIMITS["seeds"])))
    if not isinstance(value, (list, tuple)):
        raise _wrong_type("seeds", value, "a list of integers or a count")
    out = tuple(integer("seeds", s, low=0, high=LIMITS["seed"]) for s in value)
    if len(out) > LIMITS["seeds"]:
        raise ParameterError(f"seeds lists {len(out)} seeds; at most {LIMITS['seeds']} are allowed")
    if not out:
        raise ParameterError("seeds is empty; give at least one seed (or a count, seeds = 3)")
    if len(set(out)) != len(out):
        raise ParameterError(f"seeds={list(out)} repeats a seed")
    return out


def schedule(epochs: Any, steps: Any, eval_every: Any) -> dict[str, int | None]:
    """A run's schedule: ``epochs`` (10 when neither is given) or a ``steps`` budget, never
    both, and ``eval_every`` (steps between evaluations inside an epoch, or ``None``)."""
    if epochs is not None and steps is not None:
        with at("steps", value=steps):
            raise ParameterError(
                f"give epochs or steps, not both (epochs={epochs!r}, steps={steps!r}): a step "
                "budget replaces the number of epochs"
            )
    out: dict[str, int | None] = {"epochs": None, "steps": None, "eval_every": None}
    if steps is not None:
        with at("steps", value=steps):
            out["steps"] = integer("steps", steps, low=1, high=LIMITS["steps"])
    else:
        with at("epochs", value=epochs):
            out["epochs"] = integer("epochs", 10 if epochs is None else epochs, low=1)
    if eval_every is not None:
        with at("eval_every", value=eval_every):
            out["eval_every"] = integer("eval_every", eval_every, low=1, high=LIMITS["steps"])
    return out


def batch_size(value: Any) -> int | None:
    """``None`` or ``"full"`` (all training examples per step), or an integer >= 1."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "full"):
        return None
    if isinstance(value, str):
        raise ParameterError(f"batch_size={value!r} must be an integer >= 1 or 'full'")
    return integer("batch_size", value, low=1, high=LIMITS["batch_size"])


# ---- catalog entries -----------------------------------------------------------------------


def bind(info: Info, params: Mapping[str, Any], *path: str) -> dict[str, Any]:
    """``info.bind(params)``, checking parameter by parameter so an error names its key."""
    for k, v in params.items():
        with at(*path, k, value=v):
            info.param(k).validate(v, info.name)
    with at(*path):
        return info.bind(params)


def given(info: Info, params: Mapping[str, Any], *path: str) -> Pairs:
    """The values given, validated and coerced (defaults not filled in)."""
    bind(info, params, *path)
    return pairs({k: info.param(k).validate(v, info.name) for k, v in params.items()})


def dataset(name: Any, params: Mapping[str, Any]) -> tuple[DatasetInfo, Pairs]:
    """The dataset's record (for one's own data: its name and the task its target has, after
    reading and checking it all) and the parameters given."""
    from actlab.data import files

    if files.is_own(name):  # a data file, or tensors / a torch Dataset given in Python
        with at("dataset", value=name if isinstance(name, str) else None):
            name = files.name_of(name)
        p = given(files.info(name), mapping("dataset_params", params), "dataset_params")
        with at("dataset", value=name):
            return files.resolve(name, dict(p)), p
    with at("dataset", value=name):
        info = DATASETS.get(text("dataset", name))
    return info, given(info, mapping("dataset_params", params), "dataset_params")


def model(name: str, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The canonical architecture and its options (``None`` depth/width: its defaults). A
    user's factory is named ``"package.module:factory"``; a function defined at module level
    is turned into that reference (:func:`actlab.models.user.reference_of`)."""
    with at("model", value=name):
        info = MODELS.get(text("model", reference_of(name) if callable(name) else name))
    for key in ("depth", "width"):
        if options.get(key) is not None:
            with at(key):
                low = 0 if key == "depth" else 1  # the model says if it allows no hidden layer
                integer(key, options[key], low=low, high=LIMITS[key])
    values = {k: v for k, v in options.items() if v is not None}
    for key, value in values.items():
        with at(key, value=value):
            info.param(key).validate(value, f"model {info.name}")
    bound = info.bind(values)
    return info.name, {k: bound[k] for k in MODEL_OPTIONS}


def activation(name: str, params: Mapping[str, Any], *path: str) -> tuple[str, Pairs]:
    """Canonical name and all its parameters (defaults filled in; ``dim`` is the model's)."""
    info = ACTIVATIONS.get(name)
    for key in _SET_BY_MODEL:
        if key in params:
            with at(*path, key):
                raise ParameterError(f"{info.name}: {key} is set by the model (the feature axis)")
    bound = bind(info, params, *path)
    return info.name, pairs({k: v for k, v in bound.items() if k not in _SET_BY_MODEL})


def optimizer(name: str, params: Mapping[str, Any], *path: str) -> tuple[str, Pairs]:
    """Canonical name and every hyperparameter, lr included (convention presets applied)."""
    info = OPTIMIZERS.get(name)
    bind(info, params, *path)
    with at(*path):
        return info.name, pairs(info.resolve(params))


def initializer(
    name: str, params: Mapping[str, Any], act: str, act_params: Pairs, *path: str
) -> tuple[str, Pairs]:
    """Canonical name and its parameters with defaults (the activation comes from the model)."""
    info = INITIALIZERS.get(name)
    if info.uses_activation:
        for key in _FROM_MODEL:
            if key in params:
                with at(*path, key):
                    raise ParameterError(f"{info.name}: {key} is set by the model")
        params = {**params, "activation": act, "activation_params": dict(act_params)}
    bound = bind(info, params, *path)
    return info.name, pairs({k: v for k, v in bound.items() if k not in _FROM_MODEL})


def default_loss(data: DatasetInfo) -> str:
    return "cross_entropy" if data.task == "classification" else "squared_error"


def loss(name: str, params: Mapping[str, Any], data: DatasetInfo, *path: str) -> tuple[str, Pairs]:
    """Canonical name and its parameters with defaults; refuses losses that do not fit the data."""
    info = LOSSES.get(name)
    problem = loss_problem(info.name, data)
    if problem:
        raise ParameterError(problem)
    return info.name, pairs(bind(info, params, *path))


def loss_problem(name: str, data: DatasetInfo) -> str | None:
    """Why loss ``name`` cannot train on ``data`` (with what to use instead), or ``None``."""
    task = LOSSES.get(name).task
    if task == data.task:
        return None
    fits = ", ".join(i.name for i in LOSSES if i.task == data.task)
    instead = f"use a {data.task} loss: {fits}"
    why = {
        "metric": "is a metric, not a training loss (it has no gradient)",
        "multilabel": "needs several 0/1 labels per example, but each example has one class",
        "distribution": "compares probability distributions, but the targets are class labels",
    }.get(task, f"is a {task} loss but dataset {data.name!r} is a {data.task} dataset")
    if task in ("multilabel", "distribution") and data.task == "regression":
        why = f"is a {task} loss but dataset {data.name!r} is a regression dataset"
    return f"loss {name!r} {why}; {instead}"
