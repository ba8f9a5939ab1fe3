"""Optimizers as composable pure transforms behind one ``torch.optim`` shell.

>>> import torch
>>> from actlab import optim
>>> model = torch.nn.Linear(3, 1)
>>> opt = optim.create("adadelta", model.parameters())
>>> isinstance(opt, torch.optim.Optimizer), type(opt).__name__
(True, 'Adadelta')

Every update rule is a :class:`Transform` (``init``/``update`` pure functions); ``functional``
returns it for code that steps stacked parameters itself. See ``docs/optimizers.md``.
"""

from __future__ import annotations

# Importing a catalog module registers its optimizers; this order is the catalog's order.
from actlab.optim import sgd_family  # noqa: F401

# isort: split
from actlab.optim import adaptive  # noqa: F401

# isort: split
from actlab.optim import adam  # noqa: F401

# isort: split
from actlab.optim import adam_variants  # noqa: F401

# isort: split
from actlab.optim._core import CONVENTIONS, OPTIMIZERS, OptimizerInfo, functional, register
from actlab.optim.introspect import StepReport, effective_lr, inspect
from actlab.optim.shell import (
    NonFiniteGradientError,
    Optimizer,
    create,
    make_classes,
    optimizer_class,
)
from actlab.optim.transforms import Transform, chain

_classes = make_classes()
globals().update(_classes)

__all__ = [
    "CONVENTIONS",
    "OPTIMIZERS",
    "NonFiniteGradientError",
    "Optimizer",
    "OptimizerInfo",
    "StepReport",
    "Transform",
    "chain",
    "create",
    "effective_lr",
    "functional",
    "inspect",
    "optimizer_class",
    "register",
    *_classes,
]
