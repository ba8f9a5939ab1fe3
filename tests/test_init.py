"""The initializer catalog: sampled moments against each formula, torch parity, init_ on models,
``auto`` for every activation, bad input."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.init import (
    INITIALIZERS,
    auto_choice,
    bias_variance,
    fans,
    init_,
    initialize_,
    weight_variance,
)

SHAPE = (384, 512)  # non-square: fan_in 512, fan_out 384, so the modes differ

VARIANTS = [
    ("zeros", {}),
    ("constant", {"val": -0.3}),
    ("uniform", {}),
    ("uniform", {"a": -1.0, "b": 3.0}),
    ("normal", {}),
    ("normal", {"mean": 0.5, "std": 0.2}),
    ("trunc_normal", {}),
    ("trunc_normal", {"std": 0.5, "a": -0.3, "b": 1.0}),
    ("trunc_normal", {"mean": 0.1, "std": 0.02, "a": -1.5, "b": 2.0, "bounds": "std"}),
    ("orthogonal", {}),
    ("orthogonal", {"gain": 2.0}),
    ("variance_scaling", {"scale": 3.0, "mode": "fan_avg", "distribution": "truncated_normal"}),
    ("variance_scaling", {"scale": 0.5, "mode": "fan_out", "distribution": "uniform"}),
    ("xavier_uniform", {}),
    ("xavier_normal", {"gain": 2.0}),
    ("he_uniform", {}),
    ("he_normal", {}),
    ("he_normal", {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
    ("he_uniform", {"nonlinearity": "tanh"}),
    ("lecun_uniform", {}),
    ("lecun_normal", {}),
    ("torch_default", {}),
    ("auto", {"activation": "gelu"}),
    ("auto", {"activation": "leaky_relu", "activation_params": {"negative_slope": 0.2}}),
    ("auto", {"activation": "tanh", "mode": "fan_out", "distribution": "uniform"}),
]


def _id(v):
    return f"{v[0]}-{'-'.join(f'{k}={x}' for k, x in v[1].items()) or 'default'}"


def test_variants_cover_the_catalog():
    assert {n for n, _ in VARIANTS} == set(INITIALIZERS.names())


@pytest.mark.parametrize("variant", VARIANTS, ids=_id)
def test_sampled_mean_and_variance_match_the_formula(variant):
    name, params = variant
    g = torch.Generator().manual_seed(0)
    w = initialize_(torch.empty(SHAPE, dtype=torch.float64), name, generator=g, **params)
    mean, var = INITIALIZERS.get(name).moments(SHAPE, **INITIALIZERS.get(name).bind(params))
    n = w.numel()
    # 6 standard errors: the mean's is sqrt(var / n), the variance's at most var * sqrt(2 / n)
    # (normal tails; uniform and truncated draws have lighter ones)
    assert w.mean().item() == pytest.approx(mean, abs=6 * math.sqrt(var / n) + 1e-12)
    assert w.var().item() == pytest.approx(var, rel=6 * math.sqrt(2 / n), abs=1e-12)


def test_named_schemes_are_their_textbook_formulas():
    # Var(W) for a 384 x 512 weight, written out from the papers
    fi, fo = 512, 384
    expected = {
        "xavier_normal": 2 / (fi + fo),
        "xavier_uniform": 2 / (fi + fo),
        "he_normal": 2 / fi,
        "he_uniform": 2 / fi,
        "lecun_normal": 1 / fi,
        "torch_default": (1 / math.sqrt(fi)) ** 2 / 3,  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        "orthogonal": 1 / fi,
    }
    for name, var in expected.items():
        assert weight_variance(name, fi, fo)[1] == pytest.approx(var), name
    assert weight_variance("auto", fi, fo, activation="relu")[1] == pytest.approx(2 / fi)
    assert weight_variance("auto", fi, fo, activation="identity")[1] == pytest.approx(1 / fi)


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if INITIALIZERS.get(v[0]).torch_fn], ids=_id
)
def test_equal_to_torch_nn_init_with_the_same_generator(variant):
    name, params = variant
    torch_fn = INITIALIZERS.get(name).torch_fn
    ours = initialize_(
        torch.empty(SHAPE), name, generator=torch.Generator().manual_seed(1), **params
    )
    if params.get("bounds") == "std":  # torch's bounds are absolute: convert
        m, s = params["mean"], params["std"]
        params = {"mean": m, "std": s, "a": m + params["a"] * s, "b": m + params["b"] * s}
    ref = torch_fn(torch.empty(SHAPE), generator=torch.Generator().manual_seed(1), **params)
    torch.testing.assert_close(ours, ref)


def test_torch_default_is_what_nn_linear_and_conv_do():
    for make in (lambda: nn.Linear(30, 20), lambda: nn.Conv2d(3, 8, 5)):
        torch.manual_seed(0)
        ref = make()  # its constructor runs reset_parameters
        ours = make()
        torch.manual_seed(0)
        init_(ours, "torch_default")
        torch.testing.assert_close(ours.weight, ref.weight)
        torch.testing.assert_close(ours.bias, ref.bias)


def test_auto_equals_he_for_relu_and_lecun_for_identity():
    for act, named in (("relu", "he_normal"), ("identity", "lecun_normal")):
        a = initialize_(
            torch.empty(64, 32), "auto", activation=act, generator=torch.Generator().manual_seed(2)
        )
        b = initialize_(torch.empty(64, 32), named, generator=torch.Generator().manual_seed(2))
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_auto_holds_its_fixed_point_for_every_activation(activation):
    # one layer: pre-activations z ~ N(0, q*) at the fixed point auto chose, h = W f(z) + b with W
    # and b from `auto`; E[h^2] should be q* again. (This test used to pin q* = 1 for every f,
    # sigma_w^2 = 1/E[f(z)^2]: a fixed point GELU-like maps leave; tests/test_c_auto_depth.py
    # checks the depth behaviour.) Vector activations keep the gain: q = 1, no bias.
    info = ACTIVATIONS.get(activation)
    elementwise = info.kind == "elementwise"
    q = auto_choice(activation).q_star if elementwise else 1.0
    g = torch.Generator().manual_seed(3)
    width = 512
    z = math.sqrt(q) * torch.randn(1024, width, generator=g, dtype=torch.float64)
    w = initialize_(
        torch.empty(width, width, dtype=torch.float64), "auto", activation=activation, generator=g
    )
    b = math.sqrt(bias_variance("auto", width, activation=activation)) * torch.randn(
        width, generator=g, dtype=torch.float64
    )
    h = info.scalar(z) @ w.T + b
    assert h.pow(2).mean().item() == pytest.approx(q, rel=0.1)


def test_auto_covers_activations_torch_calculate_gain_refuses():
    for name in ("gelu", "silu", "mish", "elu"):
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(name)
        _, var = weight_variance("auto", 100, activation=name)
        assert math.isfinite(var) and var > 0


def test_init_sets_every_linear_and_conv_layer():
    model = nn.Sequential(
        nn.Conv1d(2, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6, 300),
        nn.Tanh(),
        nn.Sequential(nn.Linear(300, 200), nn.Conv2d(1, 200, (3, 5), groups=1)),
    )
    g = torch.Generator().manual_seed(4)
    assert init_(model, "he_normal", "relu", generator=g) is model
    for layer in (m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))):
        fan_in = fans(layer.weight.shape)[0]
        assert torch.all(layer.bias == 0)
        if layer.weight.numel() > 5000:
            assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.05)
    assert fans(model[0].weight.shape) == (2 * 3, 4 * 3)
    assert fans(model[5][1].weight.shape) == (15, 3000)
    init_(model, "xavier_normal", bias_std=0.5, generator=g)
    assert model[3].bias.std().item() == pytest.approx(0.5, rel=0.2)


def test_generator_makes_init_reproducible():
    a = init_(nn.Linear(20, 20), "auto", "gelu", generator=torch.Generator().manual_seed(5))
    b = init_(nn.Linear(20, 20), "auto", "gelu", generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a.weight, b.weight)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: init_(nn.Linear(2, 2), "he_normall"), UnknownNameError, "did you mean: he_normal"),
        (lambda: init_(nn.Linear(2, 2), "auto"), ParameterError, "pass activation="),
        (lambda: init_(nn.Linear(2, 2), "auto", "gelux"), UnknownNameError, "activation 'gelux'"),
        (
            lambda: init_(nn.Linear(2, 2), "auto", "elu", activation_params={"alpha": -1.0}),
            ParameterError,
            "alpha",
        ),
        (lambda: init_(nn.Linear(2, 2), "uniform", a=1.0, b=0.0), ParameterError, "a < b"),
        (lambda: init_(nn.Linear(2, 2), "normal", std=-1.0), ParameterError, "std=-1"),
        (lambda: init_(nn.Linear(2, 2), "he_normal", mode="fan_mid"), ParameterError, "mode"),
        (
            lambda: init_(nn.Linear(2, 2), "he_normal", nonlinearity="gelu"),
            ParameterError,
            "nonlinearity",
        ),
        (lambda: init_(nn.Linear(2, 2), "trunc_normal", a=2.0, b=-2.0), ParameterError, "a < b"),
        (
            lambda: init_(nn.Linear(2, 2), "xavier_normal", bias_std=-1.0),
            ParameterError,
            "bias_std",
        ),
        (lambda: init_(nn.ReLU(), "xavier_normal"), ActlabError, "no Linear or Conv layer"),
        (lambda: initialize_(torch.empty(5), "he_normal"), ActlabError, "at least 2 dimensions"),
    ],
)
def test_bad_input_is_one_clear_error(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)
