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


# ---- weight decay, label smoothing and the toy sets' noise and train size ------------------

# Each new axis swept, and the same runs made one by one by another route: the optimizer's or
# loss's own parameter, the dataset's parameter given as a single value.
ONE_BY_ONE = {
    "weight_decay": (
        [0.0, 0.01],
        lambda v: {"optimizer_params": {"adam": {"weight_decay": v}, "sgd": {"weight_decay": v}}},
    ),
    "label_smoothing": (
        [0.0, 0.2],
        lambda v: {"loss_params": {"cross_entropy": {"label_smoothing": v}}},
    ),
    "noise": ([0.0, 0.3], lambda v: {"dataset_params": {"n": 256, "noise": v}}),
    "train_size": ([40, 96], lambda v: {"dataset_params": {"n": 256, "train_size": v}}),
}  # fmt: skip


@pytest.mark.parametrize("axis", list(ONE_BY_ONE))
def test_each_new_axis_swept_equals_its_runs_made_one_by_one(tmp_path, axis):
    values, alone = ONE_BY_ONE[axis]
    kw = {"optimizers": ("sgd", "adam"), "activations": ("tanh",), "lr": (0.05,)}
    if axis in ("noise", "train_size"):
        swept = _study(**kw, dataset_params={"n": 256, axis: values})
    else:
        swept = _study(**kw, **{axis: values})
    assert swept.varying()[0] == axis and swept.sweeps()[axis] == tuple(values)
    assert len(swept.runs()) == 2 * 2 * 2
    run_study(swept, tmp_path / "swept").close()
    parts = []
    for i, v in enumerate(values):
        one = _study(**kw, **alone(v))
        assert not one.sweeps()
        run_study(one, tmp_path / f"one{i}").close()
        parts.append(_numbers(tmp_path / f"one{i}"))
    expected = (sorted(r for p in parts for r in p[0]), sorted(m for p in parts for m in p[1]))
    got = _numbers(tmp_path / "swept")
    assert got == expected
    # the values really differ between the two halves (the axis is not ignored)
    finals = {}
    with Store.open(tmp_path / "swept") as store:
        for r in store.runs():
            config = r.config
            value = {
                "weight_decay": config["optimizer_params"]["weight_decay"],
                "label_smoothing": config["loss_params"]["label_smoothing"],
            }.get(axis, config["dataset_params"].get(axis))
            finals.setdefault(value, []).append(
                [m["train_loss"] for m in store.metrics() if m["run"] == r.key][-1]
            )
    assert sorted(finals) == sorted(values) and finals[values[0]] != finals[values[1]]


def test_train_size_keeps_the_first_points_and_the_same_test_points():
    from actlab.data import load

    small = load("spiral", n=200, train_size=30, standardize=False, seed=4)
    full = load("spiral", n=200, standardize=False, seed=4)
    assert len(small.x_train) == 30 and len(full.x_train) == 100
    assert torch.equal(small.x_train, full.x_train[:30]) and torch.equal(small.x_test, full.x_test)


