"""One training run of a study, fully resolved: :class:`RunConfig`.

A run config names everything that decides a training run -- data, architecture, activation,
optimizer (every hyperparameter), initializer, loss, schedule, dtype and seed -- by canonical
catalog names with all parameters validated. It is frozen and hashable; :meth:`RunConfig.to_dict`
is what the store keeps, and :attr:`RunConfig.key` (a hash of it) is the run's primary key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from actlab._registry import closest
from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.models import ModelSpec
from actlab.optim import OPTIMIZERS
from actlab.study import _fields as F
from actlab.study.store import run_key

__all__ = ["AXES", "STACK_FIELDS", "RunConfig"]

AXES = ("activation", "optimizer", "lr", "init", "loss")
"""The axes a study's grid may vary (besides the seed), in grid order."""
SWEPT = (
    "depth",
    "width",
    "normalization",
    "dropout",
    "residual",
    "batch_size",
    "epochs",
    "steps",
    "weight_decay",
    "label_smoothing",
)
"""Fields a study may sweep (give as a list); they label a run as ``depth=3``, ``batch=full``
(``weight_decay``, ``label_smoothing``: the optimizer's / loss's parameter; the dataset's
parameters are swept axes too, by their names: ``noise=0.2``)."""

_PARAMS = ("dataset_params", "activation_params", "optimizer_params", "init_params", "loss_params")
# What runs must share to train together in one batch (RunConfig.stack_key), and what a study
# fixes for all its runs.
STACK_FIELDS = (
    "dataset",
    "dataset_params",
    "model",
    "depth",
    "width",
    "normalization",
    "dropout",
    "residual",
    "epochs",
    "batch_size",
    "dtype",
    "validation",
    "shuffle",
    "steps",
    "eval_every",
)


