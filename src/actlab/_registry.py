"""One generic registry used by every catalog (activations, optimizers, losses, initializers, ...).

Each catalog declares its entries once, as frozen :class:`Info` records (or subclasses of it that
add catalog-specific fields), and registers them in a :class:`Registry`. Everything else -- the
CLI's choices, ``actlab list``, the generated docs and the parametrized tests -- reads the registry.

Example::

    >>> reg = Registry("widget")
    >>> _ = reg.register(Info(name="spam", summary="a widget", params=(Param("size", 1.0, low=0),)))
    >>> reg.alias("ham", "spam")
    >>> reg.get("ham").name
    'spam'
    >>> reg.get("spma")
    Traceback (most recent call last):
    ...
    actlab.errors.UnknownNameError: unknown widget 'spma'; did you mean: spam?
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from actlab.errors import ParameterError, UnknownNameError

__all__ = ["Info", "Param", "Registry", "closest", "resolve"]

_KINDS = (bool, int, float, str, tuple)


def closest(name: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The up-to-``n`` candidates closest to ``name`` (difflib ratio, with a prefix fallback)."""
    key = name.lower().replace("-", "_")
    found = difflib.get_close_matches(key, candidates, n=n, cutoff=0.5)
    if not found:
        found = [c for c in candidates if c.startswith(key[:3])][:n]
    return found


def resolve(kind: str, name: str, names: Collection[str], aliases: Mapping[str, str]) -> str:
    """The canonical name that ``name`` stands for among a registry's ``names`` and ``aliases``
    (alias -> name): as given, then lower-case with ``-`` as ``_``; an unknown name raises
    :class:`UnknownNameError` naming the closest. :meth:`Registry.get` looks names up with it,
    and so does the command line's cache, which holds a registry's names without the registry."""
    if not isinstance(name, str):
        raise UnknownNameError(f"{kind} name must be a string, got {name!r}")
    key = name.strip()
    if key in names:
        return key
    if key in aliases:
        return aliases[key]
    lowered = key.lower().replace("-", "_")
    if lowered in names or lowered in aliases:
        return resolve(kind, lowered, names, aliases)
    near = closest(key, [*names, *aliases])
    hint = f"; did you mean: {', '.join(near)}?" if near else f" (see 'actlab list {kind}s')"
    raise UnknownNameError(f"unknown {kind} {name!r}{hint}")


