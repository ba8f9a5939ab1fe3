"""``actlab race``: the library run, the figure/animation, the CLI, and what the race shows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from actlab.cli import app
from actlab.optim import OPTIMIZERS
from actlab.optim.race import TUNE_GRID, RaceConfig, run
from actlab.optim.surfaces import SURFACES
from actlab.report.docs_optimizers import render as render_docs
from actlab.report.race import title

runner = CliRunner()


# -- the library run -------------------------------------------------------------------------


def test_paths_share_the_start_and_the_table_matches_the_losses():
    config = RaceConfig("quadratic", optimizers=("sgd", "momentum", "adam"), steps=60, tune=False)
    result = run(config)
    surface = SURFACES.get("quadratic")
    for p in result.paths:
        assert p.points.shape == (61, 2)
        assert tuple(p.points[0].tolist()) == surface.start
        assert p.lr == OPTIMIZERS.get(p.optimizer).defaults["lr"]
        torch.testing.assert_close(p.losses, surface.fn(p.points))
        hits = (p.losses <= surface.target).nonzero()
        expected = None if len(hits) == 0 else int(hits[0, 0])
        assert p.steps_to_target == expected
    assert result.lr_source == "default"


@pytest.mark.parametrize("surface", SURFACES.names())
def test_every_surface_has_its_minimum_where_declared(surface):
    s = SURFACES.get(surface)
    for minimum in s.minima:
        point = torch.tensor(minimum, dtype=torch.float64)
        _, grad = s.value_and_grad(point)
        assert float(grad.abs().max()) < 1e-4
    result = run(RaceConfig(surface, optimizers=("adam",), steps=5))
    assert result.paths[0].points.shape == (6, 2)


def test_given_and_tuned_learning_rates():
    cfg = dict(surface="quadratic", optimizers=("sgd", "adam"), steps=80, lr={"sgd": 0.05})
    given = run(RaceConfig(**cfg, tune=False))
    assert [p.lr for p in given.paths] == [0.05, 1e-3] and given.lr_source == "given"
    given_tuned = run(RaceConfig(**cfg))  # the others are tuned, as the title says
    assert given_tuned.paths[0].lr == 0.05 and given_tuned.paths[1].lr in TUNE_GRID
    assert "others tuned" in title(given_tuned)
    tuned = run(RaceConfig("quadratic", optimizers=("sgd", "adagrad"), steps=80))
    assert tuned.lr_source == "tuned"
    default = run(RaceConfig("quadratic", optimizers=("sgd", "adagrad"), steps=80, tune=False))
    for t, d in zip(tuned.paths, default.paths):
        assert t.lr in TUNE_GRID
        assert t.steps_to_target is not None and d.steps_to_target is None


def test_noise_is_seeded_and_changes_the_path():
    cfg = dict(surface="quadratic", optimizers=("sgd",), steps=30, lr={"sgd": 0.1})
    clean = run(RaceConfig(**cfg)).paths[0].points
    a = run(RaceConfig(**cfg, noise=0.5, seed=1)).paths[0].points
    b = run(RaceConfig(**cfg, noise=0.5, seed=1)).paths[0].points
    c = run(RaceConfig(**cfg, noise=0.5, seed=2)).paths[0].points
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, clean)


def test_divergence_is_frozen_and_reported_not_clipped():
    config = RaceConfig("rosenbrock", optimizers=("sgd", "adam"), steps=50, lr={"sgd": 1.0})
    result = run(config)
    sgd, adam = result.paths
    assert sgd.diverged_at is not None and math.isinf(sgd.final_loss)
    assert torch.isfinite(sgd.points).all()  # frozen at the last finite point
    assert adam.diverged_at is None and math.isfinite(adam.final_loss)


def test_the_race_shows_what_the_seed_texts_describe():
    """Beale, catalog defaults: momentum accelerates along the valley past plain GD; AdaGrad
    slows down (its effective rate shrinks) and ends far behind RMSProp, which forgets old
    gradients. (The default, tuned race: tests/test_d_tour.py.)"""
    names = ("sgd", "momentum", "adagrad", "rmsprop")
    result = run(RaceConfig("beale", optimizers=names, tune=False))
    final = {p.optimizer: p.final_loss for p in result.paths}
    assert final["momentum"] < 0.1 * final["sgd"]
    assert final["adagrad"] > 10 * final["rmsprop"]
    # Rosenbrock valley: at the same lr, momentum covers more of the valley than GD
    valley = run(RaceConfig("rosenbrock", optimizers=("sgd", "momentum"), steps=300, tune=False))
    distance = {p.optimizer: float((p.points[-1] - 1).norm()) for p in valley.paths}
    assert distance["momentum"] < 0.5 * distance["sgd"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RaceConfig("beal"), "did you mean: beale"),
        (RaceConfig("beale", optimizers=("adma",)), "did you mean: adam"),
        (RaceConfig("beale", steps=0), "steps=0"),
        (RaceConfig("beale", noise=-1.0), "noise=-1"),
        (RaceConfig("beale", lr={"adam": -1.0}), r"lr=-1 is out of range"),
        (RaceConfig("beale", optimizers=("sgd",), lr={"adam": 0.1}), "not racing"),
        (RaceConfig("beale", optimizers=("sgd", "gd")), "twice"),
    ],
)
def test_bad_race_config(config, message):
    with pytest.raises(ValueError, match=message):
        run(config)


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_png_and_table(tmp_path: Path):
    out = tmp_path / "race.png"
    args = ["race", "--surface", "quadratic", "--optimizers", "sgd,adam", "--steps", "40"]
    result = runner.invoke(app, [*args, "--lr", "sgd=0.05", "--start", "1,1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    assert "sgd" in result.output and "adam" in result.output and "final loss" in result.output
    assert "from (1, 1)" in result.output


def test_cli_gif_is_animated(tmp_path: Path):
    out = tmp_path / "race.gif"
    args = ["race", "--surface", "saddle", "--optimizers", "sgd,rmsprop", "--steps", "12"]
    result = runner.invoke(app, [*args, "--noise", "0.1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames > 5


def test_gif_keeps_each_optimizers_colour_in_every_frame(tmp_path: Path):
    """The first frame (paths one point long) and the last both hold every optimizer's exact
    colour: the frames share one palette instead of one fitted to each frame."""
    from actlab.report.race import COLORS, render

    names = ("sgd", "momentum", "nag", "adagrad", "rmsprop", "adam")
    result = run(RaceConfig("beale", optimizers=names, steps=40))
    out = render(result, tmp_path / "race.gif", frames=10)
    with Image.open(out) as im:
        frames = []
        for i in (0, im.n_frames - 1):
            im.seek(i)
            pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
            frames.append({tuple(int(v) for v in c) for c in np.unique(pixels, axis=0)})
    for i, _ in enumerate(names):
        rgb = tuple(int(COLORS[i][k : k + 2], 16) for k in (1, 3, 5))
        assert all(rgb in frame for frame in frames), (names[i], COLORS[i])


def test_cli_tune_says_so(tmp_path: Path):
    args = ["race", "--surface", "quadratic", "--optimizers", "sgd", "--steps", "30", "--tune"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "t.png")])
    assert result.exit_code == 0, result.output
    assert "tuned by log-grid search" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--surface", "beal"], "did you mean: beale"),
        (["--surface", "beale", "--optimizers", "sgd,adamm"], "did you mean: adam"),
        (["--surface", "beale", "--lr", "adam"], "KEY=VALUE"),
        (["--surface", "beale", "--lr", "adam=fast"], "not a number"),
        (["--surface", "beale", "--lr", "adam=-3"], "out of range"),
        (["--surface", "beale", "--start", "1"], "X,Y"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, extra, message):
    result = runner.invoke(app, ["race", *extra, "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_cli_bad_output_suffix(tmp_path: Path):
    args = ["race", "--surface", "quadratic", "--steps", "3", "--out", str(tmp_path / "a.mp4")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and ".png, .gif" in result.output


def test_list_optimizers():
    result = runner.invoke(app, ["list", "optimizers", "--plain"])
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()
    assert len(rows) == len(OPTIMIZERS)
    for row, info in zip(rows, OPTIMIZERS):
        name, formula, defaults, reference = row.split("\t")
        assert name.split(" ")[0] == info.name and formula == info.formula
        assert f"lr={info.defaults['lr']!r}" in defaults and reference == info.reference


# -- the docs page ---------------------------------------------------------------------------


def test_docs_page_describes_every_optimizer_and_convention(tmp_path: Path):
    text = render_docs(tmp_path, figures=False)
    for info in OPTIMIZERS:
        assert f"### {info.name}" in text
        assert all(f"`{p.name}`" in text for p in info.params)
    for info in OPTIMIZERS:
        for name in info.presets.get("keras", {}):
            assert (
                f"| {info.name} | `{name}` |" in text
                or info.defaults.get(name) == (info.presets["keras"][name])
            )
    assert "batch_size = full | 1 | N" in text
    committed = Path(__file__).parent.parent / "docs" / "optimizers.md"
    assert committed.read_text() == text, "docs/optimizers.md is stale"
