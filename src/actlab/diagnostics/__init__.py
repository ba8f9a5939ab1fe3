"""Diagnostics: probe a network while it trains and say what is going wrong.

- :mod:`~actlab.diagnostics.metrics`: pure metric maths on tensors, for one network or a stack
  of K (leading member dims);
- :class:`Monitor`: hooks that record per-layer metrics of any ``torch.nn`` model as
  ``(step, layer, metric, value)`` rows (the store's diagnostics form);
- :class:`StackRecorder`: the same rows for every member of a batched-trainer stack;
- :func:`findings` and :func:`health_table`: rules and a per-layer summary over those rows;
  :func:`diagnose` gathers both with the gradient ratio theory predicts (``actlab diagnose``).

>>> import torch
>>> from torch import nn
>>> from actlab.diagnostics import Monitor, findings
>>> model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
>>> opt = torch.optim.SGD(model.parameters(), lr=0.05)
>>> with Monitor(model, optimizer=opt) as monitor:
...     for step in range(3):
...         opt.zero_grad()
...         with monitor.record(step):
...             model(torch.randn(16, 2)).pow(2).mean().backward()
...         opt.step()
>>> monitor.steps
[0, 1, 2]
>>> isinstance(findings(monitor.rows, activation=monitor.activation), list)
True
"""

from __future__ import annotations

from actlab.diagnostics.diagnose import (
    Diagnosis,
    chance_loss,
    diagnose,
    predicted_ratio,
    reference_grad_norms,
)
from actlab.diagnostics.findings import Finding, Thresholds, findings
from actlab.diagnostics.findings_base import recommended_inits
from actlab.diagnostics.metrics import (
    INACTIVE_THRESHOLD,
    SATURATION_THRESHOLD,
    dead_fraction,
    effective_lr,
    examples_by_units,
    gradient_ratio,
    inactive_fraction,
    moments,
    norm,
    peak_slope,
    saturation_fraction,
    update_ratio,
)
from actlab.diagnostics.monitor import TORCH_ACTIVATIONS, Monitor
from actlab.diagnostics.rows import METRICS, frame
from actlab.diagnostics.stacked import StackRecorder
from actlab.diagnostics.table import health_table

__all__ = [
    "INACTIVE_THRESHOLD",
    "METRICS",
    "SATURATION_THRESHOLD",
    "TORCH_ACTIVATIONS",
    "Diagnosis",
    "Finding",
    "Monitor",
    "StackRecorder",
    "Thresholds",
    "chance_loss",
    "dead_fraction",
    "diagnose",
    "effective_lr",
    "examples_by_units",
    "findings",
    "frame",
    "gradient_ratio",
    "health_table",
    "inactive_fraction",
    "moments",
    "norm",
    "peak_slope",
    "predicted_ratio",
    "recommended_inits",
    "reference_grad_norms",
    "saturation_fraction",
    "update_ratio",
]
