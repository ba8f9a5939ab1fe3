"""The study specification: a grid of training runs, as one frozen, canonical :class:`Study`.

A study fixes the data, the architecture and the schedule, and crosses lists of activations,
optimizers (and learning rates), initializers and losses with a list of seeds. Every name goes
through its catalog on construction (aliases become canonical names, parameters are validated),
so two studies that mean the same grid compare equal and store the same :meth:`Study.to_dict`.

Example::

    >>> s = Study(activations=["relu", "swish"], optimizers=["sgd", "adam"],
    ...           lrs={"sgd": 0.1}, seeds=2, epochs=5)
    >>> s.activations, len(s.runs()), s.varying()
    (('relu', 'silu'), 8, ('activation', 'optimizer', 'lr'))
    >>> s.runs()[0].label(s.varying())
    'relu · sgd lr=0.1'
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from actlab._registry import closest
from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError, ParameterError
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.optim import OPTIMIZERS
from actlab.study import _fields as F
from actlab.study import loading, tuning
from actlab.study._rows import METRICS
from actlab.study.run_config import AXES, STACK_FIELDS, SWEPT, RunConfig

__all__ = ["AXES", "RunConfig", "Study", "load_study"]

PerName = tuple[tuple[str, F.Pairs], ...]
_PER_NAME = ("activation_params", "optimizer_params", "init_params", "loss_params")
SWEEPS = SWEPT
"""Fields a study may give as a list: each becomes an axis of the grid (outermost first; the
dataset's parameters given as lists, :meth:`Study.data_sweeps`, are outside them all)."""
_FIXED = (
    "name",
    "dtype",
    "target",
    "diagnostics",
    "snapshots",
    "validation",
    "shuffle",
    "tune_seeds",
)
# Not run-config fields: applied to each run's optimizer / loss parameters (see Study.runs).
_INTO_PARAMS = {"weight_decay": "optimizer_params", "label_smoothing": "loss_params"}


def _values(key: str, value: Any) -> tuple[Any, ...]:
    """A field's values: a list or tuple as given (at least one), anything else as one."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ParameterError(f"{key}=[] is empty; give one value or a list of several")
        return tuple(dict.fromkeys(value))
    return (value,)


def _one_or_all(values: list[Any] | tuple[Any, ...]) -> Any:
    return values[0] if len(values) == 1 else tuple(values)


def _each(key: str, value: Any, check: Any) -> Any:
    """``check`` applied to a field's value or to each of its swept values."""
    out = []
    for v in _values(key, value):
        checked = check(v)
        if checked not in out:
            out.append(checked)
    return _one_or_all(out)


@dataclass(frozen=True)
class Study:
    """A grid of training runs: activation x optimizer x lr x init x loss x seed.

    Attributes:
        name: a label for reports and the default output folder (``actlab-runs/NAME``), so
            it may not contain ``/`` or ``\\`` nor be ``.`` or ``..``.
        dataset, dataset_params: a :data:`actlab.data.DATASETS` name and the parameters given;
            or one's own data (:mod:`actlab.data.files`): a ``.csv``/``.npz``/``.npy``/``.pt``
            path, stored as given, with ``target_column``, ``task``, ``test_fraction``,
            ``val_fraction``, ``standardize``; or tensors ``(x, y)`` / a map-style torch
            ``Dataset``, stored as ``tensors:HASH`` and kept for this process.
        model, depth, width, normalization, dropout, residual: the architecture, shared by every
            run (``None`` depth/width: the model's defaults, resolved in each :class:`RunConfig`).
            ``model`` is a catalog name or your own factory, ``"package.module:factory"`` or the
            function itself when defined at module level (stored as that reference; see
            :mod:`actlab.models.user`).
        activations: the activations compared; ``activation_params`` maps some of them to their
            parameters, e.g. ``{"leaky_relu": {"negative_slope": 0.1}}``.
        optimizers: the optimizers compared; ``optimizer_params`` maps some of them to their
            hyperparameters (not ``lr``).
        lr: learning rates crossed with every optimizer; ``None`` uses ``lrs``.
        lrs: one learning rate per optimizer (used when ``lr`` is ``None``); optimizers missing
            here get their catalog default.
        inits, init_params: initializers compared, and parameters for some of them.
        losses, loss_params: losses compared (``None``: cross-entropy for classification data,
            squared error for regression), and parameters for some of them.
        seeds: the seeds each variant is run with (an integer ``n`` means ``0..n-1``;
            default 5: the 95% interval is mean ± 2.78 standard errors, ± 4.30 with 3).
        epochs, batch_size, dtype: the schedule; ``batch_size`` ``None`` (or ``"full"``) is
            full-batch training; ``epochs`` ``None`` means 10, unless ``steps`` is given.
        steps: a step budget instead of ``epochs`` (giving both is an error): each run takes
            exactly this many optimizer steps, its last epoch cut short if need be, and is
            evaluated at the last one. A list sweeps it.
        eval_every: also evaluate every this many optimizer steps inside an epoch, for curves
            and time to target at step resolution (stored as ``step_metrics`` with each row's
            training seconds; see :func:`actlab.train.train`); ``None``: once per epoch.
        target: the value for "time to target" in reports (``None``: the report chooses): on
            the ranking metric, an accuracy in (0, 1]; or on ``target_metric``.
        target_metric: the stored metric the target is on (``train_loss``, ``train_acc``,
            ``test_acc``, ``val_acc``, ...; an accuracy in (0, 1], a loss any positive value);
            ``None``: the ranking metric. A metric no run records is refused before training.
        diagnostics: record per-layer diagnostics during training.
        snapshots: store each run's parameters at ``snapshots + 1`` evenly spaced steps (the
            initial and final ones included) for ``actlab landscape --kind path``; 0 for none.
            Final weights are always stored. Not part of the study's identity: it changes what
            is kept, not the results.
        validation: the share of the training set held out (seeded) as a validation split,
            in ``[0, 0.5]``; every epoch then also records ``val_loss`` / ``val_acc``, and
            reports rank on validation. 0: none (own data files bring their own split).
        shuffle: draw each epoch's batch order from the run's seed (``False``: the training set
            in its stored order every epoch, as the MNIST-1D paper's training loop does).
        tune_lr: a learning rate per variant, chosen on validation (:mod:`actlab.study.tuning`):
            ``True`` for the default grid (13 rates, 1e-4 to 1), or a list of 3 or more rates;
            stored as the grid. Excludes ``lr``/``lrs``; holds out 10% for validation unless
            ``validation`` is set. ``runs()`` are then the tuning runs; the final runs follow
            from their results (:func:`actlab.study.tuning.final_runs`).
        tune_seeds: how many of ``seeds`` (the first ones) the tuning runs use.
        weight_decay: one weight decay (>= 0) for every optimizer, in each optimizer's own form
            (L2 added to the gradient, or decoupled for ``adamw``/``lion``); ``None``: each
            optimizer's own (its catalog default or ``optimizer_params``). A list sweeps it.
        label_smoothing: cross-entropy's label smoothing in ``[0, 1)`` for every loss of the
            grid (a loss without it is refused); ``None``: the loss's own. A list sweeps it.

    A catalog dataset's parameter given as a list (``dataset_params = {noise = [0, 0.2]}``) is
    swept too (:meth:`data_sweeps`): runs that differ in it train on different data, in
    separate stacks.

    Lists keep their order (it is the grid's order); mappings are stored as sorted pairs. Bad
    input raises :class:`~actlab.errors.ActlabError` with one line naming the key.
    """

    name: str = "study"
    dataset: str = "mnist1d"
    dataset_params: F.Pairs = ()
    model: str = "mlp"
    depth: int | None = None
    width: int | None = None
    normalization: str = "none"
    dropout: float = 0.0
    residual: bool = False
    activations: tuple[str, ...] = ("relu",)
    activation_params: PerName = ()
    optimizers: tuple[str, ...] = ("adam",)
    lr: tuple[float, ...] | None = None
    lrs: tuple[tuple[str, float], ...] = ()
    optimizer_params: PerName = ()
    inits: tuple[str, ...] = ("auto",)
    init_params: PerName = ()
    losses: tuple[str, ...] | None = None
    loss_params: PerName = ()
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    epochs: Any = None
    batch_size: int | None = 100
    dtype: str = "float32"
    target: float | None = None
    diagnostics: bool = False
    snapshots: int = 0
    validation: float = 0.0
    shuffle: bool = True
    steps: Any = None
    eval_every: int | None = None
    target_metric: str | None = None
    tune_lr: Any = None
    tune_seeds: int = 1
    weight_decay: Any = None
    label_smoothing: Any = None

    def __post_init__(self) -> None:
        set_ = self._set
        for key in _FIXED:
            if isinstance(getattr(self, key), (list, tuple)):
                with F.at(key, value=getattr(self, key)):
                    raise ParameterError(
                        f"{key} takes one value, not a list: it cannot be swept (fields that "
                        f"can: {', '.join(SWEEPS)}, and a dataset's parameters)"
                    )
        with F.at("name"):
            set_(name=F.file_name("name", self.name))
        data, dataset_params = _dataset(self.dataset, self.dataset_params)
        set_(dataset=data.name, dataset_params=dataset_params)
        given = {k: _values(k, getattr(self, k)) for k in F.MODEL_OPTIONS}
        resolved: dict[str, list[Any]] = {k: [] for k in given}
        model = self.model
        for combo in itertools.product(*given.values()):  # every swept architecture is valid
            chosen = dict(zip(given, combo, strict=True))
            model, options = F.model(self.model, chosen)
            for k, value in chosen.items():
                value = None if value is None else options[k]
                if value not in resolved[k]:
                    resolved[k].append(value)
        set_(model=model, **{k: _one_or_all(v) for k, v in resolved.items()})
        self._set_names_and_params(data)
        self._set_schedule()
        epochs = lambda v: F.integer("epochs", v, low=1, high=F.LIMITS["epochs"])  # noqa: E731
        for key, check in (
            ("seeds", F.seeds),
            ("epochs", lambda v: v if v is None else _each("epochs", v, epochs)),
            ("batch_size", lambda v: _each("batch_size", v, F.batch_size)),
            ("dtype", lambda v: F.choice("dtype", v, F.DTYPES)),
            ("target", lambda v: v if v is None else _target(v, self.target_metric)),
            ("diagnostics", lambda v: F.boolean("diagnostics", v)),
            ("snapshots", lambda v: F.integer("snapshots", v, low=0, high=F.LIMITS["snapshots"])),
            ("validation", lambda v: F.fraction("validation", v)),
            ("shuffle", lambda v: F.boolean("shuffle", v)),
        ):
            with F.at(key, value=getattr(self, key)):
                set_(**{key: check(getattr(self, key))})
        self._set_into_params()
        with F.at("tune_lr", value=self.tune_lr):
            set_(tune_lr=tuning.grid(self.tune_lr))
        with F.at("tune_seeds", value=self.tune_seeds):
            set_(tune_seeds=F.integer("tune_seeds", self.tune_seeds, low=1, high=len(self.seeds)))
        if self.tune_lr is not None:
            if self.lr is not None or self.lrs:
                with F.at("tune_lr"):
                    raise ParameterError(
                        "tune_lr chooses each variant's learning rate: give lr/lrs or tune_lr, "
                        "not both"
                    )
            if not self.validation:
                set_(validation=tuning.DEFAULT_VALIDATION)

    def _set(self, **values: Any) -> None:
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def _set_schedule(self) -> None:
        """``epochs`` (10 when neither is given) or a ``steps`` budget, and ``eval_every``; the
        metric a ``target`` is on."""
        if self.steps is None:
            self._set(epochs=10 if self.epochs is None else self.epochs)
        else:
            with F.at("steps", value=self.steps):
                for v in _values("steps", self.steps):
                    F.schedule(self.epochs, v, None)  # both given: one line, naming them
                check = lambda v: F.integer("steps", v, low=1, high=F.LIMITS["steps"])  # noqa: E731
                self._set(steps=_each("steps", self.steps, check))
        if self.eval_every is not None:
            with F.at("eval_every", value=self.eval_every):
                every = F.integer("eval_every", self.eval_every, low=1, high=F.LIMITS["steps"])
                self._set(eval_every=every)
        if self.target_metric is not None:
            with F.at("target_metric", value=self.target_metric):
                self._set(target_metric=F.choice("target_metric", self.target_metric, METRICS))
                if self.target is None:
                    raise ParameterError(
                        f"target_metric={self.target_metric!r} needs a target value "
                        f"(--target {self.target_metric}=VALUE)"
                    )

    def _set_into_params(self) -> None:
        """``weight_decay`` and ``label_smoothing``: set for every optimizer / loss of the grid,
        so each must have the parameter, not set it per name too, and take every value."""
        for key, (per, names, registry) in self._into_params().items():
            value = getattr(self, key)
            if value is None:
                continue
            with F.at(key, value=value):
                values = _values(key, value)
                for v in values:
                    F.number(key, v)
                    if v < 0 or (key == "label_smoothing" and v >= 1):
                        rule = "in [0, 1)" if key == "label_smoothing" else ">= 0"
                        raise ParameterError(f"{key}={v:g} must be a number {rule}")
                for name in names:
                    info = registry.get(name)
                    if key not in info.defaults:
                        raise ParameterError(
                            f"{key} applies to every {registry.kind} of the study, but "
                            f"{registry.kind} {name!r} has no {key} parameter"
                        )
                    if key in dict(dict(getattr(self, per)).get(name, ())):
                        raise ParameterError(
                            f"{key} is set for the whole study and in {per}.{name}; give one"
                        )
                    for v in values:
                        info.param(key).validate(float(v), name)
            self._set(**{key: _one_or_all([float(v) for v in values])})

    def _into_params(self) -> dict[str, tuple[str, tuple[str, ...], Any]]:
        """``weight_decay`` / ``label_smoothing`` -> the per-name parameters they go into, the
        names of the grid they apply to, and those names' registry."""
        return {
            "weight_decay": (_INTO_PARAMS["weight_decay"], self.optimizers, OPTIMIZERS),
            "label_smoothing": (_INTO_PARAMS["label_smoothing"], self.resolved_losses, LOSSES),
        }

    def _set_names_and_params(self, data: Any) -> None:
        set_ = self._set
        acts = F.names("activations", self.activations, ACTIVATIONS)
        act_params = {}
        for name, (given, params) in _per_name(self, "activation_params", acts).items():
            F.activation(name, params, "activation_params", given)
            act_params[name] = F.given(ACTIVATIONS.get(name), params)
        set_(activations=acts, activation_params=_nested(act_params))

        opts = F.names("optimizers", self.optimizers, OPTIMIZERS)
        opt_params = {}
        for name, (given, params) in _per_name(self, "optimizer_params", opts).items():
            if "lr" in params:
                with F.at("optimizer_params", given, "lr"):
                    raise ParameterError(
                        f"optimizer_params.{given}: set learning rates with 'lrs' (one per "
                        "optimizer) or 'lr' (crossed with every optimizer)"
                    )
            F.optimizer(name, params, "optimizer_params", given)
            opt_params[name] = F.given(OPTIMIZERS.get(name), params)
        set_(optimizers=opts, optimizer_params=_nested(opt_params))
        self._set_learning_rates()

        inits = F.names("inits", self.inits, INITIALIZERS)
        init_params = {}
        for name, (given, params) in _per_name(self, "init_params", inits).items():
            for act in acts:
                a_params = dict(act_params.get(act, ()))
                F.initializer(name, params, act, a_params, "init_params", given)
            init_params[name] = F.given(INITIALIZERS.get(name), params)
        set_(inits=inits, init_params=_nested(init_params))

        if self.losses is not None:
            losses = F.names("losses", self.losses, LOSSES)
            for name, given in zip(losses, _given_names(self.losses)):
                with F.at("losses", value=given):
                    F.loss(name, {}, data)
        else:
            losses = (F.default_loss(data),)
        loss_params = {}
        for name, (given, params) in _per_name(self, "loss_params", losses).items():
            F.loss(name, params, data, "loss_params", given)
            loss_params[name] = F.given(LOSSES.get(name), params)
        set_(losses=None if self.losses is None else losses, loss_params=_nested(loss_params))

    def _set_learning_rates(self) -> None:
        if self.lr is not None and self.lrs:
            with F.at("lrs"):
                raise ParameterError(
                    "give either 'lr' (crossed with every optimizer) or 'lrs' (one per optimizer)"
                )
        lrs = {}
        for name, (given, value) in _per_name(self, "lrs", self.optimizers).items():
            with F.at("lrs", given, value=value):
                lrs[name] = self._valid_lr(name, value, f"lrs.{given}")
        if self.lr is not None:
            with F.at("lr", value=self.lr):
                values = self.lr if isinstance(self.lr, (list, tuple)) else [self.lr]
                if not values:
                    raise ParameterError("lr is empty; give at least one learning rate")
                lr = tuple(F.number("lr", v, positive=True) for v in values)
                if len(set(lr)) != len(lr):
                    raise ParameterError(f"lr={list(lr)} repeats a learning rate")
                for name in self.optimizers:
                    for v in lr:
                        self._valid_lr(name, v, "lr")
            self._set(lr=lr)
        self._set(lrs=tuple(sorted(lrs.items())))

    def _valid_lr(self, optimizer: str, value: Any, key: str) -> float:
        value = F.number(key, value, positive=True)
        return OPTIMIZERS.get(optimizer).param("lr").validate(value, optimizer)

    # ---- the grid ------------------------------------------------------------------------

    @property
    def resolved_losses(self) -> tuple[str, ...]:
        """The losses the grid uses (``losses``, or the dataset's default)."""
        if self.losses is not None:
            return self.losses
        return (F.default_loss(_dataset(self.dataset, self.dataset_params)[0]),)

    def learning_rates(self, optimizer: str) -> tuple[float, ...]:
        """The learning rates ``optimizer`` runs with: ``lr``, else ``lrs``, else its default."""
        name = OPTIMIZERS.canonical(optimizer)
        if self.lr is not None:
            return self.lr
        if name in dict(self.lrs):
            return (dict(self.lrs)[name],)
        params = dict(dict(self.optimizer_params).get(name, ()))
        return (OPTIMIZERS.get(name).resolve(params)["lr"],)

    def runs(self) -> list[RunConfig]:
        """Every run of the grid: the swept fields (:data:`SWEEPS`, outermost) x activation x
        optimizer x lr x init x loss x seed, in the order given, seed innermost."""
        if self.tune_lr is not None:
            return tuning.tuning_runs(self)
        out = []
        swept = {k: _values(k, getattr(self, k)) for k in SWEEPS}
        for data in self.datasets():
            for combo in itertools.product(*swept.values()):
                chosen = dict(zip(swept, combo, strict=True))
                into = {k: chosen.pop(k) for k in _INTO_PARAMS}
                shared = {k: getattr(self, k) for k in STACK_FIELDS} | {"dataset_params": data}
                out += self._grid(shared | chosen, into)
        return out

    def data_sweeps(self) -> dict[str, tuple[Any, ...]]:
        """The dataset's parameters given as lists (grid axes outside :data:`SWEEPS`)."""
        return {k: v for k, v in self.dataset_params if isinstance(v, tuple)}

    def datasets(self) -> list[F.Pairs]:
        """The ``dataset_params`` of each swept data set, in grid order (one when none is)."""
        fixed = {k: v for k, v in self.dataset_params if not isinstance(v, tuple)}
        swept = self.data_sweeps()
        return [
            F.pairs(fixed | dict(zip(swept, combo, strict=True)))
            for combo in itertools.product(*swept.values())
        ]

    def sweeps(self) -> dict[str, tuple[Any, ...]]:
        """The fields swept as grid axes (given as lists): their values, in order (the
        dataset's parameters first, by their names: ``noise``, ``train_size``)."""
        values = {k: _values(k, getattr(self, k)) for k in SWEEPS}
        return self.data_sweeps() | {k: v for k, v in values.items() if len(v) > 1}

    def _grid(self, shared: dict[str, Any], into: dict[str, Any] | None = None) -> list[RunConfig]:
        per = {k: dict(getattr(self, k)) for k in _PER_NAME}
        into = {k: v for k, v in (into or {}).items() if v is not None}
        for key, (name, names, _) in self._into_params().items():  # for every name of the grid
            if key in into:
                for listed, params in per[name].items():
                    per[name][listed] = (*params, (key, into[key]))
                for listed in names:
                    per[name].setdefault(listed, ((key, into[key]),))
        out = []
        for act in self.activations:
            for opt in self.optimizers:
                for lr in self.learning_rates(opt):
                    for init in self.inits:
                        for loss in self.resolved_losses:
                            for seed in self.seeds:
                                out.append(
                                    RunConfig(
                                        **shared,
                                        activation=act,
                                        activation_params=per["activation_params"].get(act, ()),
                                        optimizer=opt,
                                        optimizer_params=(
                                            *per["optimizer_params"].get(opt, ()),
                                            ("lr", lr),
                                        ),
                                        init=init,
                                        init_params=per["init_params"].get(init, ()),
                                        loss=loss,
                                        loss_params=per["loss_params"].get(loss, ()),
                                        seed=seed,
                                    )
                                )
        return out

    def varying(self) -> tuple[str, ...]:
        """The axes with more than one value (among :data:`AXES`; the seed is not an axis)."""
        counts = {
            "activation": len(self.activations),
            "optimizer": len(self.optimizers),
            "lr": 2
            if self.tune_lr is not None
            else len({lr for o in self.optimizers for lr in self.learning_rates(o)}),
            "init": len(self.inits),
            "loss": len(self.resolved_losses),
        }
        swept = tuple(self.sweeps())
        return swept + tuple(axis for axis in AXES if counts[axis] > 1)

    # ---- conversion ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The resolved study as JSON-able data (what the store keeps);
        ``Study.from_dict(s.to_dict()) == s``."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _INTO_PARAMS and value is None:  # as stored before these fields existed
                continue
            if f.name in ("steps", "eval_every", "target_metric") and value is None:  # likewise
                continue
            if f.name in _PER_NAME:
                value = {name: F.as_dict(p) for name, p in value}
            elif f.name in ("dataset_params", "lrs"):
                value = F.as_dict(value)
            out[f.name] = F.thaw(value)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "") -> Study:
        """A study from a mapping of its fields (a parsed TOML file, a stored :meth:`to_dict`).

        ``seeds`` may be a count and ``batch_size`` ``"full"``; unknown keys are an error that
        names the closest valid ones. ``source`` (a file name) prefixes error messages.
        """
        try:
            d = F.mapping("study", d, "a mapping of study fields")
            valid = [f.name for f in fields(cls)]
            for key in d:
                if key not in valid:
                    near = closest(key, valid)
                    hint = f"; did you mean: {', '.join(near)}?" if near else ""
                    with F.at(key):
                        raise ActlabError(f"unknown study key {key!r}{hint}")
            return cls(**d)
        except ActlabError as e:
            if not source:
                raise
            raise loading.retitled(e, f"{source}: {e}") from None

    def replace(self, **changes: Any) -> Study:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def load_study(path: str | os.PathLike) -> Study:
    """The study in a TOML file (format: ``examples/*.toml``).

    Errors name the file and, where the key can be found, the line: ``study.toml:7: unknown
    activation 'relux'; did you mean: relu?``; malformed TOML gives ``FILE:LINE:COLUMN: problem``.
    """
    data, relocate = loading.read_toml(path)
    try:
        return Study.from_dict(data)
    except ActlabError as e:
        raise relocate(e) from None


