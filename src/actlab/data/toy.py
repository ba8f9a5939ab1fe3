"""Two-dimensional toy sets: the TensorFlow Playground's six generators, two moons, and two
k-class sets (``spiral_arms``, ``blobs``: ``n_classes`` in 2..6, balanced to within one point).

The Playground generators follow its ``src/dataset.ts`` (github.com/tensorflow/playground): the
same shapes, ranges and noise model, with ``noise`` in ``[0, 0.5]`` as the Playground's 0-50 %
slider; points are labelled after jittering (so noise mislabels points near the boundary) but
keep their clean position. Classes ``{-1, +1}`` there are ``{0, 1}`` here. Everything is drawn
from one ``torch.Generator`` seeded with ``seed``, then shuffled and split at
``floor(n * train_ratio)`` as the Playground does. ``train_size`` keeps only the first that many
training points (the test points unchanged), so a train-size sweep compares nested training sets
on the same test points (standardized, when ``standardize`` is on, with the kept points' mean
and std).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param
from actlab.data._core import (
    DATASETS,
    STANDARDIZE,
    Dataset,
    DatasetInfo,
    split,
    split_check,
)

__all__ = [
    "N_CLASSES",
    "TWO_D",
    "blobs",
    "circle",
    "gauss",
    "moons",
    "multi_gauss",
    "plane",
    "spiral",
    "spiral_arms",
    "xor",
]

PLAYGROUND = "TensorFlow Playground, src/dataset.ts (github.com/tensorflow/playground)"
F64 = torch.float64


def _uniform(g: torch.Generator, shape: int | tuple[int, ...], low: float, high: float) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else shape
    return torch.rand(shape, generator=g, dtype=F64) * (high - low) + low


def _polar(r: Tensor, angle: Tensor) -> Tensor:
    """Points at radius ``r`` and ``angle`` (measured from the y axis, as the Playground does)."""
    return torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)


def circle(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Half the points inside radius 2.5 (class 1), half in the ring 3.5..5 (class 0)."""
    radius, inner = 5.0, n // 2
    r_in = _uniform(g, inner, 0, radius * 0.5)
    r = torch.cat([r_in, _uniform(g, n - inner, radius * 0.7, radius)])
    x = _polar(r, _uniform(g, n, 0, 2 * math.pi))
    jitter = _uniform(g, (n, 2), -radius, radius) * noise
    return x, ((x + jitter).norm(dim=1) < radius * 0.5).long()


