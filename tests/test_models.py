"""Model builders: every registered architecture and every catalog activation builds and runs;
weights are a function of (spec, seed); bad specs get one line; a StackedMLP member equals the
same member built alone, forward and backward, in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from typer.testing import CliRunner

from actlab.activations import ACTIVATIONS
from actlab.cli import app
from actlab.errors import ActlabError
from actlab.init import init_
from actlab.models import MODELS, ModelSpec, StackedMLP, build
from actlab.nn import Activation, Maxout

# Input shapes tried on every architecture; each builds from those it accepts.
CANDIDATE_SHAPES = [(3,), (40,), (2, 12), (9, 10), (1, 8, 8), (3, 6, 5)]


def accepted(kind: str) -> list[tuple[int, ...]]:
    def ok(shape):
        try:
            ModelSpec(kind, input_shape=shape)
        except ActlabError:
            return False
        return True

    return [s for s in CANDIDATE_SHAPES if ok(s)]


def test_accepted_inputs():
    assert accepted("mlp") == CANDIDATE_SHAPES  # any shape, flattened
    assert accepted("cnn1d") == [(3,), (40,), (2, 12), (9, 10)]
    assert accepted("cnn2d") == [(9, 10), (1, 8, 8), (3, 6, 5)]  # (2, 12): pooled below 1


@pytest.mark.parametrize("kind", MODELS.names())
def test_every_model_builds_and_runs(kind):
    shapes = accepted(kind)
    assert shapes, f"{kind} accepts none of the candidate input shapes"
    for shape in shapes:
        spec = ModelSpec(kind, input_shape=shape, n_outputs=5, width=4, normalization="batchnorm")
        model = build(spec, seed=0)
        y = model(torch.randn(3, *shape))
        assert y.shape == (3, 5)
        y.sum().backward()
        assert all(p.grad is not None for p in model.parameters())


def test_cnn1d_follows_the_mnist1d_layout():
    spec = ModelSpec("cnn1d", input_shape=(40,), n_outputs=10)
    convs = [m for m in build(spec, seed=0).modules() if isinstance(m, nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(25, (5,), (2,))] * 3
    x = torch.randn(2, 1, 40)
    for conv in convs:
        x = conv(x)
    assert x.shape == (2, 25, 5)  # 40 -> 20 -> 10 -> 5


@pytest.mark.parametrize("kind", ["mlp", "cnn1d"])
@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_catalog_activation_works(kind, name):
    spec = ModelSpec(kind, input_shape=(8,), n_outputs=3, depth=2, width=4, activation=name)
    model = build(spec, seed=1).double()
    x = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    y = model(x)
    assert y.shape == (5, 3) and torch.isfinite(y).all()
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    hidden = Maxout if name == "maxout" and kind == "mlp" else Activation
    assert sum(isinstance(m, hidden) for m in model.modules()) == spec.depth
    if name != "maxout":
        acts = [m for m in model.modules() if isinstance(m, Activation)]
        assert {a.info.name for a in acts} == {ACTIVATIONS.get(name).name}


def test_vector_activations_act_over_channels_in_a_cnn():
    spec = ModelSpec(
        "cnn1d", input_shape=(2, 16), n_outputs=2, depth=1, width=3, activation="softmax"
    )
    block = build(spec, seed=0)[0]
    h = block(torch.randn(4, 2, 16))
    torch.testing.assert_close(h.sum(1), torch.ones(4, 8))


def params_of(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("kind", MODELS.names())
def test_weights_are_a_function_of_the_seed(kind):
    spec = ModelSpec(kind, input_shape=accepted(kind)[0], width=4, init="he_uniform")
    a, b, c = (params_of(build(spec, seed=s)) for s in (7, 7, 8))
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert any(not torch.equal(p, q) for p, q in zip(a, c) if p.dim() > 1)


def test_draw_order_is_init_over_modules_from_one_generator():
    spec = ModelSpec(input_shape=(3,), depth=3, width=5, activation="gelu", init="auto")
    model = MODELS.get("mlp").builder(spec)
    init_(model, "auto", activation="gelu", generator=torch.Generator().manual_seed(11))
    expected = params_of(model)
    assert all(torch.equal(p, q) for p, q in zip(params_of(build(spec, seed=11)), expected))


def test_init_scheme_and_params_reach_every_layer():
    spec = ModelSpec(
        "cnn2d", input_shape=(6, 6), width=2, init="constant", init_params={"val": 0.25}
    )
    layers = [m for m in build(spec, seed=0).modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == spec.depth + 1
    assert all(torch.all(m.weight == 0.25) for m in layers)


@pytest.mark.parametrize(
    "norm, norm_type", [("batchnorm", nn.BatchNorm1d), ("layernorm", nn.LayerNorm)]
)
def test_order_is_linear_norm_activation_dropout(norm, norm_type):
    spec = ModelSpec(input_shape=(3,), depth=2, width=4, normalization=norm, dropout=0.2)
    model = build(spec, seed=0)
    blocks = list(model)[1:-1]
    assert len(blocks) == 2
    for block in blocks:
        kinds = [type(m) for m in block.children()]
        assert kinds == [nn.Linear, norm_type, Activation, nn.Dropout]
    assert isinstance(model[-1], nn.Linear)  # the output layer is linear, no activation


def test_cnn_order_is_conv_norm_activation():
    model = build(ModelSpec("cnn2d", input_shape=(8, 8), normalization="batchnorm"), seed=0)
    kinds = [type(m) for m in model[1].children()]  # model[0] adds the channel axis
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, Activation, nn.MaxPool2d]


def test_residual_adds_the_input():
    spec = ModelSpec(input_shape=(6,), depth=2, width=6, residual=True, activation="tanh")
    model = build(spec, seed=3).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    for block in list(model)[1:-1]:
        inner = nn.Sequential(*block.children())
        torch.testing.assert_close(block(x), x + inner(x), rtol=0, atol=1e-15)
        assert not torch.allclose(block(x), inner(x))
    plain = build(spec.replace(residual=False), seed=3).double()
    model[1].layer.weight.data.zero_()
    model[1].layer.bias.data.zero_()
    torch.testing.assert_close(model[1](x), x)  # tanh(0) = 0: the block passes x through
    assert not plain[1].residual


def test_residual_skips_only_where_widths_agree():
    model = build(ModelSpec(input_shape=(3,), depth=3, width=5, residual=True), seed=0)
    assert [b.residual for b in list(model)[1:-1]] == [False, True, True]


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_mlp_has_pieces_times_the_hidden_parameters(pieces):
    def hidden_count(activation):
        spec = ModelSpec(
            input_shape=(7,), n_outputs=3, depth=2, width=5, activation=activation, pieces=pieces
        )
        model = build(spec, seed=0)
        return sum(p.numel() for p in model.parameters()) - sum(
            p.numel() for p in model[-1].parameters()
        )

    assert hidden_count("maxout") == pieces * hidden_count("relu")


def test_spec_is_canonical_and_hashable():
    a = ModelSpec(activation="swish", init="kaiming_normal")
    b = ModelSpec(activation="silu", activation_params={"beta": 1.0}, init="he_normal")
    assert a == b and hash(a) == hash(b)
    assert (a.activation, a.init, a.depth, a.width) == ("silu", "he_normal", 2, 64)
    assert ModelSpec("cnn1d", input_shape=(40,)).width == 25  # the architecture's default


BAD_SPECS = [
    ({"kind": "mlpp"}, "did you mean: mlp"),
    ({"activation": "rleu"}, "relu"),
    ({"init": "he_norml"}, "he_normal"),
    ({"depth": -1}, "depth"),  # 0: no hidden layer, a linear model (tests/test_sweeps.py)
    ({"width": 0}, "width"),
    ({"width": 2.5}, "width"),
    ({"dropout": 1.0}, "dropout"),
    ({"dropout": -0.1}, "dropout"),
    ({"normalization": "groupnorm"}, "normalization"),
    ({"pieces": 0, "activation": "maxout"}, "pieces"),
    ({"input_shape": (0,)}, "input_shape"),
    ({"n_outputs": 0}, "n_outputs"),
    ({"activation": "leaky_relu", "activation_params": {"slope": 0.1}}, "negative_slope"),
    ({"activation": "elu", "activation_params": {"alpha": "big"}}, "alpha"),
    ({"activation": "softmax", "activation_params": {"dim": 0}}, "dim"),
    ({"activation": "maxout", "activation_params": {"pieces": 3}}, "ModelSpec.pieces"),
    ({"init": "normal", "init_params": {"sd": 1.0}}, "std"),
    ({"depth": 1, "width": 8, "residual": True}, "residual"),
    ({"kind": "cnn1d", "residual": True, "input_shape": (40,)}, "residual"),
    ({"kind": "cnn1d", "input_shape": (1, 2, 3)}, "input_shape"),
    ({"kind": "cnn2d", "input_shape": (8, 8), "depth": 4}, "depth"),
]


@pytest.mark.parametrize("fields, needle", BAD_SPECS)
def test_bad_specs_get_one_line(fields, needle):
    fields = {"input_shape": (3,), **fields}
    with pytest.raises(ActlabError) as err:
        ModelSpec(**fields)
    message = str(err.value)
    assert "\n" not in message and needle in message


def test_bad_seed():
    with pytest.raises(ActlabError, match="seed"):
        build(ModelSpec(), seed=1.5)


def test_list_models_cli():
    out = CliRunner().invoke(app, ["list", "models", "--plain"])
    assert out.exit_code == 0
    assert all(name in out.stdout for name in MODELS.names())


# ---- StackedMLP -------------------------------------------------------------------------------

MEMBERS = [  # (activation, params, init, seed): two share relu, one learns its slope
    ("relu", {}, "he_normal", 3),
    ("tanh", {}, "xavier_uniform", 1),
    ("prelu", {}, "auto", 4),
    ("relu", {}, "orthogonal", 1),
    ("leaky_relu", {"negative_slope": 0.2}, "auto", 5),
]


def member_specs(**shared):
    return [
        ModelSpec(activation=a, activation_params=p, init=i, **shared) for a, p, i, _ in MEMBERS
    ], [s for *_, s in MEMBERS]


def plain_params(model: nn.Sequential, depth: int, layernorm: bool):
    """(weight [in, out], bias, norm weight, norm bias, learned slope) per layer, plain model."""
    out = []
    for block in list(model)[1 : 1 + depth]:
        lin = block.layer.linear if isinstance(block.layer, Maxout) else block.layer
        norm = [block.norm.weight, block.norm.bias] if layernorm else []
        slope = (
            [block.act.weight] if hasattr(block, "act") and "weight" in block.act.learned else []
        )
        out.append([lin.weight, lin.bias, *norm, *slope])
    out.append([model[-1].weight, model[-1].bias])
    return out


def stacked_params(net: StackedMLP, k: int, layernorm: bool):
    """The same tensors as (stacked parameter, how member k's slice is read from it)."""
    group, i = net.where[k]

    def weight(t):
        return t[k].T

    def row(t):
        return t[k, 0]

    def slope(t):
        return t[i].reshape(())

    out = []
    for layer in range(net.spec.depth):
        norm = [(net.norm_weights[layer], row), (net.norm_biases[layer], row)] if layernorm else []
        g = net.acts[layer].groups[group]
        slopes = [(g.weight, slope)] if "weight" in g.learned else []
        out.append([(net.weights[layer], weight), (net.biases[layer], row), *norm, *slopes])
    out.append([(net.weights[-1], weight), (net.biases[-1], row)])
    return out


@pytest.mark.parametrize(
    "shared",
    [
        {"input_shape": (3,), "depth": 2, "width": 6},
        {
            "input_shape": (6,),
            "depth": 3,
            "width": 6,
            "residual": True,
            "normalization": "layernorm",
        },
        {"input_shape": (2, 2), "depth": 2, "width": 4, "normalization": "layernorm"},
    ],
)
def test_stacked_members_equal_plain_models_forward_and_backward(shared):
    torch.manual_seed(0)
    specs, seeds = member_specs(n_outputs=3, **shared)
    K, layernorm = len(specs), shared.get("normalization") == "layernorm"
    net = StackedMLP.from_specs(specs, seeds).double()
    plains = [build(s, seed=seed).double() for s, seed in zip(specs, seeds)]
    x = torch.randn(7, *shared["input_shape"], dtype=torch.float64)
    target = torch.randn(7, 3, dtype=torch.float64)

    y = net(x)
    assert y.shape == (K, 7, 3)
    for k in range(K):
        torch.testing.assert_close(y[k], plains[k](x), rtol=0, atol=1e-12)
        torch.testing.assert_close(y[k], net.member(k)(x), rtol=0, atol=1e-12)
    xs = torch.randn(K, 7, *shared["input_shape"], dtype=torch.float64)
    ys = net(xs)
    for k in range(K):
        torch.testing.assert_close(ys[k], plains[k](xs[k]), rtol=0, atol=1e-12)

    F.mse_loss(y, target.expand(K, -1, -1), reduction="sum").backward()
    for k, plain in enumerate(plains):
        F.mse_loss(plain(x), target, reduction="sum").backward()
        plain_layers = plain_params(plain, net.spec.depth, layernorm)
        stacked_layers = stacked_params(net, k, layernorm)
        assert [len(p) for p in plain_layers] == [len(s) for s in stacked_layers]
        for ps, ss in zip(plain_layers, stacked_layers):
            for p, (s, member) in zip(ps, ss):
                torch.testing.assert_close(member(s), p, rtol=0, atol=0)
                torch.testing.assert_close(member(s.grad), p.grad, rtol=0, atol=1e-10)


def test_stacked_initial_weights_are_drawn_as_build_draws_them():
    specs, seeds = member_specs(input_shape=(3,), width=5)
    net = StackedMLP.from_specs(specs, seeds)
    for k, (spec, seed) in enumerate(zip(specs, seeds)):
        plain = build(spec, seed=seed)
        assert torch.equal(net.weights[0][k], plain[1].layer.weight.T)
        assert torch.equal(net.biases[-1][k, 0], plain[-1].bias)


def test_member_carries_the_current_weights():
    specs, seeds = member_specs(input_shape=(3,), width=5)
    net = StackedMLP.from_specs(specs, seeds).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    net(x).square().sum().backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    y = net(x)
    for k in range(len(specs)):
        plain = net.member(k)
        assert next(plain.parameters()).dtype == torch.float64
        torch.testing.assert_close(y[k], plain(x), rtol=0, atol=1e-12)
        assert not torch.allclose(y[k], build(specs[k], seed=seeds[k]).double()(x))


def test_stacked_maxout_members():
    specs = [
        ModelSpec(
            input_shape=(4,),
            width=3,
            activation="maxout",
            pieces=3,
            init=i,
            normalization="layernorm",
        )
        for i in ("he_normal", "auto", "xavier_normal")
    ]
    net = StackedMLP.from_specs(specs, [0, 1, 2]).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    y = net(x)
    assert net.weights[0].shape == (3, 4, 9)
    for k, spec in enumerate(specs):
        torch.testing.assert_close(y[k], build(spec, seed=k).double()(x), rtol=0, atol=1e-12)


def test_stacked_dropout_is_exact_in_eval_mode():
    specs = [
        ModelSpec(input_shape=(3,), width=8, dropout=0.5, activation=a) for a in ("relu", "gelu")
    ]
    net = StackedMLP.from_specs(specs, [0, 1]).double().eval()
    x = torch.randn(5, 3, dtype=torch.float64)
    for k in range(2):
        torch.testing.assert_close(net(x)[k], net.member(k)(x), rtol=0, atol=1e-12)
    assert not net.member(0).training
    net.train()
    assert net(x).shape == (2, 5, 2) and net.member(1).training


@pytest.mark.parametrize(
    "specs, seeds, needle",
    [
        ([ModelSpec(width=4), ModelSpec(width=5)], [0, 1], "width"),
        ([ModelSpec(width=4), ModelSpec(width=4, activation="maxout")], [0, 1], "maxout"),
        (
            [ModelSpec(activation="maxout"), ModelSpec(activation="maxout", pieces=3)],
            [0, 1],
            "pieces",
        ),
        ([ModelSpec(normalization="batchnorm")], [0], "batchnorm"),
        ([ModelSpec("cnn1d", input_shape=(40,))], [0], "mlp"),
        ([ModelSpec(), ModelSpec()], [0], "seeds"),
        ([], [], "at least one"),
    ],
)
def test_stacked_bad_members_get_one_line(specs, seeds, needle):
    with pytest.raises(ActlabError) as err:
        StackedMLP.from_specs(specs, seeds)
    assert "\n" not in str(err.value) and needle in str(err.value)


def test_stacked_bad_input_and_member_index():
    net = StackedMLP.from_specs([ModelSpec(input_shape=(3,), width=4)] * 2, [0, 1])
    for bad in (torch.zeros(5, 4), torch.zeros(3, 5, 3), torch.zeros(3)):
        with pytest.raises(ActlabError, match="input of shape"):
            net(bad)
    with pytest.raises(ActlabError, match="out of range"):
        net.member(2)