_CATALOGS = {
    "activation_params": (ACTIVATIONS, "activations"),
    "optimizer_params": (OPTIMIZERS, "optimizers"),
    "lrs": (OPTIMIZERS, "optimizers"),
    "init_params": (INITIALIZERS, "inits"),
    "loss_params": (LOSSES, "losses"),
}


def _per_name(study: Study, key: str, listed: tuple[str, ...]) -> dict[str, tuple[str, Any]]:
    registry, list_key = _CATALOGS[key]
    return F.per_name(key, getattr(study, key), registry, listed, list_key, tables=key != "lrs")


def _nested(per: Mapping[str, F.Pairs]) -> PerName:
    return tuple(sorted((name, p) for name, p in per.items() if p))


def _dataset(name: Any, params: Any) -> tuple[Any, F.Pairs]:
    """:func:`F.dataset`, with a catalog dataset's parameters given as lists swept: every
    combination is checked, and each list is kept (as a tuple of its checked values)."""
    given = F.mapping("dataset_params", params)
    lists = {k: v for k, v in given.items() if isinstance(v, (list, tuple))}
    if not lists:
        return F.dataset(name, given)
    from actlab.data import files

    key = next(iter(lists))
    if files.is_own(name):
        with F.at("dataset_params", key, value=lists[key]):
            raise ParameterError(
                f"dataset_params.{key}: the parameters of one's own data cannot be swept"
            )
    swept = {}
    for k, v in lists.items():
        with F.at("dataset_params", k, value=v):
            swept[k] = _values(f"dataset_params.{k}", v)
    resolved: dict[str, list[Any]] = {k: [] for k in swept}
    for combo in itertools.product(*swept.values()):
        info, checked = F.dataset(name, given | dict(zip(swept, combo, strict=True)))
        for k, v in checked:
            if k in swept and v not in resolved[k]:
                resolved[k].append(v)
    return info, F.pairs(dict(checked) | {k: _one_or_all(v) for k, v in resolved.items()})


def _target(value: Any, metric: Any) -> float:
    """A target: an accuracy in (0, 1], or any positive loss when ``metric`` is a loss."""
    loss = isinstance(metric, str) and metric.endswith("_loss")
    return F.number("target", value, positive=True, high=None if loss else 1)


def _given_names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
