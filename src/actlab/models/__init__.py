"""Model builders: a frozen :class:`ModelSpec` names a network by catalog names and sizes;
:func:`build` makes the plain ``nn.Module`` with weights drawn from a seed; :func:`stack` holds K
of them for the batched trainer (:class:`StackedMLP`, :class:`StackedCNN1d` with stacked weights,
:class:`ModuleStack` for anything else). Your own model is named
``ModelSpec("package.module:factory", ...)`` (:mod:`actlab.models.user`) and stacked as a
:class:`~actlab.models.vmapped.VmapStack` (``torch.func.vmap``).

>>> import torch
>>> from actlab.models import MODELS, ModelSpec, build
>>> MODELS.names()
('mlp', 'cnn1d', 'cnn2d')
>>> net = build(ModelSpec("cnn1d", input_shape=(40,), n_outputs=10), seed=0)
>>> net(torch.zeros(8, 40)).shape
torch.Size([8, 10])
"""

from __future__ import annotations

# Importing the architecture modules registers them (order = catalog order).
from actlab.models import mlp  # noqa: F401

# isort: split
from actlab.models import cnn  # noqa: F401
from actlab.models._core import MODELS, NORMALIZATIONS, ModelInfo, ModelSpec, build
from actlab.models.stacked import StackedMLP
from actlab.models.stacked_cnn import StackedCNN1d
from actlab.models.stacks import ModuleStack, stack

__all__ = [
    "MODELS",
    "NORMALIZATIONS",
    "ModelInfo",
    "ModelSpec",
    "ModuleStack",
    "StackedCNN1d",
    "StackedMLP",
    "build",
    "get",
    "names",
    "stack",
]

get = MODELS.get
names = MODELS.names
