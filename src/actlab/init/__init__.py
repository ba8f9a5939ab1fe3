"""The initializer catalog: every entry declared once in :data:`INITIALIZERS`.

One general :func:`variance_scaling_` draws zero-mean weights with ``Var(W) = scale / fan``;
Glorot/Xavier, He/Kaiming, LeCun, PyTorch's Linear default and ``auto`` are configurations of it.

>>> import torch
>>> from torch import nn
>>> import actlab.init
>>> model = nn.Sequential(nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 1))
>>> _ = actlab.init.init_(model, "auto", activation="swish")
>>> actlab.init.get("kaiming_normal").name
'he_normal'
"""

from __future__ import annotations

# Importing the family modules registers their entries (order = catalog order).
from actlab.init import basic, variance_scaling  # noqa: F401
from actlab.init._apply import LAYERS, bias_variance, init_, initialize_, weight_variance
from actlab.init._core import INITIALIZERS, InitInfo, fan, fans
from actlab.init.variance_scaling import variance_scaling_
from actlab.theory.auto_choice import AutoChoice, auto_choice

__all__ = [
    "INITIALIZERS",
    "LAYERS",
    "AutoChoice",
    "InitInfo",
    "auto_choice",
    "bias_variance",
    "fan",
    "fans",
    "get",
    "init_",
    "initialize_",
    "names",
    "variance_scaling_",
    "weight_variance",
]

get = INITIALIZERS.get
names = INITIALIZERS.names
