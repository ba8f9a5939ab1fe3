"""``actlab landscape`` and the landscape figures, on a small toy set."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from actlab import landscape
from actlab.cli import app
from actlab.errors import ActlabError
from actlab.report.landscape_plot import plot_plane, plot_slices

runner = CliRunner()


def test_lecture_pair_on_a_toy_set_prints_the_numbers_and_writes_the_figures(tmp_path):
    args = ["landscape", "--dataset", "spiral", "--epochs", "2", "--steps", "5"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "linear at solution" in result.output and "network at init" in result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "landscape_init_to_solution.png",
        "landscape_linear_plane.png",
        "landscape_network_plane.png",
        "landscape_path.png",
        "landscape_two_seeds.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--preset", "lecture"], "unknown preset 'lecture'"), (["--steps", "2"], "steps must be")],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, flags, message):
    result = runner.invoke(app, ["landscape", *flags, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_figures_refuse_an_unknown_suffix(tmp_path):
    net = torch.nn.Linear(3, 2)
    x, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    p = landscape.plane(net, F.cross_entropy, x, y, steps=3)
    s = landscape.line(net, F.cross_entropy, x, y, steps=3)
    with pytest.raises(ActlabError, match="suffix"):
        plot_plane(p, tmp_path / "plane.txt", title="t")
    plot_slices({"a": s}, tmp_path / "line.svg", title="t")
    assert (tmp_path / "line.svg").read_text().startswith("<?xml")
