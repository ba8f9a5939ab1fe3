"""Two-dimensional test functions for racing optimizers: valleys, plateaus, saddles, many minima.

Each surface is declared once with its formula, the start the race uses, where its minima are,
the loss that counts as "arrived" and the box the contour plot shows.

>>> import torch
>>> f = SURFACES.get("rosenbrock")
>>> float(f.fn(torch.tensor([1.0, 1.0])))
0.0
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Info, Registry

__all__ = ["SURFACES", "SurfaceInfo"]


@dataclass(frozen=True)
class SurfaceInfo(Info):
    """A test function ``f(xy)`` of a ``[..., 2]`` tensor.

    Attributes:
        fn: the function, written with differentiable torch ops.
        formula: LaTeX.
        start: the default starting point of a race.
        minima: the global minima (for a saddle: the saddle point, marked instead).
        target: the loss at or below which a path counts as arrived.
        box: ``(xmin, xmax, ymin, ymax)`` of the contour plot.
        steps: the default number of steps of a race.
        log_levels: draw contour levels on a log scale (for surfaces with a flat valley).
        converge_tol: distance to the minimum within which an optimizer counts as converged
            (the convergence tests; see ``OptimizerInfo.convergence``).
    """

    fn: Callable[[Tensor], Tensor] | None = field(default=None, compare=False)
    formula: str = ""
    start: tuple[float, float] = (0.0, 0.0)
    minima: tuple[tuple[float, float], ...] = ()
    target: float = 1e-4
    box: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0)
    steps: int = 500
    log_levels: bool = True
    converge_tol: float = 1e-2

    def __call__(self, xy: Tensor) -> Tensor:
        return self.fn(xy)

    def value_and_grad(self, xy: Tensor) -> tuple[Tensor, Tensor]:
        """``f(xy)`` (shape ``[...]``) and its gradient (shape ``[..., 2]``), by autograd."""
        with torch.enable_grad():
            leaf = xy.detach().requires_grad_(True)
            value = self.fn(leaf)
            (g,) = torch.autograd.grad(value.sum(), leaf)
        return value.detach(), g


SURFACES: Registry[SurfaceInfo] = Registry("surface")


def register(**fields: Any) -> SurfaceInfo:
    return SURFACES.register(SurfaceInfo(**fields))


def _xy(v: Tensor) -> tuple[Tensor, Tensor]:
    return v[..., 0], v[..., 1]


def rosenbrock(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def beale(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def saddle(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return x**2 - y**2


def himmelblau(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def quadratic(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return 0.5 * (x**2 + 10 * y**2)


def rastrigin(v: Tensor) -> Tensor:
    x, y = _xy(v)
    return 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)


register(
    name="rosenbrock",
    summary="A long, curved, flat-bottomed valley: momentum accelerates along it, plain GD "
    "zig-zags across it.",
    fn=rosenbrock,
    formula=r"(1-x)^2 + 100\,(y-x^2)^2",
    start=(0.0, 0.0),
    minima=((1.0, 1.0),),
    box=(-2.0, 2.0, -1.0, 3.0),
    steps=1000,
    converge_tol=0.1,
    reference="Rosenbrock 1960",
)
register(
    name="beale",
    summary="Plateaus and sharp ridges around a narrow valley to (3, 0.5): gradients range over "
    "orders of magnitude, so per-coordinate scaling pays.",
    fn=beale,
    formula=r"(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
    start=(1.0, 1.4),
    minima=((3.0, 0.5),),
    box=(-1.0, 4.5, -1.5, 2.0),
    steps=300,
    reference="Beale 1958",
)
register(
    name="saddle",
    summary="A saddle point at the origin: started almost on the ridge line, the optimizers "
    "that rescale small gradients escape first. 'Arrived' means escaped (loss <= -1).",
    fn=saddle,
    formula=r"x^2 - y^2",
    start=(1.5, 1e-3),
    minima=((0.0, 0.0),),
    target=-1.0,
    box=(-1.6, 1.6, -1.6, 1.6),
    steps=300,
    log_levels=False,
)
register(
    name="himmelblau",
    summary="Four global minima of equal depth: which one a path ends in depends on its dynamics.",
    fn=himmelblau,
    formula=r"(x^2+y-11)^2 + (x+y^2-7)^2",
    start=(-0.3, -0.9),
    minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
    box=(-5.0, 5.0, -5.0, 5.0),
    steps=300,
    reference="Himmelblau 1972",
)
register(
    name="quadratic",
    summary="An ill-conditioned bowl (condition number 10): convex and smooth; the learning rate "
    "must respect the steep direction.",
    fn=quadratic,
    formula=r"\tfrac12\,(x^2 + 10\,y^2)",
    start=(-1.5, 1.0),
    minima=((0.0, 0.0),),
    target=1e-6,
    box=(-2.0, 2.0, -1.5, 1.5),
    steps=200,
)
register(
    name="rastrigin",
    summary="A bowl covered with local minima: a race to see which optimizers get stuck.",
    fn=rastrigin,
    formula=r"20 + \sum_{u\in\{x,y\}} \big(u^2 - 10\cos 2\pi u\big)",
    start=(-2.3, 1.8),
    minima=((0.0, 0.0),),
    target=1e-2,
    box=(-3.0, 3.0, -3.0, 3.0),
    steps=300,
    log_levels=False,
    reference="Rastrigin 1974",
)
