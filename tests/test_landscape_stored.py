"""Landscapes of a study's stored runs: final weights (always) and snapshots (``--snapshots N``)
kept in the store, rebuilt into the run's network, and ``actlab landscape DIR --kind ...``."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.landscape.stored import StoredRun, best_run
from actlab.losses import Loss
from actlab.models import build
from actlab.study import Store
from actlab.study.runner import load_data, run_study
from actlab.study.spec import Study
from actlab.train import Member, train

runner = CliRunner()


def _study(**kw) -> Study:
    base = dict(
        name="land",
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        optimizers=("adam", "sgd"),
        lr=(0.01,),
        seeds=(0,),
        epochs=4,
        batch_size=16,
        snapshots=4,
    )
    return Study(**{**base, **kw})


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("land") / "study"
    run_study(_study(), out).close()
    return out


def _runs(out):
    with Store.open(out) as store:
        return {(r.config["activation"], r.config["optimizer"]): r.key for r in store.runs()}


def test_stored_final_weights_are_the_run_trained_alone(study_dir):
    study = _study()
    data = load_data(study)
    with Store.open(study_dir) as store:
        for run in study.runs():
            stored = StoredRun.load(store, run.key, data=data)
            member = Member(
                run.model_spec(data), run.seed, run.optimizer, dict(run.optimizer_params)
            )
            alone = train(data, [member], epochs=run.epochs, batch_size=run.batch_size)
            mine = dict(stored.model.named_parameters())
            for name, p in alone.network(0).named_parameters():
                assert torch.equal(mine[name], p), (run.label(), name)
            initial = build(run.model_spec(data), seed=run.seed)
            for (n, p), (m, q) in zip(
                initial.named_parameters(), stored.initial.named_parameters(), strict=True
            ):
                assert n == m and torch.equal(p, q)
            steps = [s for s, _ in stored.snapshots]
            total = store.weights(run.key)[0][0]
            assert steps == [0, total // 4, total // 2, 3 * total // 4, total], steps
            first, last = stored.snapshots[0][1], stored.snapshots[-1][1]
            assert all(torch.equal(first[n], p) for n, p in initial.named_parameters())
            assert all(torch.equal(last[n], mine[n]) for n in mine)


def _loss(model, loss, x, y) -> float:
    with torch.no_grad():
        return float(loss(model(x), y))


def test_slices_pass_through_the_stored_models(study_dir):
    keys = _runs(study_dir)
    with Store.open(study_dir) as store:
        a = StoredRun.load(store, keys["relu", "adam"])
        b = StoredRun.load(store, keys["relu", "sgd"], data=a.data)
    x, y = a.data.x_train, a.data.y_train
    loss = Loss("cross_entropy")
    line = a.slice("line", steps=5)
    assert line.alphas.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert float(line.loss[2]) == pytest.approx(_loss(a.model, loss, x, y), rel=1e-6)
    interp = a.slice("interp", steps=7)  # [-0.25, 1.25]: 0 and 1 are grid points
    assert float(interp.loss[1]) == pytest.approx(_loss(a.initial, loss, x, y), rel=1e-6)
    assert float(interp.loss[5]) == pytest.approx(_loss(a.model, loss, x, y), rel=1e-6)
    two = a.slice("interp", other=b, steps=7, split="test")  # two optimizers
    xt, yt = a.data.x_test, a.data.y_test
    assert float(two.loss[1]) == pytest.approx(_loss(a.model, loss, xt, yt), rel=1e-6)
    assert float(two.loss[5]) == pytest.approx(_loss(b.model, loss, xt, yt), rel=1e-6)
    path = a.slice("path", steps=5)
    assert path.coords.shape == (5, 2) and path.coords[-1].abs().max() < 1e-12
    assert 0.5 < float(path.explained.sum()) <= 1.0 + 1e-12
    plane = a.slice("plane", steps=5)
    assert plane.loss.shape == (5, 5)
    assert float(plane.loss[2, 2]) == pytest.approx(_loss(a.model, loss, x, y), rel=1e-6)


def test_the_best_run_is_the_best_final_test_accuracy(study_dir):
    with Store.open(study_dir) as store:
        finals = {}
        for row in store.metrics():
            finals[row["run"]] = row["test_acc"]
        assert finals[best_run(store)] == max(finals.values())


@pytest.mark.parametrize("kind", ["line", "interp", "plane", "path"])
def test_cli_draws_each_kind(study_dir, tmp_path, kind):
    key = _runs(study_dir)["tanh", "adam"]
    figure = tmp_path / f"{kind}.png"
    args = [str(study_dir), "--run", key[:6], "--kind", kind, "--steps", "5", "--out", str(figure)]
    result = runner.invoke(app, ["landscape", *args])
    assert result.exit_code == 0, result.output
    assert f"run {key}: tanh · adam" in result.output and f"wrote {figure}" in result.output
    assert figure.stat().st_size > 10_000


def test_cli_interpolates_between_two_runs_and_defaults_to_the_best(study_dir, tmp_path):
    keys = _runs(study_dir)
    a, b = keys["relu", "adam"], keys["relu", "sgd"]
    out = tmp_path / "two.png"
    args = [str(study_dir), "--run", a, "--to", b, "--kind", "interp", "--steps", "5"]
    result = runner.invoke(app, ["landscape", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"to run {b}: relu · sgd" in result.output and out.exists()
    result = runner.invoke(app, ["landscape", str(study_dir), "--kind", "line", "--steps", "5"])
    assert result.exit_code == 0, result.output
    with Store.open(study_dir) as store:
        best = best_run(store)
    assert (study_dir / f"landscape_line_{best}.png").exists()


def test_a_study_without_snapshots_has_final_weights_but_no_path(tmp_path):
    out = tmp_path / "plain"
    run_study(_study(snapshots=0, activations=("relu",), optimizers=("adam",)), out).close()
    result = runner.invoke(app, ["landscape", str(out), "--kind", "path", "--steps", "5"])
    assert result.exit_code == 2
    assert "0 weight snapshots" in result.output and "--snapshots N" in result.output
    result = runner.invoke(app, ["landscape", str(out), "--kind", "line", "--steps", "5"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--run", "ffffffffffffffff"], "no run 'ffffffffffffffff'"),
        (["--run", "zz"], "runs of 4: "),
        (["--kind", "lines"], "did you mean 'line'"),
        (["--kind", "plane", "--to", "0"], "--to) is for --kind interp"),
        (["--steps", "2"], "steps must be"),
        (["--out", "figure.txt"], "suffix must be one of"),
        (["--split", "val"], "unknown split 'val'"),
        (["--preset", "lecture-pair"], "without a study directory"),
    ],
)
def test_bad_input_is_one_line(study_dir, args, words):
    before = (study_dir / "study.db").read_bytes()
    result = runner.invoke(app, ["landscape", str(study_dir), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert (study_dir / "study.db").read_bytes() == before


def test_a_directory_without_a_study_is_one_line(tmp_path):
    result = runner.invoke(app, ["landscape", str(tmp_path)])
    assert result.exit_code == 2 and "holds no study results" in result.output
