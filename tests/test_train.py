"""The batched trainer: a member trained in a batch equals the same member trained alone as a
plain ``nn.Module`` with ``actlab.optim``; a diverging member is frozen and changes nothing else."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.data import load
from actlab.errors import ActlabError
from actlab.losses import loss as loss_fn
from actlab.models import ModelSpec, build
from actlab.optim import create
from actlab.train import Member, StackedOptimizer, train

DT = torch.float64


@pytest.fixture(scope="module")
def data():
    return load("spiral", n=120, seed=3)


def _alone(data, member: Member, *, epochs, batch_size):
    """The reference: the plain model, trained by the loop the trainer's docstring states."""
    model = build(member.spec, seed=member.seed).to(DT)
    opt = create(member.optimizer, model.parameters(), **member.optimizer_params)
    order = torch.Generator().manual_seed(member.seed)
    x, y = data.x_train.to(DT), data.y_train
    n = len(x)

    def evaluate(epoch, running=None):
        model.eval()
        with torch.no_grad():
            row = {"epoch": epoch}
            for split, xs, ys in (("train", x, y), ("test", data.x_test.to(DT), data.y_test)):
                out = model(xs)
                row[f"{split}_loss"] = float(loss_fn(out, ys, member.loss, **member.loss_params))
                row[f"{split}_acc"] = float((out.argmax(-1) == ys).double().mean())
        if running is not None:  # epochs >= 1: the running mean over the epoch's batches
            row["train_loss"], row["train_acc"] = running[0] / n, running[1] / n
        model.train()
        return row

    rows = [evaluate(0)]
    for epoch in range(1, epochs + 1):
        batches = [torch.arange(n)] if batch_size is None else torch.randperm(n, generator=order)
        running = [0.0, 0.0]
        for batch in batches if batch_size is None else batches.split(batch_size):
            out = model(x[batch])
            value = loss_fn(out, y[batch], member.loss, **member.loss_params)
            running[0] += float(value.detach()) * len(batch)
            running[1] += float((out.argmax(-1) == y[batch]).sum())
            value.backward()
            opt.step()
            opt.zero_grad()
        rows.append(evaluate(epoch, running))
    return model, rows


def _members(data, scale=1.0):
    spec = ModelSpec.for_data(data, depth=2, width=12)
    return [
        Member(spec.replace(activation="relu"), 0, "sgd", {"lr": 0.1 * scale}),
        Member(spec.replace(activation="tanh", init="xavier_normal"), 1, "adam", {"lr": 0.01}),
        Member(spec.replace(activation="prelu"), 2, "nag", {"lr": 0.05 * scale, "momentum": 0.9}),
        Member(spec.replace(activation="relu"), 3, "sgd", {"lr": 0.02, "weight_decay": 1e-3}),
        Member(spec.replace(activation="elu"), 4, "adam", {"lr": 0.003}, "multiclass_hinge"),
        Member(spec.replace(activation="swish"), 5, "adagrad", {"lr": 0.05 * scale}),
    ]


@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_member_in_batch_equals_member_alone(data, batch_size):
    members = _members(data, scale=0.1 if batch_size == 1 else 1.0)
    epochs = 1 if batch_size == 1 else 3
    result = train(data, members, epochs=epochs, batch_size=batch_size, dtype=DT)
    assert result.steps == epochs * (
        1 if batch_size is None else math.ceil(len(data.x_train) / batch_size)
    )
    for k, member in enumerate(members):
        model, rows = _alone(data, member, epochs=epochs, batch_size=batch_size)
        mine = result.members[k]
        assert mine.status == "done" and mine.diverged_step is None
        assert [r["epoch"] for r in mine.metrics] == list(range(epochs + 1))
        for got, want in zip(mine.metrics, rows):
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (k, key)
        trained = result.network(k)
        for p, q in zip(trained.parameters(), model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-12)
    # the members did learn something and differ from each other
    assert result.members[1].metrics[-1]["train_loss"] < result.members[1].metrics[0]["train_loss"]