@dataclass(frozen=True)
class Param:
    """A declared hyperparameter: default, type and valid range.

    ``low``/``high`` bound numeric values (inclusive unless ``low_open``/``high_open``);
    ``choices`` restricts strings (or any value) to a fixed set. ``learnable`` marks parameters
    that a module may turn into an ``nn.Parameter``.
    """

    name: str
    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    kind: type | None = None
    learnable: bool = False

    @property
    def type(self) -> type:
        if self.kind is not None:
            return self.kind
        return type(self.default) if isinstance(self.default, _KINDS) else float

    def range_text(self) -> str:
        """The valid range as readers write it: ``[0, inf)``, ``(0, 1)``, ``{'none', 'tanh'}``."""
        if self.choices is not None:
            return "{" + ", ".join(repr(c) for c in self.choices) + "}"
        if self.type is bool:
            return "{True, False}"
        if self.low is None and self.high is None:
            return "any " + self.type.__name__
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if self.low is None or self.low_open else "["
        right = ")" if self.high is None or self.high_open else "]"
        return f"{left}{lo}, {hi}{right}"

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` coerced to this parameter's type, or raise :class:`ParameterError`."""
        where = f"{owner}: " if owner else ""
        value = self._coerce(value, where)
        if self.choices is not None:
            if value not in self.choices:
                raise ParameterError(
                    f"{where}{self.name}={value!r} is not one of {self.range_text()}"
                )
            return value
        if self.type in (int, float) and not _in_range(self, value):
            raise ParameterError(
                f"{where}{self.name}={_fmt(value)} is out of range; valid range is "
                f"{self.range_text()}"
            )
        return value

    def parse(self, text: str, owner: str = "") -> Any:
        """Parse a command-line string (``"0.1"``, ``"true"``, ``"tanh"``) and validate it."""
        t = self.type
        where = f"{owner}: " if owner else ""
        if t is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return self.validate(True, owner)
            if low in ("0", "false", "no", "off"):
                return self.validate(False, owner)
            raise ParameterError(f"{where}{self.name}={text!r} is not a boolean (true/false)")
        if t in (int, float):
            try:
                number = float(text)
            except ValueError:
                raise ParameterError(
                    f"{where}{self.name}={text!r} is not a number; expected {t.__name__}"
                ) from None
            return self.validate(number, owner)
        if t is tuple:
            try:
                return self.validate(tuple(float(v) for v in text.split(",")), owner)
            except ValueError:
                raise ParameterError(
                    f"{where}{self.name}={text!r} is not a comma-separated list of numbers"
                ) from None
        return self.validate(text, owner)

    def _coerce(self, value: Any, where: str) -> Any:
        t = self.type
        if t is bool:
            if isinstance(value, bool):
                return value
        elif t is int:
            if isinstance(value, bool):
                pass
            elif isinstance(value, int):
                return value
            elif isinstance(value, float) and value.is_integer():
                return int(value)
        elif t is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif t is str:
            if isinstance(value, str):
                return value
        elif t is tuple:
            if isinstance(value, (tuple, list)):
                return tuple(value)
        else:
            return value
        raise ParameterError(
            f"{where}{self.name}={value!r} has type {type(value).__name__}; expected {t.__name__}"
        )


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


def _in_range(p: Param, v: float) -> bool:
    if isinstance(v, float) and math.isnan(v):
        return False
    if p.low is not None and (v < p.low or (p.low_open and v == p.low)):
        return False
    return not (p.high is not None and (v > p.high or (p.high_open and v == p.high)))


@dataclass(frozen=True)
class Info:
    """A catalog entry: its name, a one-line summary, declared parameters and a reference.

    Catalogs subclass this (frozen too) to add their own fields -- an activation adds its function
    and derivatives, an optimizer its transforms. ``check`` validates combinations of parameters
    (``lower <= upper``); it returns a message naming the problem, or ``None``.
    """

    name: str
    summary: str = ""
    params: tuple[Param, ...] = ()
    reference: str = ""
    aliases: tuple[str, ...] = field(default=(), compare=False)
    check: Callable[[dict[str, Any]], str | None] | None = field(default=None, compare=False)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(_unknown_param_message(self, name))

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def bind(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """All parameters: the defaults, overridden by the validated values given."""
        given = {**(params or {}), **kwargs}
        out = self.defaults
        for key, value in given.items():
            out[key] = self.param(key).validate(value, self.name)
        problem = self.check(out) if self.check is not None else None
        if problem:
            raise ParameterError(f"{self.name}: {problem}")
        return out

    def parse(self, assignments: Mapping[str, str]) -> dict[str, Any]:
        """Validated values from command-line strings, e.g. ``{"negative_slope": "0.1"}``."""
        return {k: self.param(k).parse(v, self.name) for k, v in assignments.items()}


def _unknown_param_message(info: Info, name: str) -> str:
    valid = [p.name for p in info.params]
    near = closest(name, valid)
    sibling = _sibling(info, name)
    if sibling is not None:  # sgd(momentun=...): momentum is an entry of its own, not a setting
        kind = _kind_of(info)
        hint = f"; {sibling!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} of its own"
    elif near:
        hint = f"; did you mean: {', '.join(near)}?"
    else:
        hint = f"; valid: {', '.join(valid)}" if valid else " (it takes no parameters)"
    return f"{info.name} has no parameter {name!r}{hint}"


_REGISTRIES: list[Registry] = []  # every registry made, to name an entry's siblings in errors


def _kind_of(info: Info) -> str:
    return next((r.kind for r in _REGISTRIES if info.name in r._entries), "entry")


def _sibling(info: Info, name: str) -> str | None:
    """Another entry of ``info``'s registry close to ``name`` (an entry, not a parameter)."""
    for registry in _REGISTRIES:
        if registry._entries.get(info.name) is info:
            near = difflib.get_close_matches(name.lower(), registry.names(), n=1, cutoff=0.75)
            return near[0] if near and near[0] != info.name else None
    return None


InfoT = TypeVar("InfoT", bound=Info)


class Registry(Generic[InfoT]):
    """Named, frozen catalog entries with aliases and helpful errors for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        _REGISTRIES.append(self)
        self._entries: dict[str, InfoT] = {}
        self._aliases: dict[str, str] = {}

    def register(self, info: InfoT) -> InfoT:
        if info.name in self._entries or info.name in self._aliases:
            raise ValueError(f"{self.kind} {info.name!r} is already registered")
        self._entries[info.name] = info
        for a in info.aliases:
            self.alias(a, info.name)
        return info

    def alias(self, alias: str, target: str) -> None:
        if alias in self._entries or (alias in self._aliases and self._aliases[alias] != target):
            raise ValueError(f"{self.kind} name {alias!r} is already taken")
        self.get(target)
        self._aliases[alias] = target

    def canonical(self, name: str) -> str:
        return self.get(name).name

    def get(self, name: str) -> InfoT:
        return self._entries[resolve(self.kind, name, self._entries, self._aliases)]

    def names(self, *, aliases: bool = False) -> tuple[str, ...]:
        """Canonical names in registration order (and the aliases too, when asked)."""
        if aliases:
            return (*self._entries, *self._aliases)
        return tuple(self._entries)

    def aliases_of(self, name: str) -> tuple[str, ...]:
        target = self.canonical(name)
        return tuple(a for a, t in self._aliases.items() if t == target)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def __iter__(self) -> Iterator[InfoT]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
