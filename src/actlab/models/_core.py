"""The model record, the registry every architecture is declared in, :class:`ModelSpec` and
:func:`build`.

A model is named by a frozen :class:`ModelSpec` (architecture, sizes, and catalog names for its
activation and initializer); :func:`build` turns it into a plain ``nn.Module`` whose weights are
drawn from one ``torch.Generator`` seeded by ``seed``, so ``(spec, seed)`` fixes the network.

>>> spec = ModelSpec("mlp", input_shape=(2,), n_outputs=3, depth=2, width=8, activation="tanh")
>>> model = build(spec, seed=0)
>>> model(torch.zeros(5, 2)).shape
torch.Size([5, 3])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

from actlab._registry import Info, Param, Registry
from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError, ParameterError
from actlab.init import INITIALIZERS, init_

__all__ = ["MODELS", "NORMALIZATIONS", "ModelInfo", "ModelSpec", "build", "register"]

NORMALIZATIONS = ("none", "batchnorm", "layernorm")

DEPTH_DOC = "hidden layers (mlp) or convolution blocks (cnn)"
WIDTH_DOC = "units per hidden layer (mlp) or channels per convolution (cnn)"


def hyperparams(
    depth: int, width: int, *, residual: bool = True, min_depth: int = 1
) -> tuple[Param, ...]:
    """The sizes and options every architecture declares, with its own default depth and width
    (``min_depth=0``: no hidden layer at all, e.g. an MLP as a linear/softmax regression)."""
    return (
        Param("depth", depth, DEPTH_DOC, low=min_depth, kind=int),
        Param("width", width, WIDTH_DOC, low=1, kind=int),
        Param(
            "normalization", "none", "placed Linear -> Norm -> Activation", choices=NORMALIZATIONS
        ),
        Param(
            "dropout",
            0.0,
            "drop probability after each activation",
            low=0.0,
            high=1.0,
            high_open=True,
        ),
        Param(
            "residual",
            False,
            "x + block(x) where a block keeps the shape",
            choices=(False, True) if residual else (False,),
        ),
        Param("pieces", 2, "linear pieces per maxout unit (activation 'maxout')", low=1, kind=int),
    )


@dataclass(frozen=True)
class ModelInfo(Info):
    """One architecture, declared once.

    Attributes:
        builder: ``builder(spec) -> nn.Module``, the uninitialized network (:func:`build` draws
            its weights).
        check_input: ``check_input(input_shape) -> message | None``: the input shapes it accepts.
        check_spec: ``check_spec(spec) -> message | None``: combinations of sizes it cannot build.
        global_seed: the builder draws from torch's global generator (a user's factory):
            :func:`build` seeds it from ``seed`` for the call and restores it afterwards.
    """

    builder: Callable[[ModelSpec], nn.Module] | None = None
    check_input: Callable[[tuple[int, ...]], str | None] | None = None
    check_spec: Callable[[ModelSpec], str | None] | None = None
    global_seed: bool = False


class _Models(Registry[ModelInfo]):
    """The architectures; ``get("package.module:factory")`` answers a user's model factory
    (:mod:`actlab.models.user`), never registered, so ``names()`` lists the catalog only."""

    def get(self, name: str) -> ModelInfo:
        from actlab.models import user

        return user.model_info(name) if user.is_reference(name) else super().get(name)


MODELS: Registry[ModelInfo] = _Models("model")


def register(**kwargs: Any) -> ModelInfo:
    """Declare an architecture: ``register(name=..., builder=..., params=hyperparams(...))``."""
    return MODELS.register(ModelInfo(**kwargs))


_HYPER = ("depth", "width", "normalization", "dropout", "residual", "pieces")
_SET_BY_MODEL = ("dim", "pieces")  # the feature axis is the model's; pieces is ModelSpec.pieces


@dataclass(frozen=True)
class ModelSpec:
    """A network named by catalog names and sizes; validated and canonical once constructed.

    Attributes:
        kind: a :data:`MODELS` name: ``"mlp"``, ``"cnn1d"``, ``"cnn2d"``; or your own model,
            ``"package.module:factory"`` (:mod:`actlab.models.user`).
        input_shape: one example's shape, e.g. ``(40,)`` for MNIST-1D or ``(1, 28, 28)``.
        n_outputs: width of the (linear) output layer: classes or regression targets.
        depth, width: hidden layers and their units (mlp), or conv blocks and their channels
            (cnn); ``None`` takes the architecture's default.
        activation: a catalog activation name; ``"maxout"`` makes every hidden layer a maxout
            layer (:class:`actlab.nn.Maxout`) of ``pieces`` pieces.
        activation_params: its parameters (validated against the catalog; stored with defaults
            filled in, as sorted ``(name, value)`` pairs so that the spec stays hashable).
        init: a catalog initializer name; ``init_params`` its parameters (stored like
            ``activation_params``). Activation-aware schemes (``auto``) read ``activation``.
        normalization: ``"none"``, ``"batchnorm"`` or ``"layernorm"``, placed Linear -> Norm ->
            Activation.
        dropout: drop probability after each hidden activation, in [0, 1).
        residual: add each hidden block's input to its output where the shapes agree.
        pieces: linear pieces per maxout unit (used only with activation ``"maxout"``).

    Raises:
        ActlabError: one line naming the bad field (unknown names list the closest valid ones).
    """

    kind: str = "mlp"
    input_shape: tuple[int, ...] = (2,)
    n_outputs: int = 2
    depth: int | None = None
    width: int | None = None
    activation: str = "relu"
    activation_params: Any = field(default_factory=tuple)
    init: str = "auto"
    init_params: Any = field(default_factory=tuple)
    normalization: str = "none"
    dropout: float = 0.0
    residual: bool = False
    pieces: int = 2

    def __post_init__(self) -> None:
        info = MODELS.get(self.kind)
        set_ = object.__setattr__
        set_(self, "kind", info.name)
        set_(self, "input_shape", _shape(self.input_shape))
        if (
            isinstance(self.n_outputs, bool)
            or not isinstance(self.n_outputs, int)
            or self.n_outputs < 1
        ):
            raise ParameterError(f"n_outputs={self.n_outputs!r} must be an integer >= 1")
        given = {k: getattr(self, k) for k in _HYPER if getattr(self, k) is not None}
        for key, value in info.bind(given).items():
            set_(self, key, value)
        act = ACTIVATIONS.get(self.activation)
        set_(self, "activation", act.name)
        params = dict(self.activation_params)
        for key in _SET_BY_MODEL:
            if key in params and key in act.defaults:
                raise ParameterError(
                    f"{act.name}: {key} is set by the model"
                    + (" (use ModelSpec.pieces)" if key == "pieces" else " (the feature axis)")
                )
        bound = act.bind(params)
        set_(self, "activation_params", _pairs(bound, drop=_SET_BY_MODEL))
        scheme = INITIALIZERS.get(self.init)
        set_(self, "init", scheme.name)
        iparams = dict(self.init_params)
        if scheme.uses_activation and {"activation", "activation_params"} & set(iparams):
            raise ParameterError(f"{scheme.name}: the activation is set by the model")
        set_(self, "init_params", _pairs(iparams))
        scheme.bind(self.init_kwargs())  # raises on bad values
        for check, arg in ((info.check_input, self.input_shape), (info.check_spec, self)):
            problem = check(arg) if check is not None else None
            if problem:
                raise ActlabError(f"{info.name}: {problem}")

    @classmethod
    def for_data(cls, data: Any, kind: str = "mlp", **fields_: Any) -> ModelSpec:
        """A spec sized for a dataset (anything with ``input_shape`` and ``n_outputs``)."""
        return cls(kind, input_shape=data.input_shape, n_outputs=data.n_outputs, **fields_)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (and validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return ModelSpec(**{**values, **changes})

    @property
    def activation_kwargs(self) -> dict[str, Any]:
        """The activation's parameters as keyword arguments (``dim``/``pieces`` excluded)."""
        return dict(self.activation_params)

    @property
    def maxout(self) -> bool:
        return self.activation == "maxout"

    @property
    def in_features(self) -> int:
        return math.prod(self.input_shape)

    def init_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.init_params)
        if INITIALIZERS.get(self.init).uses_activation:
            act = self.activation_kwargs
            if self.maxout:
                act["pieces"] = self.pieces
            kwargs.update(activation=self.activation, activation_params=act)
        return kwargs


