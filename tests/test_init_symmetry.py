"""Why zeros and constants fail as weight initializers: the hidden units of a layer start equal,
receive equal gradients, and so stay equal through training -- the layer acts as one unit."""

from __future__ import annotations

import torch
from torch import nn

from actlab.init import init_


def _train(scheme: str, activation: nn.Module, steps: int = 200, **params) -> nn.Sequential:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 4, generator=g)
    y = torch.sin(x.sum(1, keepdim=True)) + 0.1 * torch.randn(128, 1, generator=g)
    model = nn.Sequential(
        nn.Linear(4, 16), activation, nn.Linear(16, 16), activation, nn.Linear(16, 1)
    )
    init_(model, scheme, generator=g, **params)
    params = list(model.parameters())
    for _ in range(steps):  # plain gradient descent (torch.optim's first step is slow to import)
        grads = torch.autograd.grad(nn.functional.mse_loss(model(x), y), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= 0.05 * g
    return model


def _spread(w: torch.Tensor) -> float:
    """How different the hidden units (rows) are: max |w_i - w_0|."""
    return (w - w[:1]).abs().max().item()


def test_constant_init_keeps_hidden_units_identical_through_training():
    model = _train("constant", nn.Tanh(), val=0.1)
    for layer in (model[0], model[2]):
        assert (layer.weight - 0.1).abs().max().item() > 1e-2  # training moved the weights ...
        assert _spread(layer.weight) < 1e-6  # ... but every hidden unit moved the same way
        assert _spread(layer.bias[:, None]) < 1e-6
    assert _spread(model[4].weight.T) < 1e-6  # the output sees 16 copies of one unit


def test_zero_init_never_moves_the_hidden_weights():
    # zeros: every hidden activation is f(0) = 0, so no weight gradient reaches any layer; only
    # the output bias learns (the mean of y)
    for act in (nn.ReLU(), nn.Tanh()):
        model = _train("zeros", act)
        for layer in (model[0], model[2], model[4]):
            assert torch.all(layer.weight == 0)
        assert model[4].bias.abs().item() > 1e-3


def test_random_init_breaks_the_symmetry():
    model = _train("he_normal", nn.ReLU())
    assert _spread(model[0].weight) > 0.1 and _spread(model[2].weight) > 0.1
