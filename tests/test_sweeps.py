"""Sweeps: a study's depth, width, normalization, dropout, residual, batch size and epochs may be
lists and become axes of its grid; a swept study is exactly the same runs made one by one, and
depth 0 is logistic (softmax) regression."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from actlab.cli import app
from actlab.errors import ActlabError
from actlab.models import ModelSpec
from actlab.study import Store
from actlab.study.runner import load_data, plan, run_study
from actlab.study.spec import Study
from actlab.train import Member, train


def _study(**kw) -> Study:
    base = dict(
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        optimizers=("adam",),
        lr=(0.01,),
        seeds=(0, 1),
        epochs=2,
        batch_size=16,
    )
    return Study(**{**base, **kw})


def _numbers(out):
    with Store.open(out) as store:
        runs = sorted((r.key, r.status, r.diverged_step) for r in store.runs())
        metrics = sorted(tuple(sorted(row.items())) for row in store.metrics())
    return runs, metrics


def test_a_swept_study_equals_its_runs_made_one_by_one(tmp_path):
    swept = _study(depth=[0, 2], batch_size=[16, "full"], epochs=[1, 2])
    assert swept.varying() == ("depth", "batch_size", "epochs", "activation")
    assert len(swept.runs()) == 2 * 2 * 2 * 2 * 2
    assert len(plan(swept).units) == 8  # one stack per architecture x schedule
    run_study(swept, tmp_path / "swept").close()
    parts = []
    for depth in (0, 2):
        for batch in (16, None):
            for epochs in (1, 2):
                out = tmp_path / f"d{depth}b{batch}e{epochs}"
                run_study(_study(depth=depth, batch_size=batch, epochs=epochs), out).close()
                parts.append(_numbers(out))
    runs = sorted(r for p in parts for r in p[0])
    metrics = sorted(m for p in parts for m in p[1])
    assert _numbers(tmp_path / "swept") == (runs, metrics)


def test_depth_zero_is_softmax_regression_as_torch_trains_it():
    study = _study(depth=0, activations=("relu",), seeds=(3,), batch_size=None, epochs=5)
    data = load_data(study)
    (run,) = study.runs()
    spec = run.model_spec(data)
    member = Member(spec, run.seed, "sgd", {"lr": 0.5})
    ours = train(data, [member], epochs=5, batch_size=None, dtype=torch.float64)
    net = ours.network(0)
    assert [type(m).__name__ for m in net] == ["Flatten", "Linear"]
    from actlab.models import build

    plain = build(spec, seed=run.seed)[1].double()  # the same initial weights, in torch only
    opt = torch.optim.SGD(plain.parameters(), lr=0.5)
    x, y = data.x_train.double(), data.y_train
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(plain(x), y).backward()
        opt.step()
    assert torch.allclose(net[1].weight, plain.weight, rtol=0, atol=1e-12)
    assert torch.allclose(net[1].bias, plain.bias, rtol=0, atol=1e-12)


def test_labels_name_the_swept_values():
    study = _study(depth=[1, 2], batch_size=[1, "full"], residual=[False, True])
    labels = {r.label(study.varying()) for r in study.runs()}
    assert "depth=1 · residual · batch=full · relu" in labels
    assert "depth=2 · no residual · batch=1 · tanh" in labels
    assert Study.from_dict(study.to_dict()) == study


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"depth": []}, "depth=[] is empty"),
        ({"batch_size": [1, "fulll"]}, "'fulll' must be an integer >= 1 or 'full'"),
        ({"width": [8, 0]}, "width=0"),
        ({"model": "cnn1d", "depth": [0, 1]}, "depth=0 is out of range"),
        ({"epochs": [1, -2]}, "epochs=-2"),
    ],
)
def test_bad_sweeps_are_one_line(kw, words):
    with pytest.raises(ActlabError, match=words.replace("[", r"\[").replace("]", r"\]")):
        _study(**kw)


def test_cli_sweeps_depth_and_batch_size_including_full(tmp_path):
    out = tmp_path / "s"
    args = ["compare", "--dataset", "spiral", "--depth", "0,1", "--batch-size", "10,full",
            "--width", "8", "-a", "relu", "--seeds", "1", "--epochs", "1",
            "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store.open(out) as store:
        configs = [r.config for r in store.runs()]
    assert {(c["depth"], c["batch_size"]) for c in configs} == {
        (0, 10), (0, None), (1, 10), (1, None)
    }  # fmt: skip
    bad = CliRunner().invoke(app, [*args[:-2], "--depth", "1,,2", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "--depth '1,,2' has an empty value" in bad.output


def test_model_spec_with_depth_zero_ignores_the_activation():
    spec = ModelSpec("mlp", input_shape=(3,), n_outputs=2, depth=0, width=5, activation="tanh")
    from actlab.models import build

    assert [type(m).__name__ for m in build(spec, seed=0)] == ["Flatten", "Linear"]