def test_weight_decay_and_label_smoothing_reach_every_optimizer_and_loss():
    s = _study(optimizers=("sgd", "adamw"), lr=None, weight_decay=[0, 1e-3], label_smoothing=0.1)
    runs = s.runs()
    assert {(r.optimizer, dict(r.optimizer_params)["weight_decay"]) for r in runs} == {
        ("sgd", 0.0), ("sgd", 1e-3), ("adamw", 0.0), ("adamw", 1e-3)
    }  # fmt: skip
    assert {dict(r.loss_params)["label_smoothing"] for r in runs} == {0.1}
    assert "label_smoothing" not in s.varying()  # one value: not an axis
    assert {r.label(s.varying()) for r in runs} >= {"wd=0 · relu · sgd", "wd=0.001 · tanh · adamw"}
    assert Study.from_dict(s.to_dict()) == s
    # a study without the new fields stores what it stored before they existed
    assert "weight_decay" not in _study().to_dict() and "label_smoothing" not in _study().to_dict()


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"weight_decay": -0.1}, "weight_decay=-0.1 must be a number >= 0"),
        ({"weight_decay": []}, "weight_decay=[] is empty"),
        ({"weight_decay": [0, "x"]}, "weight_decay='x' has type str"),
        ({"label_smoothing": 1.0}, "label_smoothing=1 must be a number in [0, 1)"),
        ({"label_smoothing": [0, -0.1]}, "label_smoothing=-0.1"),
        (
            {"label_smoothing": 0.1, "losses": ["multiclass_hinge"]},
            "loss 'multiclass_hinge' has no label_smoothing",
        ),
        (
            {"weight_decay": 0.1, "optimizer_params": {"adam": {"weight_decay": 0.2}}},
            "weight_decay is set for the whole study and in optimizer_params.adam",
        ),
        ({"dataset_params": {"noise": []}}, "dataset_params.noise=[] is empty"),
        ({"dataset_params": {"noise": [0, 0.9]}}, "noise=0.9 is out of range"),
        ({"dataset_params": {"train_size": [10, 1000]}}, "train_size=1000 is more than"),
        ({"validation": [0.1, 0.2]}, "validation takes one value, not a list"),
    ],
)
def test_bad_new_sweeps_are_one_line(kw, words):
    with pytest.raises(ActlabError) as e:
        _study(**kw)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_study_file_sweeps_the_new_axes_and_names_a_bad_key(tmp_path):
    from actlab.study.spec import load_study

    good = tmp_path / "good.toml"
    good.write_text(
        'dataset = "spiral"\nweight_decay = [0, 1e-4]\nlabel_smoothing = [0, 0.1]\n'
        "seeds = 1\n[dataset_params]\nnoise = [0, 0.2]\ntrain_size = [50, 100]\n"
    )
    s = load_study(good)
    assert list(s.sweeps()) == ["noise", "train_size", "weight_decay", "label_smoothing"]
    assert len(s.runs()) == 16
    bad = tmp_path / "bad.toml"
    bad.write_text('dataset = "spiral"\nweigth_decay = [0, 1e-4]\n')
    with pytest.raises(
        ActlabError, match=r"bad.toml:2: unknown study key 'weigth_decay'.*weight_decay"
    ):
        load_study(bad)


def test_cli_sweeps_the_new_axes_and_refuses_bad_values(tmp_path):
    out = tmp_path / "s"
    args = ["compare", "--dataset", "spiral", "--noise", "0,0.2", "--train-size", "40,80",
            "--weight-decay", "0,1e-3", "--label-smoothing", "0.1", "--width", "8", "-a", "relu",
            "--seeds", "1", "--epochs", "1", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store.open(out) as store:
        configs = [r.config for r in store.runs()]
    assert {
        (c["dataset_params"]["noise"], c["dataset_params"]["train_size"],
         c["optimizer_params"]["weight_decay"], c["loss_params"]["label_smoothing"])
        for c in configs
    } == {(n, t, w, 0.1) for n in (0, 0.2) for t in (40, 80) for w in (0, 1e-3)}  # fmt: skip
    for flag, value, words in [
        ("--weight-decay", "-1", "weight_decay=-1 must be a number >= 0"),
        ("--weight-decay", "0,,1", "--weight-decay '0,,1' has an empty value"),
        ("--label-smoothing", "1", "label_smoothing=1 must be a number in [0, 1)"),
        ("--noise", "x", "--noise 'x' is not a number"),
        ("--train-size", "1.5", "--train-size '1.5' is not an integer"),
    ]:
        bad = tmp_path / "bad"
        r = CliRunner().invoke(app, [*args[:-2], flag, value, "--out", str(bad)])
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and words in lines[0], r.output
        assert not bad.exists()