@dataclass(frozen=True)
class RunConfig:
    """One training run, resolved and validated on construction.

    Attributes:
        dataset, dataset_params: a :data:`actlab.data.DATASETS` name and the parameters given
            (validated; defaults not filled in), as sorted ``(name, value)`` pairs.
        model, depth, width, normalization, dropout, residual: the architecture
            (:data:`actlab.models.MODELS`); ``None`` depth/width become the model's defaults.
        activation, activation_params: canonical name, all parameters (defaults filled in).
        optimizer, optimizer_params: canonical name, every hyperparameter including ``lr``
            (``OPTIMIZERS.get(name).resolve``); ``betas`` stay tuples.
        init, init_params: canonical initializer and its parameters (defaults filled in; an
            activation-aware scheme such as ``auto`` reads the activation from the model).
        loss, loss_params: canonical loss (``None``: cross-entropy for classification data,
            squared error for regression) and its parameters with defaults.
        epochs: passes over the training data (``None`` with a ``steps`` budget; else 10
            when not given).
        steps: a step budget instead of epochs: exactly this many optimizer steps.
        eval_every: also evaluate every this many optimizer steps inside an epoch (``None``:
            at the end of each epoch only).
        batch_size: examples per step; ``None`` = full batch, ``1`` = plain SGD.
        dtype: ``"float32"`` or ``"float64"``.
        seed: seeds the weights and the batch order.

    Example::

        >>> rc = RunConfig(activation="swish", optimizer="adam", optimizer_params={"lr": 3e-3})
        >>> rc.activation, rc.width, dict(rc.optimizer_params)["lr"], rc.loss
        ('silu', 64, 0.003, 'cross_entropy')
        >>> RunConfig.from_dict(rc.to_dict()) == rc, len(rc.key)
        (True, 16)
    """

    dataset: str = "mnist1d"
    dataset_params: F.Pairs = ()
    model: str = "mlp"
    depth: int | None = None
    width: int | None = None
    normalization: str = "none"
    dropout: float = 0.0
    residual: bool = False
    activation: str = "relu"
    activation_params: F.Pairs = ()
    optimizer: str = "adam"
    optimizer_params: F.Pairs = ()
    init: str = "auto"
    init_params: F.Pairs = ()
    loss: str | None = None
    loss_params: F.Pairs = ()
    epochs: int | None = None
    batch_size: int | None = 100
    dtype: str = "float32"
    seed: int = 0
    validation: float = 0.0
    shuffle: bool = True
    steps: int | None = None
    eval_every: int | None = None

    def __post_init__(self) -> None:
        set_ = self._set
        data, dataset_params = F.dataset(self.dataset, self.dataset_params)
        set_(dataset=data.name, dataset_params=dataset_params)
        options = {k: getattr(self, k) for k in F.MODEL_OPTIONS}
        name, options = F.model(self.model, options)
        set_(model=name, **options)
        set_(**_entry("activation", F.activation, self.activation, self.activation_params))
        set_(**_entry("optimizer", F.optimizer, self.optimizer, self.optimizer_params))
        init, init_params = F.initializer(
            self.init,
            F.mapping("init_params", self.init_params),
            self.activation,
            self.activation_params,
            "init_params",
        )
        set_(init=init, init_params=init_params)
        loss = F.default_loss(data) if self.loss is None else self.loss
        resolve_loss = lambda n, p, *path: F.loss(n, p, data, *path)  # noqa: E731
        set_(**_entry("loss", resolve_loss, loss, self.loss_params))
        set_(
            **F.schedule(self.epochs, self.steps, self.eval_every),
            batch_size=F.batch_size(self.batch_size),
            dtype=F.choice("dtype", self.dtype, F.DTYPES),
            seed=F.integer("seed", self.seed, low=0),
            validation=F.fraction("validation", self.validation),
            shuffle=F.boolean("shuffle", self.shuffle),
        )

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored as the run's config: pairs -> dicts, tuples -> lists."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if not out["validation"]:  # no hold-out: the keys of runs from before it existed
            del out["validation"]
        if out["shuffle"]:  # the default order: likewise
            del out["shuffle"]
        for key in ("epochs", "steps", "eval_every"):  # unset (epochs: with a step budget)
            if out[key] is None:
                del out[key]
        return {k: F.as_dict(v) if k in _PARAMS else F.thaw(v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunConfig:
        """The config :meth:`to_dict` returned (validated again); unknown keys are an error."""
        d = F.mapping("run config", d, "a mapping")
        valid = [f.name for f in fields(cls)]
        for key in d:
            if key not in valid:
                near = closest(key, valid)
                hint = f"; did you mean: {', '.join(near)}?" if near else ""
                raise ActlabError(f"unknown run config key {key!r}{hint}")
        return cls(**d)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def key(self) -> str:
        """The run's stable key in the store: a hash of :meth:`to_dict`."""
        return run_key(self.to_dict())

    @property
    def variant(self) -> dict[str, Any]:
        """:meth:`to_dict` without the seed: what the seeds of one variant share."""
        out = self.to_dict()
        del out["seed"]
        return out

    @property
    def stack_key(self) -> tuple:
        """What runs must share to be trained together in one batch (one architecture,
        one data stream, one schedule, one dtype)."""
        return tuple(getattr(self, k) for k in STACK_FIELDS)

    @property
    def lr(self) -> float:
        """The learning rate (also in :attr:`optimizer_params`)."""
        return dict(self.optimizer_params)["lr"]

    def model_spec(self, data: Any) -> ModelSpec:
        """The :class:`~actlab.models.ModelSpec` of this run's network for ``data`` (anything with
        ``input_shape`` and ``n_outputs``, e.g. a loaded :class:`~actlab.data.Dataset`)."""
        act = dict(self.activation_params)
        pieces = act.pop("pieces") if self.activation == "maxout" else 2
        return ModelSpec.for_data(
            data,
            self.model,
            depth=self.depth,
            width=self.width,
            activation=self.activation,
            activation_params=tuple(act.items()),
            init=self.init,
            init_params=self.init_params,
            normalization=self.normalization,
            dropout=self.dropout,
            residual=self.residual,
            pieces=pieces,
        )

    def _swept_value(self, axis: str) -> Any:
        if axis == "weight_decay":
            return dict(self.optimizer_params).get(axis)
        if axis == "label_smoothing":
            return dict(self.loss_params).get(axis)
        return getattr(self, axis)

    def label(self, axes: Iterable[str] = ()) -> str:
        """A short label of this variant made of the given axes (see :data:`AXES`), parts
        joined by `` · ``; a name shows its non-default parameters. No axes: activation,
        optimizer and lr.

        >>> RunConfig(activation="relu", optimizer_params={"lr": 0.003}).label(["activation", "lr"])
        'relu · lr=0.003'
        >>> RunConfig(activation="elu", activation_params={"alpha": 0.5}).label(["activation"])
        'elu(alpha=0.5)'
        """
        axes = tuple(axes) or ("activation", "optimizer", "lr")
        data = dict(self.dataset_params)
        valid = AXES + SWEPT + tuple(data)
        for axis in axes:
            if axis not in valid:
                near = closest(axis, list(valid))
                hint = f"; did you mean: {', '.join(near)}?" if near else ""
                raise ActlabError(f"unknown axis {axis!r} (valid: {', '.join(valid)}){hint}")
        parts = [f"{k}={_fmt(v)}" for k, v in data.items() if k in axes]
        parts += [_swept(axis, self._swept_value(axis)) for axis in SWEPT if axis in axes]
        if "activation" in axes:
            info = ACTIVATIONS.get(self.activation)
            parts.append(_named(self.activation, self.activation_params, info.defaults))
        opt = []
        if "optimizer" in axes:
            params = dict(self.optimizer_params)
            defaults = OPTIMIZERS.get(self.optimizer).resolve(convention=params["convention"])
            defaults["convention"], defaults["lr"] = "torch", params["lr"]
            if "weight_decay" in axes:  # shown as its own part
                defaults["weight_decay"] = params.get("weight_decay")
            opt.append(_named(self.optimizer, self.optimizer_params, defaults))
        if "lr" in axes:
            opt.append(f"lr={_fmt(self.lr)}")
        if opt:
            parts.append(" ".join(opt))
        if "init" in axes:
            defaults = INITIALIZERS.get(self.init).defaults
            parts.append("init=" + _named(self.init, self.init_params, defaults))
        if "loss" in axes:
            defaults = dict(LOSSES.get(self.loss).defaults)
            if "label_smoothing" in axes:  # shown as its own part
                defaults["label_smoothing"] = dict(self.loss_params).get("label_smoothing")
            parts.append(_named(self.loss, self.loss_params, defaults))
        return " · ".join(parts)


def _swept(axis: str, value: Any) -> str:
    """``depth=3``, ``batch=full``, ``residual``/``no residual``, ``wd=0.0001``, ``ls=0.1``."""
    short = {"weight_decay": "wd", "label_smoothing": "ls"}
    if axis in short:
        return f"{short[axis]}={_fmt(value)}"
    if axis == "batch_size":
        return "batch=full" if value is None else f"batch={value}"
    if axis == "residual":
        return "residual" if value else "no residual"
    return f"{axis}={_fmt(value) if isinstance(value, float) else value}"


def _entry(field: str, resolve: Any, name: str, params: Any) -> dict[str, Any]:
    key = f"{field}_params"
    with F.at(field, value=name):
        F.text(field, name)
    name, resolved = resolve(name, F.mapping(key, params), key)
    return {field: name, key: resolved}


def _named(name: str, params: F.Pairs, defaults: Mapping[str, Any]) -> str:
    changed = [f"{k}={_fmt(v)}" for k, v in params if k in defaults and defaults[k] != v]
    return f"{name}({', '.join(changed)})" if changed else name


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ",".join(_fmt(v) for v in value) + ")"
    return str(value)
