"""Race optimizers over a 2-D test surface from one start.

Each optimizer runs its pure transform (the same one the ``torch.optim`` shell runs) on the point
``(x, y)``. There is no gradient clipping; a path whose loss or gradient stops being finite, or
that leaves ``|x|, |y| <= 1e6``, is frozen and marked as diverged.

A race is fair only if each optimizer runs at a learning rate that suits it (a catalog default
such as Adam's 1e-3 is chosen for networks, not for a surface whose gradients reach 100), so by
default (``tune=True``) every learning rate of a log grid runs at once -- as ``K`` stacked points
with a ``[K, 1]`` learning rate -- and each optimizer keeps the one whose loss settles at or
below the target soonest and stays there (then: the lowest final loss; a rate that touches the
target and flies off again does not win). ``tune=False`` races the catalog defaults; ``lr``
fixes some by hand.

>>> result = run(RaceConfig("quadratic", optimizers=("sgd", "adam"), steps=50))
>>> [p.optimizer for p in result.paths]
['sgd', 'adam']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from actlab.errors import ParameterError
from actlab.optim._core import OPTIMIZERS, functional
from actlab.optim.surfaces import SURFACES, SurfaceInfo

__all__ = ["DEFAULT_OPTIMIZERS", "TUNE_GRID", "Path", "RaceConfig", "RaceResult", "run"]

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam")
TUNE_GRID = tuple(10 ** (e / 4) for e in range(-20, 7))  # 1e-5 ... ~31.6, 4 per decade
BOUND = 1e6


@dataclass(frozen=True)
class RaceConfig:
    """What to race: ``surface``, ``optimizers``, and how (``None`` = the surface's default;
    learning rates: ``lr`` where given, else tuned on the grid, or the catalog default if
    ``tune`` is false)."""

    surface: str
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    steps: int | None = None
    start: tuple[float, float] | None = None
    lr: Mapping[str, float] = field(default_factory=dict)
    tune: bool = True
    noise: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Path:
    """One optimizer's run: points ``[steps + 1, 2]`` (frozen after divergence) and losses."""

    optimizer: str
    lr: float
    points: Tensor
    losses: Tensor
    steps_to_target: int | None
    diverged_at: int | None

    @property
    def final_loss(self) -> float:
        return math.inf if self.diverged_at is not None else float(self.losses[-1])


@dataclass(frozen=True)
class RaceResult:
    config: RaceConfig
    surface: SurfaceInfo
    start: tuple[float, float]
    steps: int
    paths: tuple[Path, ...]
    lr_source: str  # "default" or "tuned" (none given), "given" (some given, others per tune)


def run(config: RaceConfig) -> RaceResult:
    """Run the race described by ``config``."""
    surface = SURFACES.get(config.surface)
    names = tuple(OPTIMIZERS.canonical(n) for n in config.optimizers)
    if not names:
        raise ParameterError("race needs at least one optimizer")
    if len(set(names)) != len(names):
        raise ParameterError(f"optimizers listed twice: {', '.join(config.optimizers)}")
    steps = surface.steps if config.steps is None else config.steps
    if steps < 1:
        raise ParameterError(f"steps={steps} is out of range; valid range is [1, inf)")
    if config.noise < 0 or not math.isfinite(config.noise):
        raise ParameterError(f"noise={config.noise:g} is out of range; valid range is [0, inf)")
    start = surface.start if config.start is None else tuple(config.start)
    if len(start) != 2 or not all(math.isfinite(v) for v in start):
        raise ParameterError(f"start={start!r} must be two finite numbers x,y")
    given = {OPTIMIZERS.canonical(k): v for k, v in config.lr.items()}
    for name, value in given.items():
        if name not in names:
            raise ParameterError(f"--lr given for {name!r}, which is not racing")
        OPTIMIZERS.get(name).param("lr").validate(value, name)

    paths = []
    for name in names:
        if name in given:
            lr = given[name]
        elif config.tune:
            lr = _tune(surface, name, start, steps, config.noise, config.seed)
        else:
            lr = OPTIMIZERS.get(name).defaults["lr"]
        paths.append(_path(surface, name, lr, start, steps, config.noise, config.seed))
    source = "given" if given else ("tuned" if config.tune else "default")
    return RaceResult(config, surface, start, steps, tuple(paths), source)


