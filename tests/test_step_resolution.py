"""Evaluation at step resolution (``eval_every``) and step budgets (``steps``): the trainer's rows
against a plain loop that evaluates on the same schedule; epoch rows and weights unchanged by
evaluating; a step budget stops at exactly N steps; the rows are stored in ``step_metrics``
under the run's checksum, while runs without them keep the checksums they always had."""

from __future__ import annotations

import math
import sqlite3

import pytest
import torch

from actlab.data import load
from actlab.errors import ActlabError
from actlab.losses import loss as loss_fn
from actlab.models import ModelSpec, build
from actlab.optim import create
from actlab.study import Store, run_key
from actlab.study.integrity import StoreFileError, checksum
from actlab.study.run_config import RunConfig
from actlab.study.runner import run_study
from actlab.study.spec import SWEEPS, Study
from actlab.train import Member, train

DT = torch.float64
BATCH = 16


@pytest.fixture(scope="module")
def data():
    return load("spiral", n=120, seed=3)  # 60 training points: 4 steps per epoch of 16


def _members(data):
    spec = ModelSpec.for_data(data, depth=2, width=12)
    return [
        Member(spec.replace(activation="relu"), 0, "sgd", {"lr": 0.1}),
        Member(spec.replace(activation="tanh"), 1, "adam", {"lr": 0.01}),
    ]


def _alone(data, member: Member, *, steps: int, every: int | None):
    """The reference: the plain model, trained for ``steps`` steps by the docstring's loop; the
    test set evaluated after every ``every``-th step and at each epoch's end (the last one cut
    short), the train figures the running mean over the epoch's batches so far."""
    model = build(member.spec, seed=member.seed).to(DT)
    opt = create(member.optimizer, model.parameters(), **member.optimizer_params)
    order = torch.Generator().manual_seed(member.seed)
    x, y = data.x_train.to(DT), data.y_train
    n, step, rows = len(x), 0, []

    def evaluate(epoch, running, count):
        model.eval()
        with torch.no_grad():
            out = model(data.x_test.to(DT))
            test_loss = float(loss_fn(out, data.y_test, member.loss))
            test_acc = float((out.argmax(-1) == data.y_test).double().mean())
        model.train()
        rows.append((step, epoch, running[0] / count, running[1] / count, test_loss, test_acc))

    epoch = 0
    while step < steps:
        epoch += 1
        running, count = [0.0, 0.0], 0
        batches = list(torch.randperm(n, generator=order).split(BATCH))
        for i, batch in enumerate(batches):
            out = model(x[batch])
            value = loss_fn(out, y[batch], member.loss)
            running[0] += float(value.detach()) * len(batch)
            running[1] += float((out.argmax(-1) == y[batch]).sum())
            count += len(batch)
            value.backward()
            opt.step()
            opt.zero_grad()
            step += 1
            end = i == len(batches) - 1 or step == steps
            if end or (every is not None and step % every == 0):
                evaluate(epoch, running, count)
            if step == steps:
                break
    return model, rows


@pytest.mark.parametrize(("steps", "every"), [(10, 3), (8, None), (13, 1)])
def test_rows_equal_a_plain_loop_on_the_same_schedule(data, steps, every):
    members = _members(data)
    result = train(data, members, steps=steps, batch_size=BATCH, dtype=DT, eval_every=every)
    assert result.steps == steps
    for k, member in enumerate(members):
        model, rows = _alone(data, member, steps=steps, every=every)
        curve = result.members[k].curve
        assert curve[0]["step"] == 0 and curve[0]["seconds"] == 0.0
        got = [(r["step"], r["epoch"], r["train_loss"], r["train_acc"], r["test_loss"],
                r["test_acc"]) for r in curve[1:]]  # fmt: skip
        assert [g[:2] for g in got] == [w[:2] for w in rows]
        for g, w in zip(got, rows, strict=True):
            assert g[2:] == pytest.approx(w[2:], rel=1e-9, abs=1e-12)
        seconds = [r["seconds"] for r in curve]
        assert seconds == sorted(seconds) and all(s >= 0 for s in seconds)
        # the epoch rows are the curve's epoch ends; the last epoch (cut short) at step N
        ends = [r for i, r in enumerate(curve)
                if i + 1 == len(curve) or curve[i + 1]["epoch"] != r["epoch"]]  # fmt: skip
        without = [{m: v for m, v in r.items() if m not in ("step", "seconds")} for r in ends]
        assert result.members[k].metrics == without
        assert ends[-1]["step"] == steps and ends[-1]["epoch"] == math.ceil(steps / 4)
        for p, q in zip(result.network(k).parameters(), model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-9, atol=1e-12)


def test_evaluating_more_often_changes_no_epoch_row_and_no_weight(data):
    members = _members(data)
    plain = train(data, members, epochs=3, batch_size=BATCH)
    fine = train(data, members, epochs=3, batch_size=BATCH, eval_every=3)
    budget = train(data, members, steps=12, batch_size=BATCH)  # 3 whole epochs
    for other in (fine, budget):
        assert [m.metrics for m in other.members] == [m.metrics for m in plain.members]
        a, b = plain.model.state_dict(), other.model.state_dict()
        assert all(torch.equal(a[key], b[key]) for key in a)
    assert [r["step"] for r in fine.members[0].curve] == [0, 3, 4, 6, 8, 9, 12]
    assert [r["step"] for r in plain.members[0].curve] == [0, 4, 8, 12]


