"""No setting is silently dropped: every flag of ``actlab compare`` and every study-file key
reaches the stored run configurations (or, for report settings, the stored study); aliases are
resolved wherever names are keys; a setting for a name that is not in the grid is refused."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import pytest
import typer.main
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.study import Store
from actlab.study.spec import Study

TINY = ["--dataset", "gauss", "--width", "4", "--depth", "1", "--seeds", "1", "--epochs", "1"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def stored(out):
    with Store.open(out) as store:
        return [r.config for r in store.runs()], store.study, len(store.diagnostics())


def snapshot_steps(out) -> set[tuple[float, ...]]:
    """The steps of each run's stored weight snapshots, as fractions of its last step."""
    with Store.open(out) as store:
        return {
            tuple(s / store.weights(r.key)[0][0] for s, _ in store.weights(r.key, final=False))
            for r in store.runs()
        }


def val_rows(out) -> int:
    """Stored epochs with a validation accuracy or loss."""
    with Store.open(out) as store:
        return sum(row["val_loss"] is not None for row in store.metrics())


def step_rows(out) -> int:
    """Stored rows at step resolution (eval_every, steps)."""
    with Store.open(out) as store:
        return len(store.step_metrics())


def by(configs, key):
    return {c[key] for c in configs}


def lr_of(configs):
    return {(c["optimizer"], c["optimizer_params"]["lr"]) for c in configs}


def compare_flags() -> set[str]:
    command = typer.main.get_command(app).commands["compare"]
    return {max(p.opts, key=len) for p in command.params if p.opts and "--help" not in p.opts}


