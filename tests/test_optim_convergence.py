"""Every registered optimizer converges on a convex quadratic and on Rosenbrock from the surface's
fixed start, with the learning rate and step budget documented in its registry entry (no weight
decay, which would move the minimum)."""

from __future__ import annotations

import pytest
import torch

from actlab.optim import OPTIMIZERS
from actlab.optim.race import simulate
from actlab.optim.surfaces import SURFACES

CASES = [
    pytest.param(info, surface, id=f"{info.name}-{surface}")
    for info in OPTIMIZERS
    for surface in ("quadratic", "rosenbrock")
]


@pytest.mark.parametrize(("info", "surface_name"), CASES)
def test_converges(info, surface_name):
    surface = SURFACES.get(surface_name)
    lr, steps = info.convergence[surface_name]
    points, losses, diverged = simulate(
        surface, info.name, torch.tensor([lr]), surface.start, steps, weight_decay=0.0
    )
    assert int(diverged[0]) == -1
    minimum = torch.tensor(surface.minima[0], dtype=torch.float64)
    distance = (points[:, 0] - minimum).norm(dim=-1)
    assert float(distance[0]) > 10 * surface.converge_tol  # the start is far away
    tail = distance[-max(1, steps // 10) :]  # the last 10% of the path, not a lucky last point
    assert float(tail.max()) <= surface.converge_tol, (
        f"{info.name} on {surface_name} with lr={lr}: {float(tail.max()):.3g} from the minimum"
    )
    assert float(losses[-1, 0]) < 0.1 * float(losses[0, 0])


def test_every_optimizer_documents_both_surfaces():
    for info in OPTIMIZERS:
        assert set(info.convergence) == {"quadratic", "rosenbrock"}, info.name
