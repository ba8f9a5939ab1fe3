"""The playground's training session: a pure library object that the web page only drives.

A :class:`PlaygroundSession` holds one :class:`~actlab.web.config.Config`, the data it
generates (a catalog toy set), the network (``Linear`` + :class:`actlab.nn.Activation` layers,
initialized by :func:`actlab.init.init_`), the optimizer (:func:`actlab.optim.create`) and the
epoch counter. :meth:`~PlaygroundSession.step` trains whole epochs and returns a :class:`Frame`:
losses, the output over a ``grid x grid`` square and every input feature's and hidden unit's
picture, all from one batched forward pass over the grid.

>>> s = PlaygroundSession({"dataset": "gauss", "hidden": [2]})
>>> frame = s.step(epochs=2)
>>> frame.epoch, tuple(frame.output.shape), [tuple(n.shape) for n in frame.neurons]
(2, (100, 100), [(2, 50, 50)])

Everything random is drawn from generators seeded with ``config.seed``: the same configuration
gives the same data, the same initial weights and the same minibatch order, also after
:meth:`~PlaygroundSession.reset`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from actlab import data
from actlab.errors import ActlabError, ParameterError
from actlab.init import init_
from actlab.losses import LOSSES, loss
from actlab.nn import Activation
from actlab.optim import NonFiniteGradientError, create
from actlab.web.config import FEATURES, LIMITS, Config, is_multiclass
from actlab.web.health import Health, unit_health

__all__ = ["Frame", "PlaygroundSession"]

DATA_FIELDS = ("dataset", "noise", "train_ratio", "n_points", "seed", "n_classes")
LIVE_FIELDS = ("learning_rate", "regularization", "reg_rate", "batch_size")
"""Fields that change training from the next step on, without resetting the network."""


@dataclass(frozen=True)
class Frame:
    """What one step shows: tensors on the CPU, detached.

    Attributes:
        output: ``(grid, grid)`` network output over ``[-extent, extent]^2`` (row 0 at the top,
            ``x2 = +extent``); classification in ``[-1, 1]`` (``2 p(class 1) - 1``); with more
            than two classes ``2 p - 1`` of the most probable class (softmax of the scores).
        classes: with more than two classes, ``(grid, grid)`` int64: the most probable class
            at each grid point (``None`` otherwise).
        outputs: with more than one output unit (softmax classification), ``(n_out, thumb,
            thumb)``: each class's probability ``p`` as ``2 p - 1``; else ``None``.
        train_accuracy, test_accuracy: classification only (``None`` for regression).
        features: ``(n_features, thumb, thumb)`` every input feature over the grid.
        neurons: per hidden layer ``(width, thumb, thumb)``, each unit's activation.
        weights: per linear layer ``(weight (out, in), bias (out,))``.
        health: ``layers``: per layer the latest :mod:`actlab.diagnostics` values (see
            :mod:`actlab.web.health`); ``units``: per hidden layer, each unit's flags.
    """

    epoch: int
    train_loss: float
    test_loss: float
    output: Tensor
    features: Tensor
    neurons: list[Tensor]
    weights: list[tuple[Tensor, Tensor]]
    diverged: bool
    health: dict[str, Any] = field(default_factory=dict)
    classes: Tensor | None = None
    outputs: Tensor | None = None
    train_accuracy: float | None = None
    test_accuracy: float | None = None


def features(x: Tensor, names: tuple[str, ...]) -> Tensor:
    """The input features ``names`` of raw points ``x`` ``(N, 2)`` as an ``(N, len(names))``."""
    return torch.stack([FEATURES[n](x) for n in names], dim=1)


def build_model(config: Config, n_outputs: int, seed: int) -> nn.Sequential:
    """``Linear -> Activation`` per hidden layer, then a linear output; weights from ``seed``."""
    layers: list[nn.Module] = []
    n_in = len(config.features)
    for width in config.hidden:
        layers += [nn.Linear(n_in, width), Activation(config.activation)]
        n_in = width
    layers.append(nn.Linear(n_in, n_outputs))
    model = nn.Sequential(*layers)
    generator = torch.Generator().manual_seed(seed)
    return init_(model, config.init, activation=config.activation, generator=generator)


def _grid(limits=LIMITS) -> Tensor:
    """The ``grid^2`` raw points of the picture, row-major from the top-left corner."""
    ticks = torch.linspace(-limits.extent, limits.extent, limits.grid)
    x2, x1 = torch.meshgrid(ticks.flip(0), ticks, indexing="ij")
    return torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)


class PlaygroundSession:
    """One playground: data, network, optimizer and epoch counter, driven by plain calls.

    Args:
        config: a :class:`Config` or a mapping of its fields (validated; bad input raises
            :class:`~actlab.errors.ParameterError` with one line naming the problem).
        watch: keep the health monitor (:mod:`actlab.web.health`) on the network; a race's
            other racers, whose health no panel shows, train without it.
    """

    def __init__(
        self, config: Config | Mapping[str, Any] | None = None, *, watch: bool = True
    ) -> None:
        cfg = config if isinstance(config, Config) else Config.from_dict(config or {})
        self._grid = _grid()
        self.watch = watch
        self.health: Health | None = None
        self._install(cfg, self._make_data(cfg))

    # -- configuration -----------------------------------------------------------------------

    def configure(self, changes: Mapping[str, Any]) -> bool:
        """Apply ``changes`` to the configuration. Returns whether the network was reset.

        Data fields regenerate the data; learning rate, regularization and batch size apply
        from the next step on; anything else rebuilds the network from ``seed``. Nothing
        changes when the new configuration is invalid.
        """
        new = Config.from_dict(changes, base=self.config)
        changed = {k for k in new.to_dict() if getattr(new, k) != getattr(self.config, k)}
        if changed <= set(LIVE_FIELDS):
            if "learning_rate" in changed:
                self._check_lr(new)
                for group in self.optimizer.param_groups:
                    group["lr"] = new.learning_rate
            self.config = new
            return False
        dataset = self._make_data(new) if changed & set(DATA_FIELDS) else self.dataset
        self._install(new, dataset)
        return True

    def regenerate(self, seed: int | None = None) -> Config:
        """New data and initial weights from ``seed`` (default: a fresh random one)."""
        if seed is None:
            seed = int(torch.randint(0, LIMITS.max_seed, ()).item())
        self.configure({"seed": seed})
        return self.config

    def reset(self) -> None:
        """Back to epoch 0 with the initial weights ``seed`` gives (the same after every reset)."""
        self._install(self.config, self.dataset)

    def _make_data(self, cfg: Config) -> data.Dataset:
        classes = {"n_classes": cfg.n_classes} if is_multiclass(cfg.dataset) else {}
        return data.load(
            cfg.dataset,
            seed=cfg.seed,
            n=cfg.n_points,
            noise=cfg.noise,
            train_ratio=cfg.train_ratio,
            standardize=False,
            **classes,
        )

    def _check_lr(self, cfg: Config) -> None:
        create(cfg.optimizer, [torch.zeros(1, requires_grad=True)], lr=cfg.learning_rate)

    def _install(self, cfg: Config, dataset: data.Dataset) -> None:
        """Build everything for ``cfg`` first, then swap it in (so a failure changes nothing)."""
        info = LOSSES.get(cfg.loss)
        binary = "index" not in info.targets
        n_out = 1 if binary or cfg.problem == "regression" else dataset.n_classes
        try:
            model = build_model(cfg, n_out, cfg.seed)
            optimizer = create(cfg.optimizer, model.parameters(), lr=cfg.learning_rate)
        except (ValueError, RuntimeError) as e:
            if isinstance(e, ActlabError):
                raise
            raise ParameterError(str(e).splitlines()[0]) from None
        self.config, self.dataset, self.model, self.optimizer = cfg, dataset, model, optimizer
        self._binary = binary and cfg.problem == "classification"
        self._x_train = features(dataset.x_train, cfg.features)
        self._watch_health()
        self._x_test = features(dataset.x_test, cfg.features)
        self._x_grid = features(self._grid, cfg.features)
        self._y_train, self._y_test = self._target(dataset.y_train), self._target(dataset.y_test)
        self._order = torch.Generator().manual_seed(cfg.seed)
        self.epoch, self.diverged = 0, False

    def _target(self, y: Tensor) -> Tensor:
        if self.config.problem == "regression":
            return y.reshape(-1, 1)
        return y.float().reshape(-1, 1) if self._binary else y

    # -- training ----------------------------------------------------------------------------

    def _loss(self, x: Tensor, y: Tensor) -> Tensor:
        return loss(self.model(x), y, self.config.loss)

    def _penalty(self) -> Tensor | float:
        cfg = self.config
        if cfg.regularization == "none" or cfg.reg_rate == 0:
            return 0.0
        weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        if cfg.regularization == "l1":
            return cfg.reg_rate * sum(w.abs().sum() for w in weights)
        return cfg.reg_rate * 0.5 * sum(w.pow(2).sum() for w in weights)

    def _epoch(self) -> None:
        n = len(self._x_train)
        order = torch.randperm(n, generator=self._order)
        starts = range(0, n, self.config.batch_size)
        for start in starts:
            idx = order[start : start + self.config.batch_size]
            self.optimizer.zero_grad()
            last = start == starts[-1]
            watched = last and self.health is not None
            with self.health.record(self.epoch) if watched else contextlib.nullcontext():
                total = self._loss(self._x_train[idx], self._y_train[idx]) + self._penalty()
                total.backward()
            try:
                self.optimizer.step()
            except NonFiniteGradientError:
                self.diverged = True
                return
        self.epoch += 1

    def step(self, epochs: int = 1, *, pictures: bool = True) -> Frame:
        """Train ``epochs`` whole epochs (stops early once training diverges); return the frame
        (``pictures=False``: only the output, see :meth:`frame`)."""
        if isinstance(epochs, bool) or not isinstance(epochs, int):
            raise ParameterError(f"epochs={epochs!r} is not an integer")
        if not 1 <= epochs <= LIMITS.max_epochs_per_step:
            raise ParameterError(
                f"epochs={epochs} is out of range; valid range is [1, {LIMITS.max_epochs_per_step}]"
            )
        self.model.train()
        for _ in range(epochs):
            if self.diverged:
                break
            self._epoch()
        return self.frame(pictures=pictures)

    # -- pictures ----------------------------------------------------------------------------

    @torch.no_grad()
    def losses(self) -> tuple[float, float]:
        """Mean training and test loss (without the regularization term)."""
        return self._evaluate()[:2]

    @torch.no_grad()
    def accuracies(self) -> tuple[float | None, float | None]:
        """Share of training and test points classified right (``None``: regression)."""
        return self._evaluate()[2:]

    @torch.no_grad()
    def _evaluate(self) -> tuple[float, float, float | None, float | None]:
        self.model.eval()
        out = []
        for x, y in ((self._x_train, self._y_train), (self._x_test, self._y_test)):
            if not len(x):
                out.append((math.nan, None))
                continue
            scores = self.model(x)
            value = loss(scores, y, self.config.loss).item()
            out.append((value, self._accuracy(scores, y)))
        (train, train_acc), (test, test_acc) = out
        return train, test, train_acc, test_acc

    def _accuracy(self, scores: Tensor, y: Tensor) -> float | None:
        if self.config.problem == "regression":
            return None
        if scores.shape[1] == 1:
            return ((scores[:, 0] > 0) == (y[:, 0] > 0.5)).double().mean().item()
        return (scores.argmax(dim=1) == y).double().mean().item()

    @torch.no_grad()
    def frame(self, *, pictures: bool = True) -> Frame:
        """The current picture: one forward pass over the grid gives output and every unit.

        With ``pictures=False`` (what a race shows of its other racers) only the losses and the
        output are filled in: no feature or unit thumbnails, weights or health.
        """
        self.model.eval()
        g, t = LIMITS.grid, LIMITS.thumb
        stride = max(1, g // t)
        h, neurons = self._x_grid, []
        for module in self.model:
            h = module(h)
            if pictures and isinstance(module, Activation):
                neurons.append(h.T.reshape(-1, g, g)[:, ::stride, ::stride].clone())
        train, test, train_acc, test_acc = self._evaluate()
        output, classes = self._display(h)
        if not pictures:
            return Frame(
                epoch=self.epoch,
                train_loss=train,
                test_loss=test,
                train_accuracy=train_acc,
                test_accuracy=test_acc,
                output=output.reshape(g, g),
                classes=None if classes is None else classes.reshape(g, g),
                features=torch.empty(0, t, t),
                neurons=[],
                weights=[],
                diverged=self.diverged,
            )
        outputs = None
        if h.shape[1] > 1:
            p = torch.softmax(h, dim=1).T.reshape(-1, g, g)[:, ::stride, ::stride]
            outputs = 2 * p - 1
        return Frame(
            epoch=self.epoch,
            train_loss=train,
            test_loss=test,
            train_accuracy=train_acc,
            test_accuracy=test_acc,
            output=output.reshape(g, g),
            classes=None if classes is None else classes.reshape(g, g),
            outputs=outputs,
            features=self._x_grid.T.reshape(-1, g, g)[:, ::stride, ::stride].clone(),
            neurons=neurons,
            weights=[(m.weight.detach().clone(), m.bias.detach().clone()) for m in self.linears],
            diverged=self.diverged,
            health={
                "layers": {} if self.health is None else self.health.latest(),
                "units": unit_health(self.model, self._x_train),
            },
        )

    def _display(self, scores: Tensor) -> tuple[Tensor, Tensor | None]:
        """What the heatmap shows, and (more than two classes) the most probable class."""
        if self.config.problem == "regression":
            return scores[:, 0], None
        if scores.shape[1] == 1:
            return torch.tanh(scores[:, 0] / 2), None  # 2 sigmoid(s) - 1
        if scores.shape[1] == 2:
            return torch.tanh((scores[:, 1] - scores[:, 0]) / 2), None  # 2 softmax(s)_1 - 1
        p, classes = torch.softmax(scores, dim=1).max(dim=1)
        return 2 * p - 1, classes

    @torch.no_grad()
    def hidden(self, points: Tensor, layer: int) -> Tensor:
        """Hidden ``layer``'s activations ``(N, width)`` for raw points ``(N, 2)``."""
        self.model.eval()
        h, seen = features(points.to(self._x_train.dtype), self.config.features), -1
        for module in self.model:
            h = module(h)
            seen += isinstance(module, Activation)
            if seen == layer:
                return h
        raise ParameterError(f"layer={layer!r} is not a hidden layer")

    @property
    def inputs(self) -> Tensor:
        """The training set's input features ``(n_train, n_features)``, as the network sees it."""
        return self._x_train

    def points(self) -> dict[str, Tensor]:
        """The raw data points and targets: ``x_train``, ``y_train``, ``x_test``, ``y_test``."""
        d = self.dataset
        return {"x_train": d.x_train, "y_train": d.y_train, "x_test": d.x_test, "y_test": d.y_test}

    # -- weights -----------------------------------------------------------------------------

    @property
    def linears(self) -> list[nn.Linear]:
        return [m for m in self.model if isinstance(m, nn.Linear)]

    def set_weight(self, layer: int, unit: int, source: int | None, value: float) -> None:
        """Set the weight from ``source`` (``None``: the bias) to ``unit`` of linear ``layer``."""
        linears = self.linears
        _index("layer", layer, len(linears))
        lin = linears[layer]
        _index("unit", unit, lin.out_features)
        if source is not None:
            _index("source", source, lin.in_features)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"value={value!r} is not a number")
        if not (math.isfinite(value) and abs(value) <= LIMITS.max_weight):
            raise ParameterError(
                f"value={value!r} must be finite with |value| <= {LIMITS.max_weight:g}"
            )
        with torch.no_grad():
            if source is None:
                lin.bias[unit] = value
            else:
                lin.weight[unit, source] = value

    def to_json(self) -> dict[str, Any]:
        """The configuration, epoch and every parameter as plain JSON values."""
        state = {k: v.tolist() for k, v in self.model.state_dict().items()}
        return {"config": self.config.to_dict(), "epoch": self.epoch, "state": state}

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PlaygroundSession:
        """A session from :meth:`to_json`'s output (shapes and values checked; optimizer fresh)."""
        if not isinstance(document, Mapping) or not isinstance(document.get("state"), Mapping):
            raise ParameterError("a network document needs 'config' and 'state' objects")
        session = cls(document.get("config") or {})
        session.load_state(document["state"])
        epoch = document.get("epoch", 0)
        if isinstance(epoch, int) and 0 <= epoch < 2**31:
            session.epoch = epoch
        return session

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Load parameter values (as :meth:`to_json` writes them) into the current network."""
        own = self.model.state_dict()
        if set(state) != set(own):
            raise ParameterError(f"the network's parameters are {sorted(own)}, not {sorted(state)}")
        loaded = {}
        for key, value in state.items():
            try:
                tensor = torch.tensor(value, dtype=own[key].dtype)
            except (TypeError, ValueError, RuntimeError):
                raise ParameterError(f"{key} is not an array of numbers") from None
            if tensor.shape != own[key].shape:
                raise ParameterError(
                    f"{key} has shape {list(tensor.shape)}, expected {list(own[key].shape)}"
                )
            if not torch.isfinite(tensor).all() or tensor.abs().max() > LIMITS.max_weight:
                raise ParameterError(
                    f"{key} must hold finite values with |value| <= {LIMITS.max_weight:g}"
                )
            loaded[key] = tensor
        self.model.load_state_dict(loaded)
        self.optimizer = create(
            self.config.optimizer, self.model.parameters(), lr=self.config.learning_rate
        )
        self._watch_health()

    def _watch_health(self) -> None:
        """A fresh health monitor on the current network and optimizer (if ``watch``)."""
        if self.health is not None:
            self.health.close()
        self.health = Health(self.model, self.optimizer, self._x_train) if self.watch else None

    def copy(self) -> PlaygroundSession:
        """An independent session with the same configuration and the same current weights."""
        other = PlaygroundSession(replace(self.config), watch=self.watch)
        other.load_state({k: v.tolist() for k, v in self.model.state_dict().items()})
        other.epoch = self.epoch
        return other


def _index(name: str, value: Any, size: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ParameterError(f"{name}={value!r} is out of range; valid range is [0, {size - 1}]")
