"""Signal-propagation theory: how activation scale and gradients evolve through a deep random
network, predicted by mean-field maps and checked against measurement (``depth_probe``).

>>> from actlab.theory import critical_weight_variance
>>> round(critical_weight_variance("relu"), 6)
2.0
"""

from __future__ import annotations

from actlab.theory.auto_choice import AutoChoice, auto_choice
from actlab.theory.mean_field import (
    activation_moments,
    chi,
    critical_weight_variance,
    depth_scale,
    fixed_point,
    second_moments,
    variance_map,
)
from actlab.theory.predict import LayerStats, predict
from actlab.theory.probe import ProbeResult, build_mlp, depth_probe, measure

__all__ = [
    "AutoChoice",
    "LayerStats",
    "ProbeResult",
    "activation_moments",
    "auto_choice",
    "build_mlp",
    "chi",
    "critical_weight_variance",
    "depth_probe",
    "depth_scale",
    "fixed_point",
    "measure",
    "predict",
    "second_moments",
    "variance_map",
]
