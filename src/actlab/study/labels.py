"""Variants and their labels: which axes of a grid vary, and a short label naming only those.

A *variant* is one configuration without its seed. :func:`varying_axes` finds the axes whose
values differ between variants (``"activation"``, ``"optimizer.lr"``, ``"width"``), and
:func:`variant_label` writes a variant as those values: ``relu · adam lr=0.002``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actlab.study.store import canonical_json

__all__ = [
    "PRIMARY",
    "axis_value",
    "show",
    "show_value",
    "variant_label",
    "varying_axes",
    "without_seed",
]

PRIMARY = ("activation", "optimizer", "init", "loss")
_MISSING = object()


def without_seed(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "seed"}


def _family(axis: str) -> str:
    return axis.split(".", 1)[0]


def _differs(values: Iterable[Any]) -> bool:
    seen = {canonical_json(v) if v is not _MISSING else "\0missing" for v in values}
    return len(seen) > 1


def varying_axes(configs: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The axes whose values differ between ``configs`` (``seed`` is never one).

    An axis is a top-level key (``"activation"``, ``"width"``) or, for an entry of a
    ``<family>_params`` dict, ``"<family>.<entry>"`` (``"optimizer.lr"``,
    ``"activation.negative_slope"``). A key missing from some configs differs from any value.
    Order: activation, optimizer, init, loss (each followed by its params), then the rest
    alphabetically.
    """
    configs = [without_seed(c) for c in configs]
    keys = sorted({k for c in configs for k in c})
    axes = []
    for key in keys:
        values = [c.get(key, _MISSING) for c in configs]
        if key.endswith("_params") and all(isinstance(v, Mapping) or v is _MISSING for v in values):
            family = key[: -len("_params")]
            dicts = [v if isinstance(v, Mapping) else {} for v in values]
            names = [c.get(family) for c in configs]
            for entry in sorted({e for d in dicts for e in d}):
                if _entry_varies(entry, dicts, names):
                    axes.append(f"{family}.{entry}")
        elif _differs(values):
            axes.append(key)

    def order(axis: str) -> tuple[int, str, int, str]:
        family, _, entry = axis.partition(".")
        rank = PRIMARY.index(family) if family in PRIMARY else len(PRIMARY)
        return rank, family, bool(entry), entry

    return tuple(sorted(axes, key=order))


def _entry_varies(entry: str, dicts: list[Mapping[str, Any]], names: list[Any]) -> bool:
    """A params entry varies if it differs between configs of the *same* family name (two adam
    runs with different betas); a parameter that one optimizer has and another lacks is not a
    variable. The learning rate is compared across all names: "sgd lr=0.1" vs "adam lr=0.002"."""
    if entry == "lr":
        return _differs(d.get(entry, _MISSING) for d in dicts)
    by_name: dict[Any, list[Any]] = {}
    for d, name in zip(dicts, names):
        by_name.setdefault(repr(name), []).append(d.get(entry, _MISSING))
    return any(_differs(values) for values in by_name.values())


def show(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={show(v)}" for k, v in value.items()) + "}"
    return str(value)


def show_value(axis: str, value: Any) -> str:
    """:func:`show`, but a full batch (``batch_size`` ``None``) is ``full``."""
    return "full" if axis == "batch_size" and value is None else show(value)


def variant_label(config: Mapping[str, Any], varying: Sequence[str]) -> str:
    """A short label from the axes in ``varying`` (see :func:`varying_axes`), joined by `` · ``.

    A family is written as its name with the varying entries of its params that this config
    has: ``leaky_relu(negative_slope=0.1)``; the optimizer as ``adam lr=0.002`` (how learning
    rates are usually quoted); other keys as ``width=100``. With nothing varying the label names
    the activation and optimizer (``relu · adam``).
    """
    if not varying:
        return " · ".join(str(config[k]) for k in ("activation", "optimizer") if k in config) or (
            "all runs"
        )
    parts = []
    for family in dict.fromkeys(_family(a) for a in varying):
        entries = [a.partition(".")[2] for a in varying if a.startswith(f"{family}.")]
        params = config.get(f"{family}_params")
        params = params if isinstance(params, Mapping) else {}
        shown = [f"{e}={show(params[e])}" for e in entries if e in params]
        if family not in config:
            parts.append(" ".join(shown) or f"{family}=-")
        elif not shown:
            name = show_value(family, config[family])
            has_params = f"{family}_params" in config or family in PRIMARY
            parts.append(name if has_params else f"{family}={name}")
        elif family == "optimizer":
            parts.append(" ".join([show(config[family]), *shown]))
        else:
            parts.append(f"{show(config[family])}({', '.join(shown)})")
    return " · ".join(parts)


def axis_value(config: Mapping[str, Any], axis: str) -> Any:
    """The value of ``axis`` (see :func:`varying_axes`) in ``config``: ``config["width"]`` for
    ``"width"``, ``config["optimizer_params"]["lr"]`` for ``"optimizer.lr"``; ``None`` when the
    config lacks it."""
    family, _, entry = axis.partition(".")
    if not entry:
        return config.get(family)
    params = config.get(f"{family}_params")
    return params.get(entry) if isinstance(params, Mapping) else None