def simulate(
    surface: SurfaceInfo,
    name: str,
    lrs: Tensor,
    start: tuple[float, float],
    steps: int,
    noise: float = 0.0,
    seed: int = 0,
    **hparams: Any,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run optimizer ``name`` with each learning rate of ``lrs`` ([K]) at once.

    Returns points ``[steps + 1, K, 2]``, losses ``[steps + 1, K]`` and the step at which each
    member diverged (``-1`` if it did not), ``[K]``. ``hparams``: other hyperparameters.
    """
    k = lrs.numel()
    transform, h = functional(name, lr=lrs.to(torch.float64).view(k, 1), **hparams)
    xy = torch.tensor(start, dtype=torch.float64).expand(k, 2).clone()
    state = transform.init(xy, **h)
    gen = torch.Generator().manual_seed(seed)
    alive = torch.ones(k, 1, dtype=torch.bool)
    diverged = torch.full((k,), -1, dtype=torch.long)
    loss, grad = surface.value_and_grad(xy)
    points, losses = [xy], [loss]
    for t in range(1, steps + 1):
        if noise > 0:
            grad = grad + noise * torch.randn(k, 2, generator=gen, dtype=torch.float64)
        ok = alive & torch.isfinite(grad).all(dim=1, keepdim=True)
        update, new_state = transform.update(torch.where(ok, grad, 0.0), state, xy, **h)
        moved = xy + update
        new_loss, new_grad = surface.value_and_grad(moved)
        inside = (moved.abs() <= BOUND).all(dim=1, keepdim=True)
        ok = ok & torch.isfinite(new_loss).view(k, 1) & inside
        if bool(ok.all()):  # the common case, without the masking below
            xy, loss, grad, state = moved, new_loss, new_grad, new_state
        else:
            diverged = torch.where(alive.view(k) & ~ok.view(k), t, diverged)
            alive = ok
            xy = torch.where(ok, moved, xy)
            loss = torch.where(ok.view(k), new_loss, loss)
            grad = torch.where(ok, new_grad, grad)
            state = {key: _keep(ok, value, state[key]) for key, value in new_state.items()}
        points.append(xy)
        losses.append(loss)
    return torch.stack(points), torch.stack(losses), diverged


def _keep(ok: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per-member state update for members still alive (scalars like ``step`` always advance)."""
    if new.dim() == 0 or new.shape[0] != ok.shape[0]:
        return new
    return torch.where(ok.view(-1, *([1] * (new.dim() - 1))), new, old)


def _arrival(losses: Tensor, target: float) -> Tensor:
    """First step index with loss <= target per member ([K]); ``-1`` if never."""
    hit = losses <= target
    first = hit.to(torch.int64).argmax(dim=0)
    return torch.where(hit.any(dim=0), first, -1)


def _path(surface, name, lr, start, steps, noise, seed) -> Path:
    points, losses, diverged = simulate(
        surface, name, torch.tensor([lr]), start, steps, noise, seed
    )
    arrived = int(_arrival(losses, surface.target)[0])
    return Path(
        optimizer=name,
        lr=float(lr),
        points=points[:, 0],
        losses=losses[:, 0],
        steps_to_target=None if arrived < 0 else arrived,
        diverged_at=None if int(diverged[0]) < 0 else int(diverged[0]),
    )


def _settled(losses: Tensor, target: float) -> Tensor:
    """First step index from which the loss stays <= target to the end, per member ([K]);
    ``-1`` if it never settles (an arrival that flies off again does not count)."""
    ok = (losses <= target).to(torch.int64)
    stays = torch.flip(torch.cummin(torch.flip(ok, [0]), dim=0).values, [0]).bool()
    return torch.where(stays.any(dim=0), stays.to(torch.int64).argmax(dim=0), -1)


def _tune(surface, name, start, steps, noise, seed) -> float:
    """The grid learning rate whose loss settles at or below the target soonest (stays there to
    the end), then has the lowest final loss."""
    grid = torch.tensor(TUNE_GRID, dtype=torch.float64)
    _, losses, diverged = simulate(surface, name, grid, start, steps, noise, seed)
    settled = _settled(losses, surface.target)
    settle = torch.where(settled >= 0, settled, steps + 1).to(torch.float64)
    final = torch.where(diverged >= 0, math.inf, losses[-1])
    final = torch.where(torch.isnan(final), math.inf, final)
    order = sorted(range(len(TUNE_GRID)), key=lambda i: (float(settle[i]), float(final[i])))
    return TUNE_GRID[order[0]]