def xor(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Uniform in [-5, 5]^2, pushed 0.3 away from the axes; class 1 where x*y >= 0."""
    x = _uniform(g, (n, 2), -5, 5)
    x = x + torch.where(x > 0, 0.3, -0.3)
    noisy = x + _uniform(g, (n, 2), -5, 5) * noise
    return x, (noisy[:, 0] * noisy[:, 1] >= 0).long()


def gauss(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two Gaussians at (2, 2) (class 1) and (-2, -2) (class 0); variance 0.5 + 7 * noise."""
    variance = 0.5 + noise * (4 - 0.5) / 0.5
    first = n // 2
    centres = torch.where(torch.arange(n)[:, None] < first, 2.0, -2.0).to(F64).expand(n, 2)
    x = centres + math.sqrt(variance) * torch.randn((n, 2), generator=g, dtype=F64)
    return x, (torch.arange(n) < first).long()


def spiral(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two interleaved arms, r = 5 i/m at angle 3.5 pi i/m (+ pi for class 0), jittered."""

    def arm(m: int, delta: float) -> Tensor:
        s = torch.arange(m, dtype=F64) / m
        clean = _polar(5 * s, 1.75 * 2 * math.pi * s + delta)
        return clean + _uniform(g, (m, 2), -1, 1) * noise

    first = n // 2
    x = torch.cat([arm(first, 0.0), arm(n - first, math.pi)])
    return x, (torch.arange(n) < first).long()


def plane(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Uniform in [-6, 6]^2; target (x + y) / 10 at the jittered position."""
    x = _uniform(g, (n, 2), -6, 6)
    noisy = x + _uniform(g, (n, 2), -6, 6) * noise
    return x, noisy.sum(dim=1, keepdim=True) / 10


GAUSSIANS = torch.tensor(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=F64,
)


def multi_gauss(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Uniform in [-6, 6]^2; target ``sign * clamp(1 - d/2, 0, 1)`` of the bump (of six, signed
    +-1 in a checkerboard) with the largest magnitude at the jittered position."""
    x = _uniform(g, (n, 2), -6, 6)
    noisy = x + _uniform(g, (n, 2), -6, 6) * noise
    d = torch.cdist(noisy, GAUSSIANS[:, :2])
    bumps = GAUSSIANS[:, 2] * (1 - d / 2).clamp(0, 1)
    pick = bumps.abs().argmax(dim=1, keepdim=True)
    return x, bumps.gather(1, pick)


def moons(n: int, noise: float, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two interleaved half circles (as ``sklearn.datasets.make_moons``) plus Gaussian noise of
    std ``noise``: class 0 on the upper half of the unit circle, class 1 on the lower half of
    the unit circle centred at (1, 0.5)."""
    outer = n // 2
    t_out = torch.linspace(0, math.pi, outer, dtype=F64)
    t_in = torch.linspace(0, math.pi, n - outer, dtype=F64)
    x = torch.cat(
        [
            torch.stack([torch.cos(t_out), torch.sin(t_out)], dim=1),
            torch.stack([1 - torch.cos(t_in), 0.5 - torch.sin(t_in)], dim=1),
        ]
    )
    x = x + noise * torch.randn((n, 2), generator=g, dtype=F64)
    return x, (torch.arange(n) >= outer).long()


def _class_sizes(n: int, k: int) -> list[int]:
    """``n`` points split into ``k`` classes as evenly as possible (the first ones get the rest)."""
    return [n // k + (j < n % k) for j in range(k)]


def spiral_arms(
    n: int, noise: float, g: torch.Generator, n_classes: int = 3
) -> tuple[Tensor, Tensor]:
    """``k = n_classes`` interleaved arms (as CS231n's k-class spiral): arm ``j`` at
    r = 5 i/m, angle 3.5 pi i/m + 2 pi j/k, jittered by ``noise`` like :func:`spiral`."""
    xs, ys = [], []
    for j, m in enumerate(_class_sizes(n, n_classes)):
        s = torch.arange(m, dtype=F64) / max(m, 1)
        clean = _polar(5 * s, 1.75 * 2 * math.pi * s + 2 * math.pi * j / n_classes)
        xs.append(clean + _uniform(g, (m, 2), -1, 1) * noise)
        ys.append(torch.full((m,), j, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def blobs(n: int, noise: float, g: torch.Generator, n_classes: int = 3) -> tuple[Tensor, Tensor]:
    """``k = n_classes`` Gaussian blobs, centres evenly on the circle of radius 4 (class 0 at the
    top); variance ``0.5 + 7 * noise`` as :func:`gauss`."""
    std = math.sqrt(0.5 + noise * (4 - 0.5) / 0.5)
    xs, ys = [], []
    for j, m in enumerate(_class_sizes(n, n_classes)):
        centre = _polar(torch.tensor([4.0], dtype=F64), torch.tensor([2 * math.pi * j / n_classes]))
        xs.append(centre + std * torch.randn((m, 2), generator=g, dtype=F64))
        ys.append(torch.full((m,), j, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


Generator = Callable[..., tuple[Tensor, Tensor]]
TWO_D: list[str] = []
"""The names registered here (the studies' 2-D toy recipe, preset ``toy-2d``, serves them)."""


def _builder(generate: Generator, regression: bool) -> Callable[..., Dataset]:
    def build(
        *, seed: int, n: int, noise: float, train_ratio: float, train_size: int, **classes: int
    ) -> Dataset:
        g = torch.Generator().manual_seed(seed)
        x, y = generate(n, noise, g, **classes)
        y = y.float() if regression else y
        x_train, y_train, x_test, y_test = split(x.float(), y, train_ratio, seed)
        if train_size:
            x_train, y_train = x_train[:train_size], y_train[:train_size]
        return Dataset(
            name=generate.__name__,
            task="regression" if regression else "classification",
            x_train=x_train,
            y_train=y_train,
            x_test=x_test,
            y_test=y_test,
            n_classes=None if regression else classes.get("n_classes", 2),
        )

    return build


TRAIN_SIZE = Param(
    "train_size",
    0,
    "training points kept, the first of the shuffled split (0: all floor(n * train_ratio))",
    low=0,
    high=10_000_000,
)


def _check(params: Mapping[str, Any]) -> str | None:
    """Both splits non-empty, and ``train_size`` no more than the training split holds."""
    problem = split_check(params)
    cut = int(params["n"] * params["train_ratio"])
    if problem is None and params["train_size"] > cut:
        problem = (
            f"train_size={params['train_size']} is more than the {cut} training points of "
            f"n={params['n']} with train_ratio={params['train_ratio']:g}"
        )
    return problem


def _register(
    generate: Generator,
    summary: str,
    *,
    regression: bool = False,
    aliases: tuple[str, ...] = (),
    noise: Param = Param("noise", 0.0, "Playground noise (0-50 %)", low=0.0, high=0.5),
    train_ratio: float = 0.5,
    reference: str = PLAYGROUND,
    extra: tuple[Param, ...] = (),
) -> None:
    TWO_D.append(generate.__name__)
    DATASETS.register(
        DatasetInfo(
            name=generate.__name__,
            summary=summary,
            aliases=aliases,
            params=(
                Param("n", 500, "number of points, train + test", low=2, high=10_000_000),
                noise,
                Param(
                    "train_ratio",
                    train_ratio,
                    "fraction used for training",
                    low=0,
                    high=1,
                    low_open=True,
                    high_open=True,
                ),
                TRAIN_SIZE,
                *extra,
                STANDARDIZE,
            ),
            check=_check,
            reference=reference,
            build=_builder(generate, regression),
            task="regression" if regression else "classification",
        )
    )


_register(circle, "A disc inside a ring: needs a closed boundary (2 classes).")
_register(xor, "Four quadrants, opposite ones alike: needs a product of inputs (2 classes).")
_register(gauss, "Two Gaussian blobs: linearly separable, noise sets the overlap (2 classes).")
_register(spiral, "Two interleaved spirals: the hardest Playground set (2 classes).")
_register(
    plane, "Regression on a tilted plane, (x + y) / 10.", regression=True, aliases=("reg_plane",)
)
_register(
    multi_gauss,
    "Regression on six signed Gaussian-like bumps.",
    regression=True,
    aliases=("reg_gauss",),
)
_register(
    moons,
    "Two interleaved half circles (2 classes).",
    noise=Param("noise", 0.1, "std of Gaussian noise added to the points", low=0.0, high=2.0),
    train_ratio=0.8,
    reference="as sklearn.datasets.make_moons (Pedregosa et al., JMLR 12, 2011)",
)

N_CLASSES = Param("n_classes", 3, "number of classes", low=2, high=6)
_register(
    spiral_arms,
    "k interleaved spiral arms, one class each (n_classes = 2..6).",
    extra=(N_CLASSES,),
    reference="the k-class spiral of CS231n (Karpathy), 'Minimal neural network case study'",
)
_register(
    blobs,
    "k Gaussian blobs on a circle, one class each (n_classes = 2..6); noise sets the overlap.",
    extra=(N_CLASSES,),
    reference="k Gaussian blobs, as sklearn.datasets.make_blobs with centres on a circle",
)