def _shape(shape: Any) -> tuple[int, ...]:
    try:
        dims = tuple(shape)
    except TypeError:
        dims = (shape,)
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ParameterError(f"input_shape={shape!r} must be a non-empty tuple of integers >= 1")
    return dims


def _pairs(params: Mapping[str, Any], drop: tuple[str, ...] = ()) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in params.items() if k not in drop))


def build(spec: ModelSpec, *, seed: int) -> nn.Module:
    """The plain network ``spec`` names, with weights drawn reproducibly from ``seed``.

    Weights come from ``actlab.init.init_(model, spec.init, ...)`` with one CPU
    ``torch.Generator`` seeded by ``seed``. Draw order: layers in ``model.modules()`` order
    (registration = forward order, the output layer last), each layer's weight then its bias.
    Norm layers start at weight 1, bias 0; learnable activation parameters at their defaults.
    The model is float32 on the CPU; ``.to(...)`` it afterwards.

    >>> a = build(ModelSpec(width=4), seed=1)
    >>> b = build(ModelSpec(width=4), seed=1)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError(f"seed={seed!r} must be an integer")
    info = MODELS.get(spec.kind)
    with torch.random.fork_rng(devices=[], enabled=info.global_seed):
        if info.global_seed:
            torch.manual_seed(seed)
        model = info.builder(spec)
    generator = torch.Generator().manual_seed(seed)
    return init_(model, spec.init, generator=generator, **spec.init_kwargs())
