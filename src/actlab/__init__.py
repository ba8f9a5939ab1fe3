"""actlab: activation functions, optimizers, losses and weight initialization -- and a lab to see
why a network learns or does not.

Subpackages load on first use (``actlab.nn``, ``actlab.activations``, ...), so that ``import
actlab`` -- and the command line's ``--version`` and ``--help`` -- does not import torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from actlab.errors import ActlabError, ParameterError, UnknownNameError

__version__ = "0.1.0"

__all__ = ["ActlabError", "ParameterError", "UnknownNameError", "__version__", "activations", "nn"]

_SUBMODULES = frozenset(
    {
        "activations",
        "data",
        "diagnostics",
        "init",
        "losses",
        "models",
        "nn",
        "optim",
        "report",
        "study",
        "theory",
        "train",
    }
)

if TYPE_CHECKING:
    from actlab import activations, nn


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"actlab.{name}")  # also sets it on this module
    raise AttributeError(f"module 'actlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})
