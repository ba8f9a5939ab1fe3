"""StackRecorder: it only observes (training is bit-identical with it), and each member's rows
equal those a Monitor records on that member's plain model trained alone (float64)."""

from __future__ import annotations

import itertools

import pytest
import torch

from actlab.data import Dataset, load
from actlab.diagnostics import Monitor, StackRecorder
from actlab.errors import ActlabError
from actlab.losses import loss as loss_fn
from actlab.models import ModelSpec, build
from actlab.optim import create
from actlab.train import Member, train

DT = torch.float64


@pytest.fixture(scope="module")
def spiral():
    return load("spiral", n=96, seed=3)


def _signals(n: int = 64, length: int = 12) -> Dataset:
    """A tiny 1-D signal set for the CNN stacks."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, length, generator=g), torch.randint(0, 3, (n,), generator=g)
    return Dataset("signals", "classification", x[:48], y[:48], x[48:], y[48:], n_classes=3)


def _mlp_members(data) -> list[Member]:
    spec = ModelSpec.for_data(data, depth=3, width=8)
    return [
        Member(spec.replace(activation="relu"), 0, "sgd", {"lr": 0.1}),
        Member(spec.replace(activation="prelu"), 1, "adam", {"lr": 0.01}),
        Member(spec.replace(activation="tanh", init="xavier_normal"), 2, "adagrad", {"lr": 0.05}),
    ]


def _cases():
    signals = _signals()
    cnn = ModelSpec.for_data(signals, "cnn1d", depth=2, width=4)
    mlp_bn = ModelSpec.for_data(signals, depth=2, width=6, normalization="batchnorm")
    return {
        "mlp": (None, 2),
        "cnn1d": (
            signals,
            [
                Member(cnn.replace(activation="sigmoid"), 0, "sgd", {"lr": 0.1}),
                Member(cnn.replace(activation="prelu"), 1, "adam", {"lr": 0.01}),
            ],
        ),
        "module_stack": (
            signals,
            [
                Member(mlp_bn.replace(activation="sigmoid"), 0, "sgd", {"lr": 0.1}),
                Member(mlp_bn.replace(activation="prelu"), 1, "adam", {"lr": 0.01}),
            ],
        ),
    }


def _unit(name, spiral):
    data, members = _cases()[name]
    if data is None:
        return spiral, _mlp_members(spiral)
    return data, members


def _recorder(members, data=None) -> StackRecorder:
    return StackRecorder([m.spec for m in members], [m.optimizer for m in members], data=data)


def _alone(data, member, *, epochs, batch_size, probe):
    """Member alone on its plain model (tests/test_train.py's loop) under a Monitor that records
    the steps the recorder records: step 1 and each epoch's last step."""
    model = build(member.spec, seed=member.seed).to(DT)
    opt = create(member.optimizer, model.parameters(), **member.optimizer_params)
    order = torch.Generator().manual_seed(member.seed)
    x, y = data.x_train.to(DT), data.y_train
    batches_per_epoch = -(-len(x) // batch_size)
    monitor = Monitor(model, optimizer=opt, probe=x[:probe] if probe else None)
    step = 0
    for _ in range(epochs):
        model.train()
        for i, batch in enumerate(torch.randperm(len(x), generator=order).split(batch_size)):
            step += 1
            watch = step == 1 or i == batches_per_epoch - 1
            with monitor.record(step) if watch else _nothing():
                loss_fn(model(x[batch]), y[batch], member.loss).backward()
            opt.step()
            opt.zero_grad()
    monitor.close()
    return monitor.rows


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def _by_key(rows) -> dict[tuple[int, str, str], float]:
    out = {(s, layer, m): v for s, layer, m, v in rows}
    assert len(out) == len(rows)  # no row recorded twice
    return out


@pytest.mark.parametrize("name", ["mlp", "cnn1d", "module_stack"])
def test_training_is_bit_identical_with_the_recorder(name, spiral):
    data, members = _unit(name, spiral)
    plain = train(data, members, epochs=2, batch_size=16)
    recorder = _recorder(members, data)
    watched = train(data, members, epochs=2, batch_size=16, recorder=recorder)
    assert [m.metrics for m in watched.members] == [m.metrics for m in plain.members]
    for k in range(len(members)):
        for p, q in zip(watched.network(k).parameters(), plain.network(k).parameters()):
            assert torch.equal(p, q)
        assert recorder.rows_of(k)


@pytest.mark.parametrize(
    "name, probe", [("mlp", True), ("mlp", False), ("cnn1d", True), ("module_stack", True)]
)
def test_each_members_rows_equal_a_monitor_on_its_plain_model(name, probe, spiral):
    data, members = _unit(name, spiral)
    recorder = StackRecorder(
        [m.spec for m in members],
        [m.optimizer for m in members],
        data=data if probe else None,
        probe_size=40,
    )
    train(data, members, epochs=2, batch_size=16, dtype=DT, recorder=recorder)
    for k, member in enumerate(members):
        want = _by_key(_alone(data, member, epochs=2, batch_size=16, probe=40 if probe else 0))
        got = _by_key(recorder.rows_of(k))
        assert set(got) == set(want), (k, set(got) ^ set(want))
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), (k, key)
    metrics = {m for _, _, m, _ in recorder.rows_of(0)}
    assert {"saturation_fraction", "dead_fraction", "effective_lr", "update_ratio"} <= metrics


def test_steps_are_the_first_and_each_epochs_last(spiral):
    members = _mlp_members(spiral)[:1]
    recorder = StackRecorder([members[0].spec], ["sgd"], every=2)
    result = train(spiral, members, epochs=4, batch_size=20, recorder=recorder)
    per_epoch = result.steps // 4
    assert sorted({s for s, *_ in recorder.rows_of(0)}) == [1, 2 * per_epoch, 4 * per_epoch]
    layers = {layer for _, layer, _, _ in recorder.rows_of(0)}
    assert layers == {"layer1", "layer2", "layer3", "output"}


def test_adagrad_effective_lr_decreases_every_epoch(spiral):
    spec = ModelSpec.for_data(spiral, depth=2, width=8, activation="tanh")
    members = [Member(spec, seed, "adagrad", {"lr": 0.05}) for seed in (0, 1)]
    recorder = _recorder(members, spiral)
    train(spiral, members, epochs=5, batch_size=24, recorder=recorder)
    for k in range(2):
        rates: dict[str, list[float]] = {}
        for _, layer, metric, value in sorted(recorder.rows_of(k)):
            if metric == "effective_lr":
                rates.setdefault(layer, []).append(value)
        assert set(rates) == {"layer1", "layer2", "output"}
        for layer, values in rates.items():
            assert len(values) == 6
            assert all(a > b for a, b in itertools.pairwise(values)), (k, layer, values)


def test_a_diverged_member_stops_recording(spiral):
    spec = ModelSpec.for_data(spiral, depth=2, width=8)
    members = [Member(spec, 0, "sgd", {"lr": 0.1}), Member(spec, 1, "sgd", {"lr": 1e100})]
    recorder = _recorder(members)
    result = train(spiral, members, epochs=3, batch_size=16, recorder=recorder)
    bad = result.members[1].diverged_step
    assert bad is not None
    assert all(step < bad for step, *_ in recorder.rows_of(1))
    assert max(step for step, *_ in recorder.rows_of(0)) == result.steps


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizers": ["sgd", "sgd"]}, "1 specs but 2 optimizer names"),
        ({"every": 0}, "every=0 must be an integer >= 1"),
        ({"probe_size": 1.5}, "probe_size=1.5"),
        ({"optimizers": ["sgdd"]}, "sgdd"),
    ],
)
def test_bad_input(kwargs, message, spiral):
    args = {"specs": [ModelSpec.for_data(spiral)], "optimizers": ["sgd"]} | kwargs
    with pytest.raises(ActlabError, match=message):
        StackRecorder(args.pop("specs"), args.pop("optimizers"), **args)


def test_specs_must_match_the_stack(spiral):
    members = _mlp_members(spiral)[:2]
    recorder = StackRecorder([members[1].spec, members[0].spec], ["sgd", "adam"])
    with pytest.raises(ActlabError, match="not those of the stack"):
        train(spiral, members, epochs=1, batch_size=32, recorder=recorder)
