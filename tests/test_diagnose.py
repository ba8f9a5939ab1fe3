"""``actlab compare --diagnostics`` and ``actlab diagnose``: diagnostics stored with each run and
drawn in the report; deep sigmoid networks diagnosed as vanishing, He-initialized ReLU networks
as healthy, a ReLU network trained at a reckless learning rate as dying; bad input in one line."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.diagnostics import diagnose, predicted_ratio
from actlab.models import ModelSpec
from actlab.study.store import Store

TINY = ["--dataset", "gauss", "--width", "8", "--epochs", "2", "--batch-size", "50"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    result = run(
        "compare", *TINY, "--depth", "2", "-a", "relu,tanh", "-o", "sgd", "--seeds", "2",
        "--diagnostics", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_compare_diagnostics_are_stored_and_drawn(recorded):
    with Store.open(recorded) as store:
        assert store.study["diagnostics"] is True
        runs = store.runs()
        assert len(runs) == 4
        for run_ in runs:
            metrics = {r["metric"] for r in store.diagnostics(run_.key)}
            assert {"grad_norm", "dead_fraction", "effective_lr", "saturation_fraction"} <= metrics
            assert "inactive_fraction" in metrics
    page = (recorded / "report.html").read_text()
    titles = ("Gradient flow", "Dead, saturated and inactive units", "Effective learning rates")
    for title in titles:
        assert f"<h2>{title}</h2>" in page
    assert (recorded / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"


def test_diagnose_a_study_directory_shows_each_variant(recorded):
    result = run("diagnose", str(recorded))
    assert result.exit_code == 0, result.output
    assert "relu -- mlp 2x8, relu" in result.output and "tanh -- mlp 2x8, tanh" in result.output
    assert result.output.count("per-layer health") == 2
    assert "seed 0" in result.output and "seed 1" not in result.output  # first seed shown


def test_a_study_without_diagnostics_has_no_such_figures_and_diagnose_says_why(tmp_path):
    result = run("compare", *TINY, "--depth", "1", "-a", "relu", "-o", "sgd", "--seeds", "1",
                 "--out", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Gradient flow" not in (tmp_path / "report.html").read_text()
    line = one_error_line(run("diagnose", str(tmp_path)))
    assert "no diagnostics" in line and "actlab compare --diagnostics" in line


def test_deep_sigmoid_network_vanishes_beside_the_theory():
    result = run(
        "diagnose", "--dataset", "spiral", "--depth", "10", "--width", "16", "-a", "sigmoid",
        "--inits", "xavier_uniform", "-o", "sgd", "--epochs", "2", "--batch-size", "64",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "WARNING vanishing_gradients" in result.output
    assert "predicted by theory" in result.output and "theory predicts" in result.output
    assert "HEALTHY" not in result.output
    assert "layer10" in result.output


def test_he_initialized_relu_network_is_healthy():
    result = run("diagnose", *TINY, "--depth", "3", "-a", "relu", "--inits", "he_normal",
                 "-o", "sgd")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ": HEALTHY" in result.output and "no warnings" in result.output
    assert "WARNING" not in result.output
    assert "'saturated %' is its flat side" in result.output


def test_tiny_weights_collapse_every_layer_and_leave_the_loss_at_chance(tmp_path):
    # N(0, 0.01^2) ReLU: every layer's gradient is alike and tiny; before issue #10 no rule
    # fired on it but a dying_relu remark on the last layers
    config = tmp_path / "collapse.toml"
    config.write_text(
        'name = "collapse"\ndataset = "gauss"\nmodel = "mlp"\ndepth = 6\nwidth = 16\n'
        'activations = ["relu"]\ninits = ["normal"]\noptimizers = ["sgd"]\nepochs = 3\n'
        "batch_size = 50\n[init_params.normal]\nstd = 0.01\n"
    )
    result = run("diagnose", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "WARNING gradient_scale: layers 1-6 get" in result.output
    assert "WARNING stuck_at_chance" in result.output
    assert "inactive %" in result.output


def test_relu_at_a_reckless_learning_rate_dies_layer_by_layer():
    result = run(
        "diagnose", "--dataset", "gauss", "--depth", "4", "--width", "16", "-a", "relu",
        "--inits", "he_normal", "-o", "adam", "--lr", "1", "--epochs", "3", "--batch-size", "32",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if "WARNING dying_relu" in line]
    assert re.search(r"layers? [\d, -]+: \d+(-\d+)?% of units dead", line), line
    dead = [float(m) for m in re.findall(r"│ layer\d+ +│[^│]+│[^│]+│ +([\d.]+) │", result.output)]
    assert len(dead) == 4 and max(dead) > 50


@pytest.mark.parametrize(
    "args, message",
    [
        (["--activations", "sigmoidd"], "sigmoid"),
        (["-a", "relu,tanh", "--epochs", "1"], "diagnose trains one configuration"),
        (["--depth", "-1"], "depth"),
        (["--lr", "fast"], "--lr 'fast' is not a number"),
        (["no/such/dir"], "does not exist"),
        (["some/dir", "--depth", "3"], "not both (--depth)"),
    ],
)
def test_bad_input_is_one_line(args, message):
    assert message in one_error_line(run("diagnose", *args))


def test_python_api_diagnosis_and_prediction():
    rows = [(1, f"layer{i}", "grad_norm", 10.0 ** (i - 5)) for i in (1, 2, 3, 4, 5)]
    rows += [(1, "output", "grad_norm", 1.0)]
    d = diagnose(rows, label="deep", activation="tanh")
    assert d.verdict == "1 warning: vanishing_gradients" and not d.healthy
    assert d.measured_ratio == pytest.approx(1e-4) and d.start_ratio == pytest.approx(1e-4)
    assert d.saturating is True and [r["layer"] for r in d.table][-1] == "output"
    relu = ModelSpec(input_shape=(8,), n_outputs=2, depth=4, width=16, init="he_normal")
    # ReLU is positively homogeneous: with He weights every layer's gradient is alike, and the
    # first layer's norm differs only by its fan-in, sqrt(8 / 16)
    assert predicted_ratio(relu, batch=32) == pytest.approx(0.5**0.5, rel=1e-6)
    assert predicted_ratio(relu.replace(kind="cnn1d"), batch=32) is None
    assert predicted_ratio(relu.replace(normalization="layernorm"), batch=32) is None
