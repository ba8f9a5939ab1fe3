"""A validation split held out of the training set (``Study(validation=...)``, ``--validation``):
seeded and disjoint, trained on never, evaluated every epoch like the test set, stored beside
it, and stores from before the split existed still open and verify."""

from __future__ import annotations

import sqlite3

import pytest
import torch
import torch.nn.functional as F

from actlab.data import load
from actlab.data._core import hold_out
from actlab.errors import ActlabError
from actlab.landscape.stored import StoredRun
from actlab.study import Store
from actlab.study.run_config import RunConfig
from actlab.study.runner import load_data, run_study
from actlab.study.spec import Study


def _study(**kw) -> Study:
    base = dict(
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        seeds=(0, 1),
        epochs=3,
        batch_size=16,
        validation=0.25,
    )
    return Study(**{**base, **kw})


def test_hold_out_is_a_seeded_partition_of_the_training_set():
    ds = load("spiral", n=256, seed=0)
    a, b = hold_out(ds, 0.25, 7), hold_out(ds, 0.25, 7)
    assert len(a.x_val) == len(ds.x_train) - int(len(ds.x_train) * 0.75)
    assert torch.equal(a.x_val, b.x_val) and torch.equal(a.x_train, b.x_train)
    rows = {tuple(r.tolist()) for r in torch.cat([a.x_train, a.x_val])}
    assert rows == {tuple(r.tolist()) for r in ds.x_train}  # nothing lost, nothing added
    assert not {tuple(r.tolist()) for r in a.x_val} & {tuple(r.tolist()) for r in a.x_train}
    assert torch.equal(a.x_test, ds.x_test)  # the test set is untouched
    assert hold_out(ds, 0.0, 7) is ds and hold_out(a, 0.3, 1) is a  # none, or one already
    assert not torch.equal(hold_out(ds, 0.25, 8).x_val, a.x_val)


def test_stored_validation_metrics_are_the_final_models_on_the_held_out_rows(tmp_path):
    study = _study()
    run_study(study, tmp_path).close()
    data = load_data(study)
    with Store.open(tmp_path) as store:
        rows = store.metrics()
        assert all(r["val_loss"] is not None and r["val_acc"] is not None for r in rows)
        assert len(rows) == len(study.runs()) * (study.epochs + 1)
        for run in study.runs():
            final = [r for r in rows if r["run"] == run.key][-1]
            net = StoredRun.load(store, run.key, data=data).model
            with torch.no_grad():
                scores = net(data.x_val)
            loss = float(F.cross_entropy(scores, data.y_val))  # torch's, not actlab's
            acc = float((scores.argmax(-1) == data.y_val).double().mean())
            assert final["val_loss"] == pytest.approx(loss, rel=1e-5)
            assert final["val_acc"] == pytest.approx(acc, abs=1e-12)
    train_rows = len(data.x_train)
    assert train_rows == int(128 * 0.75)  # trained on 96 of the 128 training rows


def test_validation_changes_the_runs_and_none_keeps_their_keys():
    with_val, without = _study().runs()[0], _study(validation=0.0).runs()[0]
    assert with_val.key != without.key and with_val.stack_key != without.stack_key
    assert "validation" not in without.to_dict()  # keys of runs stored before it existed
    assert RunConfig.from_dict(with_val.to_dict()) == with_val


@pytest.mark.parametrize("value", [-0.1, 0.6, "a", float("nan")])
def test_a_bad_fraction_is_one_line(value):
    with pytest.raises(ActlabError, match="validation"):
        _study(validation=value)


def test_a_store_from_before_validation_reopens_and_verifies(tmp_path):
    study = _study(validation=0.0, activations=("relu",), seeds=(0,))
    run_study(study, tmp_path).close()
    conn = sqlite3.connect(tmp_path / "study.db")
    conn.execute("ALTER TABLE metrics DROP COLUMN val_acc")
    conn.execute("ALTER TABLE metrics DROP COLUMN val_loss")
    conn.commit()
    conn.close()
    bigger = study.replace(activations=("relu", "tanh"))
    run_study(bigger, tmp_path, force=True).close()  # resumes the old store: one run kept
    with Store.open(tmp_path) as store:
        assert store.unverified() == () and len(store.runs()) == 2
        assert {r["val_loss"] for r in store.metrics()} == {None}
