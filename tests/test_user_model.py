"""Your own model (``"package.module:factory"``): building and checking it, a vmapped stack whose
every member equals the same model trained alone (float64), the fallback for models vmap cannot
run, BatchNorm's running statistics, diagnostics, and one-line errors for bad factories."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
import warnings

import pytest
import torch

from actlab.data import load
from actlab.diagnostics import StackRecorder
from actlab.errors import ActlabError
from actlab.models import ModelSpec, build, stack
from actlab.models.vmapped import VmapStack
from actlab.study import Study
from actlab.train import Member, train
from test_train import _alone

DT = torch.float64

FACTORIES = textwrap.dedent(
    """
    import torch
    from torch import nn


    def make_cnn(activation, width=3, n_outputs=10, input_shape=(40,)):
        # no bias before BatchNorm (it would have a zero gradient that Adam blows up from noise)
        return nn.Sequential(
            nn.Unflatten(1, (1, input_shape[0])),
            nn.Conv1d(1, width, 5, stride=2, padding=2, bias=False), nn.BatchNorm1d(width),
            activation(),
            nn.Conv1d(width, width, 3, stride=2, padding=1), activation(),
            nn.Flatten(), nn.Linear(width * (input_shape[0] // 4), n_outputs),
        )


    class Gated(nn.Module):
        def __init__(self, activation, n_outputs, gate=True):
            super().__init__()
            self.inp, self.norm = nn.Linear(40, 12, bias=False), nn.BatchNorm1d(12)
            self.act, self.out, self.gate = activation(), nn.Linear(12, n_outputs), gate

        def forward(self, x):
            h = self.act(self.norm(self.inp(x)))
            if self.gate and h.mean() > 0.3:  # data-dependent control flow: vmap cannot run it
                h = 0.5 * h
            return self.out(h)


    def make_gated(activation, n_outputs):
        return Gated(activation, n_outputs)


    def make_gated_for_tanh(activation, n_outputs):
        return Gated(activation, n_outputs, gate=activation.name == "tanh")


    def make_drop(activation, n_outputs):
        return nn.Sequential(
            nn.Linear(40, 12), activation(), nn.Dropout(0.3), nn.Linear(12, n_outputs)
        )


    class Scaled(nn.Module):
        def __init__(self, activation):
            super().__init__()
            self.scale = nn.Parameter(torch.randn(10))  # drawn from torch's global generator
            self.body = nn.Sequential(nn.Linear(40, 10), activation())

        def forward(self, x):
            return self.scale * self.body(x)


    def make_scaled(activation):
        return Scaled(activation)


    def bad_shape(activation):
        return nn.Sequential(nn.Linear(40, 3), activation())


    def raises(activation):
        raise RuntimeError("boom")


    def not_module(activation):
        return 3


    def no_activation(width=4):
        return nn.Linear(40, 10)


    def ignores(activation):
        return nn.Linear(40, 10)


    def needs_hidden(activation, hidden):
        return nn.Sequential(nn.Linear(40, hidden), activation(), nn.Linear(hidden, 10))


    INSTANCE = nn.Linear(40, 10)


    def needs_depth(activation, depth):
        layers = [m for _ in range(depth) for m in (nn.Linear(40, 40), activation())]
        return nn.Sequential(*layers, nn.Linear(40, 10))
    """
)


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    """A module of factories, importable under a fresh name."""
    name = f"usermodels_{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("factories")
    (folder / f"{name}.py").write_text(FACTORIES)
    sys.path.insert(0, str(folder))
    yield name
    sys.path.remove(str(folder))
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def data():
    return load("mnist1d", num_samples=100)


def check_alone(data, result, members, *, epochs, batch_size, exact=False):
    """Each member of ``result`` equals ``members[k]`` trained alone (weights, running stats,
    metrics): to 1e-12, or bit for bit."""
    for k, member in enumerate(members):
        model, rows = _alone(data, member, epochs=epochs, batch_size=batch_size)
        mine = result.network(k)
        for got, want in zip(
            [*mine.parameters(), *mine.buffers()],
            [*model.parameters(), *model.buffers()],
            strict=True,
        ):
            if exact:
                assert torch.equal(got, want), k
            else:
                torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
        for got, want in zip(result.members[k].metrics, rows, strict=True):
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=0, abs=1e-12), (k, key)


def test_vmapped_members_equal_the_model_trained_alone(mod, data):
    spec = ModelSpec.for_data(data, f"{mod}:make_cnn")
    members = [
        Member(spec.replace(activation="relu"), 0, "sgd", {"lr": 0.1}),
        Member(spec.replace(activation="tanh", init="xavier_normal"), 1, "adam", {"lr": 0.01}),
        Member(spec.replace(activation="prelu"), 2, "nag", {"lr": 0.05, "momentum": 0.9}),
        Member(spec.replace(activation="relu"), 3, "sgd", {"lr": 0.02, "weight_decay": 1e-3}),
        Member(spec.replace(activation="elu", init="he_uniform"), 4, "adagrad", {"lr": 0.05}),
    ]
    result = train(data, members, epochs=2, batch_size=16, dtype=DT)
    net = result.model
    assert isinstance(net, VmapStack) and net.fallback is None
    assert sorted(len(g) for g in net.groups) == [1, 1, 1, 2]  # the two relu members: one call
    check_alone(data, result, members, epochs=2, batch_size=16)
    first, last = result.members[1].metrics[0], result.members[1].metrics[-1]
    assert last["train_loss"] < first["train_loss"]
    running = [result.network(k)[2].running_mean for k in range(len(members))]
    assert not torch.equal(running[0], running[3])  # each member keeps its own statistics


def test_gathered_groups_match_plain_models_forward_backward_and_running_stats(mod):
    """Members of one activation that are not adjacent: gathered rows, written back."""
    specs = [ModelSpec(f"{mod}:make_cnn", input_shape=(40,), n_outputs=10, activation=a)
             for a in ("relu", "tanh", "relu")]  # fmt: skip
    net = VmapStack(specs, [0, 1, 2]).to(DT).train()
    assert net.groups == ((0, 2), (1,))
    x = torch.randn(3, 6, 40, generator=torch.Generator().manual_seed(0), dtype=DT)
    out = net(x)
    out.square().sum().backward()
    for k, spec in enumerate(specs):
        plain = build(spec, seed=k).to(DT).train()
        y = plain(x[k])
        y.square().sum().backward()
        torch.testing.assert_close(out[k], y, rtol=0, atol=1e-12)
        for got, want in zip(net.member_parameters(k), plain.parameters(), strict=True):
            torch.testing.assert_close(got, want.detach(), rtol=0, atol=1e-12)
        grads = [p.grad for p in net.params]
        for (i, row), want in zip(net.slots[k], plain.parameters(), strict=True):
            torch.testing.assert_close(grads[i][row], want.grad, rtol=0, atol=1e-12)
        for got, want in zip(net.member(k).buffers(), plain.buffers(), strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_data_dependent_control_flow_falls_back_once_and_still_equals_alone(mod, data):
    spec = ModelSpec.for_data(data, f"{mod}:make_gated")
    specs = [spec.replace(activation=a) for a in ("relu", "tanh")]
    # a first forward in training mode: BatchNorm updates its statistics under vmap before the
    # `if` fails; they are restored, so the fallback updates them once
    net = VmapStack(specs, [0, 1]).to(DT).train()
    x = data.x_train[:8].to(DT)
    with pytest.warns(UserWarning, match="vmap cannot run it with relu, tanh") as caught:
        out = net(x)
        net(x)
    assert len(caught) == 1 and "data-dependent control flow" in net.fallback
    assert net.sequential == {0, 1}
    for k, s in enumerate(specs):
        plain = build(s, seed=k).to(DT).train()
        first = plain(x)
        plain(x)
        assert torch.equal(out[k], first)
        assert all(torch.equal(a, b) for a, b in zip(net.member(k).buffers(), plain.buffers()))

    members = [
        Member(specs[0], 0, "sgd", {"lr": 0.1}),
        Member(specs[1], 1, "adam", {"lr": 0.01}),
        Member(specs[0], 2, "rmsprop", {"lr": 0.001}),
    ]
    with pytest.warns(UserWarning, match="vmap cannot run it with relu, tanh"):
        result = train(data, members, epochs=2, batch_size=16, dtype=DT)
    assert result.model.sequential == {0, 1}
    check_alone(data, result, members, epochs=2, batch_size=16, exact=True)


def test_only_the_groups_vmap_cannot_run_fall_back(mod, data):
    spec = ModelSpec.for_data(data, f"{mod}:make_gated_for_tanh")
    members = [Member(spec.replace(activation=a), s, "adam", {"lr": 0.01})
               for s, a in enumerate(("relu", "tanh", "relu"))]  # fmt: skip
    with pytest.warns(UserWarning, match=r"with tanh \(.*\); those members run one after"):
        result = train(data, members, epochs=2, batch_size=16, dtype=DT)
    net = result.model
    assert [net.specs[g[0]].activation for g in net.groups] == ["relu", "tanh"]
    assert net.sequential == {1}  # the relu members still run as one vmap call
    check_alone(data, result, members, epochs=2, batch_size=16)


def test_dropout_runs_vmapped_and_reproducibly(mod, data):
    spec = ModelSpec.for_data(data, f"{mod}:make_drop")
    members = [Member(spec.replace(activation=a), s, "sgd", {"lr": 0.1})
               for s, a in enumerate(("relu", "tanh"))]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback
        runs = [train(data, members, epochs=2, batch_size=16) for _ in range(2)]
    assert runs[0].model.fallback is None
    assert [m.metrics for m in runs[0].members] == [m.metrics for m in runs[1].members]


def test_build_seeds_what_the_factory_draws_and_leaves_the_global_generator(mod):
    spec = ModelSpec(f"{mod}:make_scaled", input_shape=(40,), n_outputs=10)
    state = torch.get_rng_state()
    a, b, c = build(spec, seed=3), build(spec, seed=3), build(spec, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.scale, b.scale) and not torch.equal(a.scale, c.scale)
    assert torch.equal(a.body[0].weight, b.body[0].weight)
    assert type(stack([spec, spec], [0, 1])) is VmapStack


def test_factory_fields_follow_its_signature(mod):
    spec = ModelSpec(f"{mod}:make_cnn", input_shape=(40,), n_outputs=10)
    assert spec.width == 3 and spec.depth is None  # its default; it declares no depth
    assert build(spec.replace(width=5), seed=0)[1].out_channels == 5
    deep = ModelSpec(f"{mod}:needs_depth", input_shape=(40,), n_outputs=10, depth=3)
    assert len([m for m in build(deep, seed=0) if isinstance(m, torch.nn.Linear)]) == 4


def test_study_takes_a_factory_function_as_its_reference(mod):
    factory = importlib.import_module(mod).make_cnn
    study = Study(model=factory, activations=["relu", "tanh"], width=4, seeds=1, epochs=1)
    assert study.model == f"{mod}:make_cnn" and study.to_dict()["model"] == study.model
    assert Study.from_dict(study.to_dict()) == study
    assert {r.model for r in study.runs()} == {study.model}


def _in_main(activation):
    return torch.nn.Linear(40, 10)


_in_main.__module__ = "__main__"


def _local():
    def factory(activation):
        return torch.nn.Linear(40, 10)

    return factory


@pytest.mark.parametrize(
    "model, fields, needle",
    [
        ("nosuchmodule_zz:make", {}, "no module named 'nosuchmodule_zz'"),
        ("{mod}:make_cnx", {}, "did you mean: make_cnn"),
        ("{mod}:raises", {}, "the factory raised RuntimeError: boom"),
        ("{mod}:not_module", {}, "not an nn.Module"),
        ("{mod}:bad_shape", {}, "the data needs (2, 10)"),
        ("{mod}:no_activation", {}, "keyword argument 'activation'"),
        ("{mod}:ignores", {}, "never calls activation()"),
        ("{mod}:needs_hidden", {}, "'hidden' has no default"),
        ("{mod}:needs_depth", {}, "needs depth"),
        ("{mod}:make_cnn", {"depth": 2}, "does not take depth"),
        ("{mod}:make_cnn", {"activation": "maxout"}, "maxout"),
        ("not a module:x", {}, "is not 'package.module:factory'"),
        ("{mod}:INSTANCE", {}, "not a function that builds an nn.Module"),
    ],
)
def test_bad_factories_are_one_line(mod, model, fields, needle):
    with pytest.raises(ActlabError) as err:
        ModelSpec(model.format(mod=mod), input_shape=(40,), n_outputs=10, **fields)
    message = str(err.value)
    assert needle in message and "\n" not in message, message


@pytest.mark.parametrize(
    "model, needle",
    [
        (lambda activation: None, "define the factory at module level"),
        (_local(), "define the factory at module level"),
        (_in_main, "defined in the script being run"),
        (3.5, "has type float"),
    ],
)
def test_study_refuses_factories_it_cannot_name(model, needle):
    with pytest.raises(ActlabError, match=needle.replace("(", r"\(")):
        Study(model=model)


def test_diagnostics_record_every_layer_of_a_user_cnn_without_changing_training(mod, data):
    spec = ModelSpec.for_data(data, f"{mod}:make_cnn")
    members = [Member(spec.replace(activation=a), s, "adam", {"lr": 0.01})
               for s, a in enumerate(("relu", "tanh", "relu"))]  # fmt: skip
    recorder = StackRecorder([m.spec for m in members], ["adam"] * 3, data=data)
    watched = train(data, members, epochs=2, batch_size=16, recorder=recorder)
    plain = train(data, members, epochs=2, batch_size=16)
    assert [m.metrics for m in watched.members] == [m.metrics for m in plain.members]
    for k in range(3):
        rows = recorder.rows_of(k)
        layers = {layer for _, layer, _, _ in rows}
        assert layers == {"layer1", "layer2", "output"}
        per_layer = {(layer, metric) for _, layer, metric, _ in rows}
        for want in (("layer1", "act_mean"), ("layer2", "dead_fraction"),
                     ("layer2", "saturation_fraction"), ("output", "grad_norm")):  # fmt: skip
            assert want in per_layer, want
    dead = {v for _, layer, metric, v in recorder.rows_of(0) if metric == "dead_fraction"}
    assert dead and all(0.0 <= v <= 1.0 for v in dead)


def test_a_first_forward_in_training_mode_with_a_group_falling_back(mod):
    """Training first (as when resuming a checkpoint): a sliced group, a gathered group (its
    buffer rows written back), a group vmap cannot run (its rows restored, then run one by one),
    then backward: the writes must not invalidate what the first group saved for backward."""
    specs = [ModelSpec(f"{mod}:make_gated_for_tanh", input_shape=(40,), n_outputs=10,
                       activation=a) for a in ("elu", "relu", "tanh", "relu")]  # fmt: skip
    net = VmapStack(specs, [0, 1, 2, 3]).to(DT).train()
    assert net.groups == ((0,), (1, 3), (2,))
    x = torch.randn(4, 6, 40, generator=torch.Generator().manual_seed(1), dtype=DT)
    with pytest.warns(UserWarning, match="with tanh"):
        out = net(x)
    out.square().sum().backward()
    assert net.sequential == {2}
    grads = [p.grad for p in net.params]
    for k, spec in enumerate(specs):
        plain = build(spec, seed=k).to(DT).train()
        y = plain(x[k])
        y.square().sum().backward()
        torch.testing.assert_close(out[k], y, rtol=0, atol=1e-12)
        for (i, row), want in zip(net.slots[k], plain.parameters(), strict=True):
            torch.testing.assert_close(grads[i][row], want.grad, rtol=0, atol=1e-12)
        for got, want in zip(net.member(k).buffers(), plain.buffers(), strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
