"""``actlab list losses|initializers`` and ``actlab plot-loss``, and the margin curves."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.report.loss_plot import margin_curves

runner = CliRunner()


@pytest.mark.parametrize(
    ("catalog", "registry"), [("losses", LOSSES), ("initializers", INITIALIZERS)]
)
def test_list_shows_every_entry(catalog, registry):
    result = runner.invoke(app, ["list", catalog, "--plain"])
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[0].split(" (")[0] for line in result.output.strip().splitlines()]
    assert names == list(registry.names())


def test_margin_curves_are_the_lecture_formulas():
    t, curves = margin_curves(-2.0, 2.0, 81)
    torch.testing.assert_close(curves["0-1"], (t <= 0).to(t.dtype))
    torch.testing.assert_close(curves["squared"], (1 - t) ** 2)
    torch.testing.assert_close(curves["hinge"], torch.clamp(1 - t, min=0))
    torch.testing.assert_close(curves["logistic"], torch.log1p(torch.exp(-t)))
    # hinge and squared loss bound the 0-1 loss from above (the figure's point); the natural-log
    # logistic loss is log 2 < 1 at t = 0 (in bits it would be exactly 1)
    assert torch.all(curves["hinge"] >= curves["0-1"]) and torch.all(curves["squared"] >= 0)
    assert torch.all(curves["squared"][t <= 1] >= curves["0-1"][t <= 1])
    mid = t.abs().argmin()
    assert curves["logistic"][mid].item() == pytest.approx(math.log(2), abs=1e-6)


def test_plot_loss_writes_the_figure(tmp_path):
    out = tmp_path / "margin.png"
    result = runner.invoke(app, ["plot-loss", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot-loss", "--out", "x.gif"], "use one of"),
        (["plot-loss", "--out", "x.png", "--min", "1", "--max", "0"], "need low < high"),
        (["list", "loses"], "did you mean: losses"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
