"""The activation commands, in-process: output, files, and the bad-input contract."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import actlab
from actlab.activations import ACTIVATIONS
from actlab.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_version_and_help():
    assert run("--version").stdout.strip() == f"actlab {actlab.__version__}"
    result = run("--help")
    assert result.exit_code == 0
    for command in ("list", "inspect", "plot"):
        assert command in result.stdout


def test_list_activations_shows_every_entry():
    result = run("list", "activations", "--plain")
    assert result.exit_code == 0
    names = [line.split("\t")[0].split(" ")[0] for line in result.stdout.splitlines()]
    assert names == list(ACTIVATIONS.names())


def test_inspect_prints_computed_properties_and_gain():
    result = run("inspect", "swish", "--no-cost")
    assert result.exit_code == 0, result.output
    assert "silu" in result.stdout and "gain" in result.stdout and "1.67653" in result.stdout
    assert "saturates" in result.stdout
    result = run("inspect", "leaky_relu6", "--param", "cap=3", "--no-cost")
    assert result.exit_code == 0 and "(-inf, 3]" in result.stdout and "1.4" in result.stdout


def test_plot_writes_a_figure(tmp_path):
    out = tmp_path / "a.png"
    result = run(
        "plot", "relu", "leaky_relu6", "swish", "hard_swish", "--derivative", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    svg = tmp_path / "b.svg"
    result = run(
        "plot", "elu:alpha=0.5", "elu", "--param", "elu.alpha=2", "--out", str(svg), "--range=-3,3"
    )
    assert result.exit_code == 0, result.output
    assert "alpha=2" in svg.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inspect", "rleu"), "unknown activation 'rleu'; did you mean: relu"),
        (("inspect", "elu", "--param", "alpha=-1"), "alpha=-1 is out of range; valid range is"),
        (("inspect", "elu", "--param", "alpha=abc"), "alpha='abc' is not a number"),
        (("inspect", "elu", "--param", "alpha"), "is not of the form KEY=VALUE"),
        (("inspect", "elu", "--param", "beta=1"), "elu has no parameter 'beta'"),
        (("plot", "relu", "--out", "x.txt"), "use one of .png, .svg, .pdf"),
        (("plot", "relu", "--out", "x.png", "--range", "3,1"), "range 3,1 is empty"),
        (("plot", "relu", "--out", "x.png", "--range", "a"), "give two numbers"),
        (("plot", "relu", "--out", "x.png", "--param", "elu.alpha=1"), "not among"),
        (("plot", "relu", "--out", "x.png", "--param", "alpha=1"), "write NAME.PARAM=VALUE"),
        (("list", "activatons"), "did you mean: activations"),
    ],
)
def test_bad_input_one_line_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
