"""actlab: activation functions, optimizers, losses and weight initialization -- and a lab to see
why a network learns or does not."""

from __future__ import annotations

__version__ = "0.1.0"

from actlab import activations, nn
from actlab.errors import ActlabError, ParameterError, UnknownNameError

__all__ = ["ActlabError", "ParameterError", "UnknownNameError", "__version__", "activations", "nn"]
