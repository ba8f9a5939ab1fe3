"""Stacks of K members (StackedMLP, StackedCNN1d, ModuleStack): member k of a stack equals
``build(specs[k], seed=seeds[k])`` forward and backward, its parameters map to its rows, and
``stack()`` picks the fast stack where one holds the members."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from actlab.errors import ActlabError
from actlab.models import ModelSpec, ModuleStack, StackedCNN1d, StackedMLP, build, stack

MEMBERS = [  # (activation, params, init, seed): prelu learns its slope; two share relu
    ("relu", {}, "he_normal", 3),
    ("prelu", {}, "auto", 4),
    ("tanh", {}, "xavier_uniform", 1),
    ("relu", {}, "orthogonal", 1),
    ("leaky_relu", {"negative_slope": 0.2}, "auto", 5),
]
SOFTMAX = [*MEMBERS[:3], ("softmax", {}, "auto", 2)]  # a vector activation: acts over channels
MAXOUT = [("maxout", {}, i, s) for i, s in (("he_normal", 0), ("auto", 1), ("auto", 2))]

CASES = [  # (kind, shared fields, members, the stack stack() picks)
    ("mlp", {"input_shape": (3,), "depth": 2, "width": 5}, MEMBERS, StackedMLP),
    ("mlp", {"input_shape": (2, 2), "width": 4, "normalization": "layernorm"}, SOFTMAX, StackedMLP),
    ("cnn1d", {"input_shape": (12,), "depth": 2, "width": 3}, MEMBERS, StackedCNN1d),
    (
        "cnn1d",
        {"input_shape": (2, 12), "depth": 2, "width": 3, "normalization": "layernorm"},
        SOFTMAX,
        StackedCNN1d,
    ),
    ("cnn1d", {"input_shape": (9,), "depth": 1, "width": 4}, SOFTMAX, StackedCNN1d),
    ("cnn2d", {"input_shape": (6, 6), "depth": 1, "width": 2}, MEMBERS, ModuleStack),
    (
        "cnn2d",
        {"input_shape": (2, 4, 4), "depth": 2, "width": 2, "normalization": "batchnorm"},
        MEMBERS,
        ModuleStack,
    ),
    ("mlp", {"input_shape": (3,), "width": 4, "normalization": "batchnorm"}, MEMBERS, ModuleStack),
    ("cnn1d", {"input_shape": (8,), "depth": 2, "width": 2, "pieces": 3}, MAXOUT, ModuleStack),
]
IDS = [f"{kind}-{cls.__name__}-{i}" for i, (kind, _, _, cls) in enumerate(CASES)]


def members(kind, table, **shared):
    specs = [
        ModelSpec(kind, n_outputs=3, activation=a, activation_params=p, init=i, **shared)
        for a, p, i, _ in table
    ]
    return specs, [s for *_, s in table]


def grads_of(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose parameters hold ``net``'s gradients, so that its
    ``member_parameters(k)`` reads member k's gradients."""
    out = copy.deepcopy(net)
    with torch.no_grad():
        for p, q in zip(out.parameters(), net.parameters(), strict=True):
            p.copy_(q.grad if q.grad is not None else torch.zeros_like(q))
    return out


