"""The depth probe: the issue's signal-propagation checks, measured on random 30-layer MLPs of
width 512 against the mean-field prediction, and the ``actlab depth-probe`` command."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.errors import ActlabError
from actlab.theory import depth_probe

BATCH = 256


@pytest.fixture(scope="module")
def probes():
    cases = {
        ("relu", "xavier_normal"): 30,
        ("relu", "he_normal"): 30,
        ("tanh", "xavier_normal"): 30,
        ("selu", "lecun_normal"): 32,
    }
    return {
        key: depth_probe(*key, depth=depth, width=512, batch=BATCH, seed=0)
        for key, depth in cases.items()
    }


def test_relu_xavier_vanishes_like_two_to_the_minus_fifteen(probes):
    r = probes["relu", "xavier_normal"]
    # sigma_w^2 = 1 halves E[x^2] per layer: rms at layer 30 = 2^-15 = 3.05e-5
    assert 2**-15 / 2 < r.measured[-1].rms < 2 * 2**-15
    assert r.measured[-1].rms < 1e-4 * r.measured[0].rms


def test_relu_he_keeps_the_signal(probes):
    r = probes["relu", "he_normal"]
    assert all(0.3 <= m.rms <= 3 for m in r.measured)
    assert r.chi_star == pytest.approx(1.0) and "critical" in r.phase


def test_tanh_xavier_decays_slowly(probes):
    r = probes["tanh", "xavier_normal"]
    assert all(0.05 <= m.rms <= 1 for m in r.measured)
    assert r.measured[-1].rms < 0.5 * r.measured[0].rms  # q_l ~ 1 / (2 l): it does decay


def test_selu_lecun_self_normalizes_through_32_layers(probes):
    r = probes["selu", "lecun_normal"]
    assert len(r.measured) == 32
    for m in r.measured:
        assert abs(m.mean) < 0.1
        assert 0.85 < m.var < 1.15


@pytest.mark.parametrize("field", ["rms", "backward_rms", "grad_norm"])
def test_prediction_and_measurement_agree_within_a_factor_two_per_layer(probes, field):
    for key, r in probes.items():
        for layer, ratio in enumerate(r.ratios(field), start=1):
            assert 0.5 <= ratio <= 2, (key, field, layer, ratio)


def test_probe_rejects_bad_input():
    with pytest.raises(ActlabError, match=r"mean 0\.1"):
        depth_probe("relu", "constant", depth=2, width=8)
    with pytest.raises(ActlabError, match="elementwise"):
        depth_probe("softmax", "he_normal", depth=2, width=8)
    with pytest.raises(ActlabError, match="depth=0"):
        depth_probe("relu", "he_normal", depth=0, width=8)


runner = CliRunner()


def test_cli_side_by_side_with_theory(tmp_path):
    out = tmp_path / "probe.png"
    result = runner.invoke(
        app,
        [
            "depth-probe",
            "--activation",
            "relu",
            "--init",
            "xavier_normal",
            "--init",
            "he_normal",
            "--depth",
            "12",
            "--width",
            "128",
            "--batch",
            "64",
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "xavier_normal" in result.output and "he_normal" in result.output
    assert "ordered: gradients vanish" in result.output
    assert "critical (edge of chaos)" in result.output
    assert "theory" in result.output and "1 / L" in result.output
    assert out.stat().st_size > 10_000


def test_cli_activation_parameters():
    result = runner.invoke(
        app,
        [
            "depth-probe",
            "-a",
            "leaky_relu",
            "-p",
            "negative_slope=0.2",
            "-i",
            "auto",
            "--depth",
            "3",
            "--width",
            "32",
            "--batch",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "leaky_relu + auto" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--activation", "rleu"], "unknown activation 'rleu'; did you mean: relu"),
        (["--init", "he_norml"], "did you mean: he_normal"),
        (["--init", "constant"], "zero-mean weights"),
        (["--depth", "0"], "depth=0"),
        (["-a", "leaky_relu", "-p", "negative_slope=-3"], "negative_slope=-3"),
        (["--init-param", "gain"], "KEY=VALUE"),
        (["--plot", "x.gif"], "use one of"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(args, message):
    result = runner.invoke(app, ["depth-probe", "--depth", "2", "--width", "8", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
