"""The activation catalog: every entry declared once in :data:`ACTIVATIONS`.

>>> import torch, actlab.activations as A
>>> A.activate(torch.tensor([-1.0, 2.0]), "relu")
tensor([0., 2.])
>>> A.ACTIVATIONS.get("swish").name
'silu'
"""

from __future__ import annotations

# Importing the family modules registers their entries (order = catalog order).
from actlab.activations import classic, relu_family, smooth, vector  # noqa: F401
from actlab.activations._autograd import activate
from actlab.activations._core import ACTIVATIONS, ActivationInfo

__all__ = ["ACTIVATIONS", "ActivationInfo", "activate", "get", "names"]

get = ACTIVATIONS.get
names = ACTIVATIONS.names
