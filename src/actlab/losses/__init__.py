"""The loss catalog: every entry declared once in :data:`LOSSES`.

Each loss computes unreduced (per-sample or per-element) values from scores, applies an explicit
``reduction``, and declares its analytic gradient wrt the scores, which its backward uses.

>>> import torch
>>> from actlab.losses import LOSSES, loss
>>> round(loss(torch.tensor([[0.0, 0.0]]), torch.tensor([1]), "ce").item(), 4)  # log 2
0.6931
>>> LOSSES.get("mse").name
'squared_error'
"""

from __future__ import annotations

# Importing the family modules registers their entries (order = catalog order).
from actlab.losses import classification, margin, regression  # noqa: F401
from actlab.losses._api import Loss, loss, loss_grad, reduce
from actlab.losses._core import LOSSES, REDUCTIONS, LossInfo

__all__ = [
    "LOSSES",
    "REDUCTIONS",
    "Loss",
    "LossInfo",
    "get",
    "loss",
    "loss_grad",
    "names",
    "reduce",
]

get = LOSSES.get
names = LOSSES.names
