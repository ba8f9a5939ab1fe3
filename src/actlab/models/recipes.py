"""Networks of published recipes, as model factories (``Study(model="actlab.models.recipes:...")``,
see :mod:`actlab.models.user`): each takes the variant's activation and returns a plain module.

``mnist1d_cnn`` -- the convolutional network of the MNIST-1D paper (Greydanus & Kobak, "Scaling
down deep learning with MNIST-1D", 2020/2024; its reference models file): three 1-D convolutions
of 25 channels -- kernel 5 then 3 and 3, stride 2, padding 1 -- each followed by the activation,
then one linear layer from the flattened 25 x 5 features to the classes. For signals of length 40
that is 5,210 parameters.

>>> import torch
>>> net = mnist1d_cnn(torch.nn.ReLU)
>>> sum(p.numel() for p in net.parameters()), tuple(net(torch.zeros(3, 40)).shape)
(5210, (3, 10))
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["mnist1d_cnn"]


def mnist1d_cnn(
    activation: Callable[[], nn.Module], n_outputs: int = 10, width: int = 25
) -> nn.Module:
    """The MNIST-1D paper's CNN for length-40 signals (module docstring); ``width``: channels."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),  # (B, 40) -> one input channel
        nn.Conv1d(1, width, 5, stride=2, padding=1),  # length 40 -> 19
        activation(),
        nn.Conv1d(width, width, 3, stride=2, padding=1),  # 19 -> 10
        activation(),
        nn.Conv1d(width, width, 3, stride=2, padding=1),  # 10 -> 5
        activation(),
        nn.Flatten(),
        nn.Linear(width * 5, n_outputs),
    )