@pytest.mark.parametrize("kind, shared, table, cls", CASES, ids=IDS)
def test_members_equal_plain_models_forward_and_backward(kind, shared, table, cls):
    torch.manual_seed(0)
    specs, seeds = members(kind, table, **shared)
    K, shape = len(specs), shared["input_shape"]
    net = stack(specs, seeds).double()
    assert type(net) is cls and len(net) == K and net.specs == tuple(specs)
    x = torch.randn(5, *shape, dtype=torch.float64)
    for inputs in (x, torch.randn(K, 5, *shape, dtype=torch.float64)):
        net.zero_grad()
        plains = [build(s, seed=seed).double() for s, seed in zip(specs, seeds)]
        y = net(inputs)
        assert y.shape == (K, 5, 3)
        weights = torch.randn_like(y)
        (y * weights).sum().backward()
        grads = grads_of(net)
        for k, plain in enumerate(plains):
            x_k = inputs if inputs.dim() == len(shape) + 1 else inputs[k]
            y_k = plain(x_k)
            torch.testing.assert_close(y[k], y_k, rtol=1e-12, atol=1e-12)
            (y_k * weights[k]).sum().backward()
            mine, theirs = net.member_parameters(k), list(plain.parameters())
            assert [p.shape for p in mine] == [p.shape for p in theirs]
            for p, q in zip(mine, theirs):
                torch.testing.assert_close(p, q, rtol=0, atol=0)
            for g, q in zip(grads.member_parameters(k), theirs, strict=True):
                torch.testing.assert_close(g, q.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind, shared, table, cls", CASES, ids=IDS)
def test_parameter_members_cover_each_parameter_once(kind, shared, table, cls):
    torch.manual_seed(1)
    specs, seeds = members(kind, table, **shared)
    net = stack(specs, seeds).double()
    pairs = net.parameter_members()
    assert [id(p) for p, _ in pairs] == [id(p) for p in net.parameters()]
    for p, rows in pairs:
        assert rows.dtype == torch.long and rows.shape == (p.shape[0],)
    x = torch.randn(4, *shared["input_shape"], dtype=torch.float64)
    for k, (spec, seed) in enumerate(zip(specs, seeds)):
        plain = list(build(spec, seed=seed).parameters())
        assert sum(int((rows == k).sum()) for _, rows in pairs) == len(plain)
        assert sum(p[rows == k].numel() for p, rows in pairs) == sum(q.numel() for q in plain)
        net.zero_grad()
        net(x)[k].square().sum().backward()  # a loss that reaches member k only
        reached = 0
        for p, rows in pairs:
            grad = torch.zeros_like(p) if p.grad is None else p.grad
            touched = grad.reshape(len(p), -1).ne(0).any(1)
            assert not touched[rows != k].any(), (k, p.shape, rows)
            reached += int(touched[rows == k].sum())
        assert reached >= len(plain) - 2  # a slope or a pre-norm bias may get exactly zero


@pytest.mark.parametrize("kind, shared, table, cls", CASES[::2], ids=IDS[::2])
def test_member_round_trip_and_views_write_the_stack(kind, shared, table, cls):
    torch.manual_seed(2)
    specs, seeds = members(kind, table, **shared)
    net = stack(specs, seeds).double()
    x = torch.randn(4, *shared["input_shape"], dtype=torch.float64)
    net(x).square().sum().backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    net.eval()
    y = net(x)
    for k in range(len(specs)):
        plain = net.member(k)
        assert not plain.training and next(plain.parameters()).dtype == torch.float64
        torch.testing.assert_close(y[k], plain(x), rtol=1e-12, atol=1e-12)
        for p, q in zip(net.member_parameters(k), plain.parameters(), strict=True):
            assert torch.equal(p, q)
    with torch.no_grad():
        net.member_parameters(1)[0].add_(1.0)
    after = net(x)
    assert not torch.allclose(after[1], y[1])
    torch.testing.assert_close(after[[0, *range(2, len(specs))]], y[[0, *range(2, len(specs))]])
    assert net.train().member(0).training


def test_stacked_cnn1d_float32_within_1e5_relative():
    specs, seeds = members("cnn1d", SOFTMAX, input_shape=(2, 20), depth=3, width=6)
    net = StackedCNN1d(specs, seeds)
    x = torch.randn(8, 2, 20)
    y = net(x)
    for k, (spec, seed) in enumerate(zip(specs, seeds)):
        ref = build(spec, seed=seed)(x)
        assert ((y[k] - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_module_stack_batchnorm_buffers_follow_their_members():
    specs, seeds = members("cnn2d", MEMBERS, input_shape=(5, 5), depth=1, width=3)
    specs = [s.replace(normalization="batchnorm") for s in specs]
    net = ModuleStack(specs, seeds).double()
    xs = torch.randn(len(specs), 6, 5, 5, dtype=torch.float64)
    for _ in range(2):
        net(xs)
    plains = [build(s, seed=seed).double() for s, seed in zip(specs, seeds)]
    for k, plain in enumerate(plains):
        plain(xs[k])
        plain(xs[k])
        mine = dict(net.member(k).named_buffers())
        for name, value in plain.named_buffers():
            torch.testing.assert_close(mine[name], value, rtol=0, atol=1e-14)
        assert int(mine["1.norm.num_batches_tracked"]) == 2
    net.eval()
    x = torch.randn(3, 5, 5, dtype=torch.float64)
    y = net(x)
    for k, plain in enumerate(plains):
        torch.testing.assert_close(y[k], plain.eval()(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kind, shared, table, cls", [CASES[0], CASES[2], CASES[5]], ids=["mlp", "cnn1d", "cnn2d"]
)
def test_bad_input_shapes_and_member_index(kind, shared, table, cls):
    specs, seeds = members(kind, table, **shared)
    net = cls(specs, seeds)
    shape, K = shared["input_shape"], len(specs)
    bad_last = (*shape[:-1], shape[-1] + 1)
    for bad in (
        torch.zeros(5, *bad_last),
        torch.zeros(K + 1, 5, *shape),
        torch.zeros(*shape),
        torch.zeros(1, 1, 5, *shape),
    ):
        with pytest.raises(ActlabError, match="input of shape") as err:
            net(bad)
        assert "\n" not in str(err.value)
    for k in (K, -1):
        with pytest.raises(ActlabError, match="out of range"):
            net.member(k)
        with pytest.raises(ActlabError, match="out of range"):
            net.member_parameters(k)


CNN = {"input_shape": (12,), "width": 3}


@pytest.mark.parametrize(
    "cls, specs, seeds, needle",
    [
        (StackedCNN1d, [ModelSpec("cnn1d", **CNN, activation="maxout")], [0], "maxout"),
        (StackedCNN1d, [ModelSpec("cnn1d", **CNN, normalization="batchnorm")], [0], "batchnorm"),
        (StackedCNN1d, [ModelSpec()], [0], "'cnn1d'"),
        (
            StackedCNN1d,
            [ModelSpec("cnn1d", **CNN), ModelSpec("cnn1d", input_shape=(12,))],
            [0, 1],
            "width",
        ),
        (StackedCNN1d, [ModelSpec("cnn1d", **CNN)] * 2, [0], "seeds"),
        (StackedCNN1d, [], [], "at least one"),
        (ModuleStack, [ModelSpec(width=4), ModelSpec(width=5)], [0, 1], "'1.layer.weight'"),
        (ModuleStack, [ModelSpec(depth=2), ModelSpec(depth=3)], [0, 1], "'3.layer.weight'"),
        (ModuleStack, [ModelSpec(), ModelSpec("cnn1d", input_shape=(2,))], [0, 1], "kind"),
        (ModuleStack, [ModelSpec(), "mlp"], [0, 1], "ModelSpec"),
    ],
)
def test_bad_members_get_one_line(cls, specs, seeds, needle):
    with pytest.raises(ActlabError) as err:
        cls(specs, seeds)
    assert "\n" not in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize(
    "specs, cls",
    [
        ([ModelSpec(width=4, activation=a) for a in ("relu", "prelu")], StackedMLP),
        ([ModelSpec("cnn1d", **CNN, activation=a) for a in ("relu", "gelu")], StackedCNN1d),
        ([ModelSpec(width=4, normalization="batchnorm")] * 2, ModuleStack),
        ([ModelSpec(width=4, dropout=d) for d in (0.0, 0.5)], ModuleStack),  # StackedMLP shares it
        ([ModelSpec("cnn1d", **CNN, activation="maxout")] * 2, ModuleStack),
        ([ModelSpec("cnn1d", **CNN, normalization="batchnorm")] * 2, ModuleStack),
        ([ModelSpec("cnn2d", input_shape=(4, 4), width=2)] * 2, ModuleStack),
    ],
)
def test_stack_picks_the_fastest_stack_that_holds_the_members(specs, cls):
    net = stack(specs, range(len(specs)))
    assert type(net) is cls and net.seeds == (0, 1)


def test_stack_refuses_members_no_stack_holds():
    with pytest.raises(ActlabError, match="kind"):
        stack([ModelSpec(), ModelSpec("cnn2d", input_shape=(4, 4))], [0, 1])


@pytest.mark.parametrize(
    "kind, shared", [("mlp", {"input_shape": (3,), "width": 4}), ("cnn1d", CNN)]
)
def test_two_prelu_members_in_one_group(kind, shared):
    specs = [ModelSpec(kind, activation="prelu", init=i, **shared) for i in ("auto", "he_normal")]
    net = stack(specs, [0, 1]).double()
    x = torch.randn(5, *shared["input_shape"], dtype=torch.float64)
    y = net(x)
    for k, spec in enumerate(specs):
        torch.testing.assert_close(y[k], build(spec, seed=k).double()(x), rtol=0, atol=1e-12)
