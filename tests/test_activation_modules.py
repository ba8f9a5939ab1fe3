"""actlab.nn modules and the functional API."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.activations import ACTIVATIONS
from actlab.activations import functional as AF
from actlab.errors import ParameterError
from actlab.nn import Activation, Maxout, PReLU, Swish


def test_functional_api_has_every_name_and_alias():
    x = torch.randn(4, 6)
    for name in ACTIVATIONS.names(aliases=True):
        assert getattr(AF, name)(x).shape[0] == 4
    with pytest.raises(AttributeError):
        AF.not_an_activation  # noqa: B018


@pytest.mark.parametrize("channels", [1, 3])
def test_prelu_matches_torch_including_weight_gradient(channels):
    torch.manual_seed(0)
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    ours, ref = PReLU(channels).double(), nn.PReLU(channels).double()
    with torch.no_grad():
        ours.weight.copy_(torch.linspace(0.1, 0.3, channels) if channels > 1 else 0.2)
        ref.weight.copy_(ours.weight.reshape(ref.weight.shape))
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), ref(xb)
    torch.testing.assert_close(ya, yb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(ours.weight.grad.reshape(-1), ref.weight.grad.reshape(-1))


def test_learnable_swish_beta_gradient_equals_autograd_of_formula():
    x = torch.randn(50, dtype=torch.float64)
    m = Swish(beta=1.3, learnable=True).double()
    m(x).sum().backward()
    beta = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    (x * torch.sigmoid(beta * x)).sum().backward()
    torch.testing.assert_close(m.beta.grad, beta.grad)


def test_activation_module_fixed_params_and_repr():
    m = Activation("leaky_relu6", cap=4.0)
    assert list(m.parameters()) == []
    assert "cap=4.0" in repr(m)
    torch.testing.assert_close(m(torch.tensor([-2.0, 9.0])), torch.tensor([-0.02, 4.0]))
    with pytest.raises(ParameterError, match="cap=-1 is out of range"):
        Activation("leaky_relu6", cap=-1.0)
    with pytest.raises(ValueError, match="no learnable parameter"):
        Activation("relu", learnable=True)


def test_rrelu_module_follows_train_and_eval():
    m = Activation("rrelu")
    x = -torch.ones(1000)
    torch.manual_seed(0)
    train = m.train()(x)
    evaluated = m.eval()(x)
    assert train.std() > 0.01
    torch.testing.assert_close(evaluated, F.rrelu(x, training=False))


def test_maxout_layer_is_max_of_linear_pieces():
    torch.manual_seed(0)
    layer = Maxout(5, 3, pieces=4).double()
    x = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    expected = layer.linear(x).reshape(7, 3, 4).amax(-1)
    torch.testing.assert_close(y, expected)
    y.sum().backward()
    assert x.grad is not None and layer.linear.weight.grad.abs().sum() > 0