def test_diverging_member_is_frozen_and_changes_nothing_else(data):
    members = _members(data)[:3]
    blowup = Member(members[0].spec, 7, "sgd", {"lr": 1e100})
    together = train(data, [*members[:2], blowup, members[2]], epochs=3, batch_size=16, dtype=DT)
    alone = train(data, members, epochs=3, batch_size=16, dtype=DT)
    bad = together.members[2]
    assert bad.status == "diverged" and bad.diverged_step is not None
    per_epoch = math.ceil(len(data.x_train) / 16)
    assert len(bad.metrics) == 1 + (bad.diverged_step - 1) // per_epoch
    frozen = together.network(2)
    assert all(torch.isfinite(p).all() for p in frozen.parameters())
    for mine, k_alone in ((0, 0), (1, 1), (3, 2)):
        assert together.members[mine].metrics == alone.members[k_alone].metrics
        for p, q in zip(together.network(mine).parameters(), alone.network(k_alone).parameters()):
            assert torch.equal(p, q)


def test_regression_and_float32(data):
    reg = load("plane", n=100, seed=0)
    spec = ModelSpec.for_data(reg, width=8)
    members = [Member(spec, s, "adam", {"lr": 0.01}, "squared_error") for s in (0, 1)]
    result = train(reg, members, epochs=2, batch_size=20)
    for m in result.members:
        assert m.metrics[-1]["test_acc"] is None
        assert m.metrics[-1]["train_loss"] < m.metrics[0]["train_loss"]
    _, test_loss = _alone_regression(reg, members[1])
    assert result.members[1].metrics[-1]["test_loss"] == pytest.approx(test_loss, rel=1e-4)


def _alone_regression(data, member):
    model = build(member.spec, seed=member.seed)
    opt = create(member.optimizer, model.parameters(), **member.optimizer_params)
    order = torch.Generator().manual_seed(member.seed)
    for _ in range(2):
        for batch in torch.randperm(len(data.x_train), generator=order).split(20):
            loss_fn(model(data.x_train[batch]), data.y_train[batch], member.loss).backward()
            opt.step()
            opt.zero_grad()
    with torch.no_grad():
        return model, float(loss_fn(model(data.x_test), data.y_test, member.loss))


def test_bad_input(data):
    spec = ModelSpec.for_data(data, width=4)
    with pytest.raises(ActlabError, match="no members"):
        train(data, [], epochs=1)
    with pytest.raises(ActlabError, match="epochs=0"):
        train(data, [Member(spec, 0)], epochs=0)
    with pytest.raises(ActlabError, match="batch_size=0"):
        train(data, [Member(spec, 0)], epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="lr"):
        train(data, [Member(spec, 0, "adam", {"lr": -1.0})], epochs=1)


def test_stacked_optimizer_freeze_keeps_the_others_state():
    gen = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(3, 4, 2, generator=gen, dtype=DT))
    opts = [("adam", {"lr": 0.1}), ("adam", {"lr": 0.01}), ("rmsprop", {"lr": 0.01})]
    stacked = StackedOptimizer([(w, torch.arange(3))], opts)
    plain = [torch.nn.Parameter(w.detach()[k].clone()) for k in range(3)]
    singles = [create(name, [p], **h) for (name, h), p in zip(opts, plain)]
    for step in range(4):
        g = torch.randn(3, 4, 2, generator=gen, dtype=DT)
        if step == 2:
            stacked.freeze([1])
        w.grad = g
        stacked.step()
        for k in range(3):
            if step >= 2 and k == 1:
                continue
            plain[k].grad = g[k]
            singles[k].step()
    torch.testing.assert_close(w.detach()[0], plain[0].detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(w.detach()[2], plain[2].detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(w.detach()[1], plain[1].detach(), rtol=1e-12, atol=1e-14)
    assert stacked.state_of(1) == {}
    torch.testing.assert_close(
        stacked.state_of(0)[0]["exp_avg"], singles[0].state[plain[0]]["exp_avg"]
    )
    with pytest.raises(ActlabError, match="row members"):
        StackedOptimizer([(w, torch.arange(2))], opts)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_matches_cpu(data):
    members = _members(data)[:4]
    cpu = train(data, members, epochs=2, batch_size=16, dtype=DT)
    gpu = train(data, members, epochs=2, batch_size=16, dtype=DT, device="cuda")
    for a, b in zip(cpu.members, gpu.members, strict=True):
        assert a.status == b.status
        for x, y in zip(a.metrics, b.metrics, strict=True):
            for key, value in x.items():
                assert y[key] == pytest.approx(value, rel=1e-7, abs=1e-9), key
