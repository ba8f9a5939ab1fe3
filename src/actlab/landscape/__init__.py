"""Loss landscapes: 1-D and 2-D slices of a loss through weight space, the optimizer's path on
its principal plane, and a convexity number (Goodfellow et al. 2015; Li et al. 2018).

Every function takes any ``nn.Module``, a ``loss_fn(scores, y)`` and data; points of weight space
are evaluated as batched models (``torch.vmap`` over ``torch.func.functional_call``).

>>> import torch
>>> from actlab import landscape
>>> net = torch.nn.Linear(4, 3)
>>> x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
>>> gen = torch.Generator().manual_seed(0)
>>> p = landscape.plane(net, torch.nn.functional.cross_entropy, x, y, steps=5, generator=gen)
>>> p.loss.shape
torch.Size([5, 5])
"""

from __future__ import annotations

from actlab.landscape.convexity import Convexity, convexity, curvature
from actlab.landscape.directions import (
    difference,
    filter_normalize,
    filter_normalized_direction,
    parameters,
)
from actlab.landscape.evaluate import Values, evaluate
from actlab.landscape.slices import Plane, Slice, interpolate, line, plane
from actlab.landscape.trajectory import Path, path

__all__ = [
    "Convexity",
    "Path",
    "Plane",
    "Slice",
    "Values",
    "convexity",
    "curvature",
    "difference",
    "evaluate",
    "filter_normalize",
    "filter_normalized_direction",
    "interpolate",
    "line",
    "parameters",
    "path",
    "plane",
]