def test_a_step_budget_stops_mid_epoch_at_the_snapshot_of_that_step(data):
    members = _members(data)
    long = train(data, members, epochs=3, batch_size=BATCH, snapshots=12)  # every step kept
    short = train(data, members, steps=7, batch_size=BATCH)
    for k in range(len(members)):
        (weights,) = [w for step, w in long.snapshots[k] if step == 7]
        for name, p in short.network(k).named_parameters():
            assert torch.equal(p, weights[name]), (k, name)


def test_bad_schedules_are_one_line(data):
    members = _members(data)
    for kw, match in (
        ({"epochs": 2, "steps": 3}, "exactly one"),
        ({}, "exactly one"),
        ({"steps": 0}, "steps=0"),
        ({"epochs": 2, "eval_every": 0}, "eval_every=0"),
    ):
        with pytest.raises(ActlabError, match=match):
            train(data, members, batch_size=BATCH, **kw)


# ---------------------------------------------------------------------------- the study


def test_study_fields_schedule_and_identity():
    plain = Study()
    assert plain.epochs == 10 and plain.steps is None and plain.eval_every is None
    assert not {"steps", "eval_every", "target_metric"} & set(plain.to_dict())
    assert not {"steps", "eval_every"} & set(RunConfig().to_dict())  # run keys as before
    s = Study(steps=[50, 100], eval_every=5, seeds=1)
    assert s.epochs is None and s.steps == (50, 100) and "steps" in SWEEPS
    assert s.sweeps() == {"steps": (50, 100)} and Study.from_dict(s.to_dict()) == s
    runs = s.runs()
    assert [(r.steps, r.epochs, r.eval_every) for r in runs] == [(50, None, 5), (100, None, 5)]
    assert "epochs" not in runs[0].to_dict() and runs[0].label(s.varying()) == "steps=50"
    assert runs[0].stack_key != runs[1].stack_key  # different schedules train apart
    for kw, key in (
        ({"epochs": 3, "steps": 5}, "steps"),
        ({"steps": 0}, "steps"),
        ({"eval_every": 0}, "eval_every"),
        ({"target_metric": "val_f1", "target": 0.5}, "target_metric"),
        ({"target_metric": "train_loss"}, "target_metric"),
    ):
        with pytest.raises(ActlabError) as e:
            Study(**kw)
        assert e.value.path == (key,) and "\n" not in str(e.value)
    assert Study(target_metric="train_loss", target=2.5).target == 2.5  # a loss above 1
    with pytest.raises(ActlabError, match="target"):
        Study(target=2.5)  # an accuracy


def test_a_study_stores_its_step_rows_under_the_checksum(tmp_path):
    study = Study(dataset="gauss", width=4, depth=1, activations=["relu"], optimizers=["sgd"],
                  lr=[0.1], seeds=2, steps=7, eval_every=2, batch_size=50)  # fmt: skip
    with run_study(study, tmp_path / "o") as store:
        rows = store.step_metrics()
        assert store.unverified() == ()
        key = rows[0]["run"]
        mine = [r for r in rows if r["run"] == key]
        # gauss: 250 training points, 5 steps per epoch of 50
        assert [(r["epoch"], r["step"]) for r in mine] == [
            (0, 0), (1, 2), (1, 4), (1, 5), (2, 6), (2, 7)
        ]  # fmt: skip
        assert [r["epoch"] for r in store.metrics(key)] == [0, 1, 2]
        assert all(r["seconds"] is not None for r in mine)
        exported = store.export_csv(tmp_path / "csv")
        lines = exported["step_metrics"].read_text().splitlines()
        assert lines[0].startswith("run,step,epoch,seconds,") and len(lines) == 1 + len(rows)
    with sqlite3.connect(tmp_path / "o" / "study.db") as conn:
        conn.execute("UPDATE step_metrics SET test_acc = 0.123 WHERE step = 4")
    with Store.open(tmp_path / "o") as store, pytest.raises(StoreFileError, match="checksum"):
        store.step_metrics()


def test_runs_without_step_rows_keep_their_checksums_and_old_stores_open(tmp_path):
    config = {"dataset": "circle", "seed": 0}
    metrics = [{"train_loss": 1.0, "test_acc": 0.5}, {"train_loss": 0.5, "test_acc": 0.7}]
    with Store.open(tmp_path / "o", {"name": "s"}) as store:
        store.complete_run(run_key(config), config, seed=0, metrics=metrics, wall_s=1.0)
    with sqlite3.connect(tmp_path / "o" / "study.db") as conn:
        (stored,) = conn.execute("SELECT sha256 FROM checksums").fetchone()
        row = conn.execute("SELECT config, seed, status, diverged_step FROM runs").fetchone()
        epochs = [r[1:] for r in conn.execute("SELECT * FROM metrics ORDER BY epoch")]
        assert stored == checksum(row, epochs)  # the formula from before step rows
        conn.execute("DROP TABLE step_metrics")  # as an older actlab wrote the store
    with Store.open(tmp_path / "o") as store:  # a report reads it as it is
        assert store.step_metrics() == [] and store.unverified() == ()
    with Store.open(tmp_path / "o", {"name": "s"}) as store:  # resuming adds the table
        assert store.step_metrics() == [] and len(store.metrics()) == 2
