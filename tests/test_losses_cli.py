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
from actlab.report.loss_plot import MARGIN_LOSSES, legend_label, margin_curves

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
    # the logistic loss in bits, log2(1 + e^-t), as in Rosasco et al.'s figure: 1 at t = 0
    torch.testing.assert_close(curves["logistic"], torch.log1p(torch.exp(-t)) / math.log(2))
    mid = t.abs().argmin()
    assert curves["logistic"][mid].item() == pytest.approx(1.0, abs=1e-12)


def test_every_drawn_surrogate_upper_bounds_the_zero_one_loss():
    for grid in ((-5.0, 5.0, 2001), (-1.0, 1.0, 3)):  # the second holds t = 0 exactly
        _, curves = margin_curves(*grid)
        for label, _ in MARGIN_LOSSES:
            assert torch.all(curves[label] >= curves["0-1"]), (label, grid)


def test_the_legend_says_the_logistic_scale():
    labels = [legend_label(label, name) for label, name in MARGIN_LOSSES]
    assert "logistic × 1/ln 2 (binary_logistic, in bits)" in labels
    assert "hinge (multilabel_hinge)" in labels and "0-1" in labels


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