def test_every_compare_flag_reaches_the_stored_study(tmp_path):
    checked: set[str] = set()
    out = tmp_path / "a"
    result = invoke(
        "compare", "--dataset", "gauss", "--depth", "1", "--width", "5",
        "--activations", "lrelu,tanh", "--optimizers", "gd,adam", "--lr", "sgd=0.5,adam=0.02",
        "--inits", "kaiming_normal", "--losses", "svm", "--seeds", "0,3", "--epochs", "2",
        "--batch-size", "25", "--target", "0.6", "--name", "walk", "--device", "cpu",
        "--out", out, "--max-members", "1", "--diagnostics", "--snapshots", "2", "--wait",
        "--validation", "0.2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, diagnostics = stored(out)
    assert study["snapshots"] == 2 and snapshot_steps(out) == {(0, 0.5, 1)}
    assert by(configs, "validation") == {0.2} and val_rows(out) > 0
    assert len(configs) == 8
    assert by(configs, "dataset") == {"gauss"}
    assert by(configs, "depth") == {1} and by(configs, "width") == {5}
    assert by(configs, "activation") == {"leaky_relu", "tanh"}
    assert lr_of(configs) == {("sgd", 0.5), ("adam", 0.02)}
    assert by(configs, "init") == {"he_normal"} and by(configs, "loss") == {"multiclass_hinge"}
    assert by(configs, "seed") == {0, 3} and by(configs, "epochs") == {2}
    assert by(configs, "batch_size") == {25}
    assert study["target"] == 0.6 and study["name"] == "walk"
    assert study["diagnostics"] is True and diagnostics > 0
    assert "8 stacked unit(s)" in " ".join(result.output.split())  # --max-members 1
    checked |= {"--dataset", "--depth", "--width", "--activations", "--optimizers", "--lr"}
    checked |= {"--inits", "--losses", "--seeds", "--epochs", "--batch-size", "--target"}
    checked |= {"--name", "--device", "--out", "--max-members", "--diagnostics", "--snapshots"}
    checked |= {"--wait", "--validation"}  # nothing to wait for: it must not get in the way

    config = tmp_path / "s.toml"
    config.write_text('dataset = "mnist1d"\ndataset_params = {num_samples = 200}\nseeds = 1\n')
    b = tmp_path / "b"
    result = invoke(
        "compare", "--config", config, "--model", "cnn1d", "--depth", "1", "--width", "3",
        "--epochs", "1", "--out", b,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(b)
    assert by(configs, "model") == {"cnn1d"} and study["dataset_params"] == {"num_samples": 200}
    checked |= {"--config", "--model"}

    result = invoke(
        "compare", "--preset", "toy-2d", "-a", "relu", "-o", "sgd", "--lr", "0.3,0.2",
        "--seeds", "1", "--epochs", "1", "--width", "4", "--depth", "1", "--batch-size", "full",
        "--out", out, "--force",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "0 stored run(s) kept" in result.output and "8 discarded" in result.output
    configs, study, _ = stored(out)
    assert study["name"] == "toy-2d" and by(configs, "dataset") == {"spiral"}
    assert lr_of(configs) == {("sgd", 0.3), ("sgd", 0.2)} and by(configs, "batch_size") == {None}
    checked |= {"--preset", "--force"}

    table = tmp_path / "own.csv"
    rows = [f"{i % 7},{(i * 37) % 11 / 10},{'ab'[i % 2]}" for i in range(60)]
    table.write_text("label,x,kind\n" + "\n".join(rows) + "\n")
    result = invoke(
        "compare", "--dataset", table, "--target-column", "kind", "--task", "classification",
        "-a", "relu", "--seeds", "1", "--epochs", "1", "--width", "4", "--depth", "1",
        "--out", tmp_path / "c",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(tmp_path / "c")
    params = configs[0]["dataset_params"]
    assert params["target_column"] == "kind" and params["task"] == "classification"
    checked |= {"--target-column", "--task"}

    tuned, board = tmp_path / "t", tmp_path / "tb"
    result = invoke(
        "compare", *TINY, "-a", "relu", "-o", "sgd", "--tune-lr", "0.01,0.1,1", "--seeds", "2",
        "--tune-seeds", "1", "--backend", "local", "--tensorboard", board, "--json",
        "--out", tuned,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(tuned)
    assert study["tune_lr"] == [0.01, 0.1, 1.0] and study["tune_seeds"] == 1
    assert {c["optimizer_params"]["lr"] for c in configs if c["seed"] == 0} == {0.01, 0.1, 1.0}
    assert len(configs) == 4  # three tuning runs, then the chosen rate with the second seed
    assert json.loads(result.stdout)  # --json: one document on stdout
    assert any(board.rglob("events.out.tfevents.*"))  # --tensorboard: event files
    checked |= {"--tune-lr", "--tune-seeds", "--backend", "--tensorboard", "--json"}
    checked |= {"--address", "--gpus-per-unit"}  # the Ray backend's: tests/test_ray_backend.py
    checked |= {"--threads"}  # a setting of the process, not of the study: tests/test_compare.py

    budget = tmp_path / "st"
    result = invoke(
        "compare", *TINY[:-2], "-a", "relu", "--steps", "3", "--eval-every", "2",
        "--target", "train_loss=2.5", "--out", budget,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(budget)
    assert by(configs, "steps") == {3} and by(configs, "eval_every") == {2}
    assert "epochs" not in configs[0] and study["epochs"] is None
    assert study["target_metric"] == "train_loss" and study["target"] == 2.5
    assert step_rows(budget) > 0
    checked |= {"--steps", "--eval-every"}

    swept = tmp_path / "sw"
    result = invoke(
        "compare", "--dataset", "gauss", "--depth", "1", "--width", "3", "--epochs", "1",
        "--seeds", "1", "-a", "relu", "-o", "sgd", "--weight-decay", "0,0.001",
        "--label-smoothing", "0.1", "--noise", "0.1,0.2", "--train-size", "50", "--out", swept,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(swept)
    assert len(configs) == 4  # weight decay x noise
    assert {c["optimizer_params"]["weight_decay"] for c in configs} == {0.0, 0.001}
    assert by(configs, "loss") == {"cross_entropy"}
    assert {c["loss_params"]["label_smoothing"] for c in configs} == {0.1}
    assert {c["dataset_params"]["noise"] for c in configs} == {0.1, 0.2}
    assert {c["dataset_params"]["train_size"] for c in configs} == {50}
    checked |= {"--weight-decay", "--label-smoothing", "--noise", "--train-size"}
    assert checked == compare_flags(), "a compare flag this test does not check"


EVERY_KEY = """
name = "every-key"
dataset = "gauss"
dataset_params = {n = 60, noise = 0.1}
model = "mlp"
depth = 2
width = 3
normalization = "layernorm"
dropout = 0.1
residual = true
activations = ["lrelu", "tanh"]
optimizers = ["gd", "adam"]
inits = ["kaiming_normal"]
losses = ["svm"]
seeds = [2]
epochs = 2
batch_size = 20
dtype = "float64"
target = 0.7
diagnostics = true
snapshots = 1
validation = 0.25
shuffle = false
eval_every = 3
target_metric = "val_acc"
{lr}
[activation_params.lrelu]
negative_slope = 0.2
[optimizer_params.gd]
weight_decay = 0.01
[init_params.kaiming_normal]
mode = "fan_out"
[loss_params.svm]
margin = 0.5
"""


@pytest.mark.parametrize("lr", ["lr = [0.05, 0.01]", "[lrs]\ngd = 0.3"])
def test_every_study_file_key_reaches_the_stored_runs(tmp_path, lr):
    config = tmp_path / "s.toml"
    config.write_text(EVERY_KEY.replace("{lr}", lr))
    out = tmp_path / "o"
    result = invoke("compare", "--config", config, "--out", out)
    assert result.exit_code == 0, result.output
    configs, study, diagnostics = stored(out)
    checks = {
        "name": study["name"] == "every-key",
        "dataset": by(configs, "dataset") == {"gauss"},
        "dataset_params": all(c["dataset_params"] == {"n": 60, "noise": 0.1} for c in configs),
        "model": by(configs, "model") == {"mlp"},
        "depth": by(configs, "depth") == {2},
        "width": by(configs, "width") == {3},
        "normalization": by(configs, "normalization") == {"layernorm"},
        "dropout": by(configs, "dropout") == {0.1},
        "residual": by(configs, "residual") == {True},
        "activations": by(configs, "activation") == {"leaky_relu", "tanh"},
        "activation_params": all(
            c["activation_params"] == {"negative_slope": 0.2}
            for c in configs
            if c["activation"] == "leaky_relu"
        ),
        "optimizers": by(configs, "optimizer") == {"sgd", "adam"},
        "optimizer_params": all(
            (c["optimizer_params"]["weight_decay"] == 0.01) == (c["optimizer"] == "sgd")
            for c in configs
        ),
        "lr": lr_of(configs) == {(o, v) for o in ("sgd", "adam") for v in (0.05, 0.01)},
        "lrs": lr_of(configs) == {("sgd", 0.3), ("adam", 0.001)},
        "inits": by(configs, "init") == {"he_normal"},
        "init_params": all(c["init_params"]["mode"] == "fan_out" for c in configs),
        "losses": by(configs, "loss") == {"multiclass_hinge"},
        "loss_params": all(c["loss_params"]["margin"] == 0.5 for c in configs),
        "seeds": by(configs, "seed") == {2},
        "epochs": by(configs, "epochs") == {2},
        "batch_size": by(configs, "batch_size") == {20},
        "dtype": by(configs, "dtype") == {"float64"},
        "target": study["target"] == 0.7,
        "diagnostics": study["diagnostics"] is True and diagnostics > 0,
        "snapshots": study["snapshots"] == 1 and snapshot_steps(out) == {(0, 1)},
        "validation": by(configs, "validation") == {0.25} and val_rows(out) > 0,
        "shuffle": by(configs, "shuffle") == {False},
        # tune_lr excludes lr/lrs: its keys are walked by test_tuning_keys_reach_the_store
        "tune_lr": study["tune_lr"] is None,
        "tune_seeds": study["tune_seeds"] == 1,
        # steps excludes epochs: walked by --steps in test_every_compare_flag_reaches_...
        "steps": all("steps" not in c for c in configs),
        "eval_every": by(configs, "eval_every") == {3} and step_rows(out) > 0,
        "target_metric": study["target_metric"] == "val_acc",
        # set per optimizer above (optimizer_params.gd), so study-wide values are walked by
        # test_weight_decay_and_label_smoothing_keys_reach_the_store; hinge has no smoothing
        "weight_decay": study.get("weight_decay") in (None, 0.0),
        "label_smoothing": study.get("label_smoothing") in (None, 0.0),
    }
    assert set(checks) == {f.name for f in dataclasses.fields(Study)}, "a key not checked"
    given = "lr" if lr.startswith("lr") else "lrs"
    failed = [k for k, ok in checks.items() if not ok and k in ({"lr", "lrs"} - {given})]
    assert [k for k, ok in checks.items() if not ok] == failed, failed


def test_weight_decay_and_label_smoothing_keys_reach_the_store(tmp_path):
    config = tmp_path / "w.toml"
    config.write_text(
        'dataset = "gauss"\ndepth = 1\nwidth = 3\nepochs = 1\nseeds = 1\n'
        'optimizers = ["sgd", "adamw"]\nweight_decay = [0.0, 0.01]\nlabel_smoothing = 0.2\n'
    )
    out = tmp_path / "o"
    result = invoke("compare", "--config", config, "--out", out)
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(out)
    assert {(c["optimizer"], c["optimizer_params"]["weight_decay"]) for c in configs} == {
        (o, wd) for o in ("sgd", "adamw") for wd in (0.0, 0.01)
    }
    assert {c["loss_params"]["label_smoothing"] for c in configs} == {0.2}
    assert study["weight_decay"] == [0.0, 0.01] and study["label_smoothing"] == 0.2


def test_tuning_keys_reach_the_store(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text(
        'dataset = "gauss"\ndepth = 1\nwidth = 3\nepochs = 1\nseeds = [4, 5, 6]\n'
        'optimizers = ["sgd"]\ntune_lr = [0.3, 0.03, 0.003]\ntune_seeds = 2\n'
    )
    out = tmp_path / "o"
    result = invoke("compare", "--config", config, "--out", out)
    assert result.exit_code == 0, result.output
    configs, study, _ = stored(out)
    assert study["tune_lr"] == [0.003, 0.03, 0.3] and study["tune_seeds"] == 2
    tuning = {(c["optimizer_params"]["lr"], c["seed"]) for c in configs if c["seed"] in (4, 5)}
    assert tuning == {(lr, s) for lr in (0.003, 0.03, 0.3) for s in (4, 5)}
    assert len(configs) == 7 and study["validation"] == 0.1


@pytest.mark.parametrize(
    "args, needles",
    [
        (["-o", "sgd", "--lr", "adam=0.1"], ["lrs", "adam", "not in optimizers"]),
        (["--lr", ","], ["--lr", "no learning rate"]),
        (["--lr", " , "], ["--lr"]),
        (["-o", "sgd", "--lr", "gd=0.1,sgd=0.2"], ["sgd", "twice"]),
    ],
)
def test_a_setting_that_would_be_ignored_is_refused(tmp_path, args, needles):
    out = tmp_path / "o"
    one_line_error(invoke("compare", *TINY, *args, "--out", out), *needles)
    assert not (out / "study.db").exists()


def test_aliases_are_resolved_where_names_are_keys(tmp_path):
    out = tmp_path / "o"
    result = invoke("compare", *TINY, "-o", "gd", "--lr", "sgd=0.5", "--out", out)
    assert result.exit_code == 0, result.output
    assert lr_of(stored(out)[0]) == {("sgd", 0.5)}
    config = tmp_path / "s.toml"
    config.write_text(
        textwrap.dedent(
            """
            dataset = "gauss"
            width = 4
            depth = 1
            seeds = 1
            epochs = 1
            activations = ["leaky_relu", "relu"]
            optimizers = ["sgd", "adam"]
            [lrs]
            sgd = 0.4
            adam = 0.01
            [activation_params.leaky_relu]
            negative_slope = 0.1
            """
        )
    )
    out2 = tmp_path / "o2"
    result = invoke("compare", "-c", config, "-a", "lrelu", "-o", "gradient_descent", "--out", out2)
    assert result.exit_code == 0, result.output
    (run,) = stored(out2)[0]
    assert run["activation_params"] == {"negative_slope": 0.1}
    assert run["optimizer"] == "sgd" and run["optimizer_params"]["lr"] == 0.4
