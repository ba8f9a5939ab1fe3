"""The lecture's experiment: the same data, the same multiclass hinge loss, two models -- a linear
classifier (convex loss in its weights) and a network with two hidden layers (not convex) --
plus what the figures need: two seeds of the network, an optimizer path, the line from the
initial weights to the solution.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.landscape.convexity import Convexity, convexity
from actlab.landscape.directions import Direction, parameters
from actlab.landscape.evaluate import LossFn
from actlab.landscape.slices import Plane, Slice, interpolate, plane
from actlab.landscape.trajectory import Path, path
from actlab.losses import Loss
from actlab.models import ModelSpec, build
from actlab.optim import create

__all__ = ["Lecture", "Trained", "hinge", "linear_model", "network", "run_lecture", "train"]


@dataclass(frozen=True)
class Trained:
    """A trained ``model`` and its weights after every epoch (``snapshots[0]``: the initial
    weights, ``snapshots[-1]``: the final ones)."""

    model: nn.Module
    snapshots: list[Direction]

    def at(self, index: int) -> nn.Module:
        """A copy of the model holding ``snapshots[index]``."""
        net = copy.deepcopy(self.model)
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.copy_(self.snapshots[index][name])
        return net


def linear_model(n_inputs: int, n_classes: int, *, seed: int) -> nn.Module:
    """``Flatten -> Linear``: the linear classifier ``f(x) = W x + b``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, n_classes))


def network(n_inputs: int, n_classes: int, *, seed: int, width: int = 100) -> nn.Module:
    """The catalog MLP with two hidden ReLU layers of ``width`` units."""
    spec = ModelSpec("mlp", input_shape=(n_inputs,), n_outputs=n_classes, depth=2, width=width)
    return build(spec, seed=seed)


def hinge() -> LossFn:
    """The mean multiclass hinge loss (Weston & Watkins) from the catalog."""
    return Loss("multiclass_hinge")


def train(
    model: nn.Module,
    loss_fn: LossFn,
    x: Tensor,
    y: Tensor,
    *,
    optimizer: str = "adam",
    epochs: int = 30,
    batch_size: int = 100,
    seed: int = 0,
    **hparams: Any,
) -> Trained:
    """Minibatch training with a catalog optimizer, keeping the weights after every epoch."""
    opt = create(optimizer, model.parameters(), **hparams)
    gen = torch.Generator().manual_seed(seed)
    snaps = [{n: t.clone() for n, t in parameters(model).items()}]
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
        snaps.append({n: t.clone() for n, t in parameters(model).items()})
    return Trained(model.eval(), snaps)


@dataclass(frozen=True)
class Lecture:
    """Everything the lecture's figures show (see :func:`run_lecture`)."""

    planes: dict[str, Plane]  # "linear", "network": around the solutions
    convexity: dict[str, Convexity]  # "<model> at init" / "<model> at solution"
    seeds: dict[str, Slice]  # "<model>, <split> data": seed -> seed + 1
    init_to_solution: dict[str, Slice]  # "linear", "network" (train data)
    path: Path  # the network's Adam path
    accuracy: dict[str, float]  # test accuracy of each trained model


def run_lecture(
    dataset: str = "mnist1d",
    *,
    epochs: int = 20,
    steps: int = 31,
    n_slices: int = 10,
    seed: int = 0,
    **data_params,
) -> Lecture:
    """Train two seeds each of the linear classifier and the 2-hidden-layer network with the
    multiclass hinge loss on ``dataset`` (catalog name) and compute every slice the figures
    draw: the two planes, the convexity numbers at the initial weights and at the solutions,
    the interpolation between each model's two seeds (train and test data), the lines from
    initialization to solution, and the network's optimizer path."""
    from actlab.data import load

    ds = load(dataset, seed=seed, **data_params)
    x, y, n_in, n_out = ds.x_train, ds.y_train, ds.x_train[0].numel(), ds.n_outputs
    loss = hinge()
    makers = {"linear": (linear_model, 1e-2), "network": (network, 1e-3)}
    runs, others = {}, {}
    for name, (make, lr) in makers.items():
        for s, into in ((seed, runs), (seed + 1, others)):
            into[name] = train(make(n_in, n_out, seed=s), loss, x, y, epochs=epochs, lr=lr, seed=s)

    def gen() -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    planes, conv, lines, acc = {}, {}, {}, {}
    for name, run in runs.items():
        planes[name] = plane(run.model, loss, x, y, steps=steps, generator=gen())
        for where, model in (("init", run.at(0)), ("solution", run.model)):
            conv[f"{name} at {where}"] = convexity(
                model, loss, x, y, n_slices=n_slices, steps=steps, generator=gen()
            )
        lines[name] = interpolate(run.at(0), run.model, loss, x, y, steps=steps, margin=0.25)
        with torch.no_grad():
            acc[name] = float((run.model(ds.x_test).argmax(-1) == ds.y_test).double().mean())
    seeds = {
        f"{name}, {split} data": interpolate(
            runs[name].model, others[name].model, loss, xs, ys, steps=steps
        )
        for name in runs
        for split, xs, ys in (("train", x, y), ("test", ds.x_test, ds.y_test))
    }
    trajectory = path(runs["network"].snapshots, runs["network"].model, loss, x, y, steps=steps)
    return Lecture(planes, conv, seeds, lines, trajectory, acc)
