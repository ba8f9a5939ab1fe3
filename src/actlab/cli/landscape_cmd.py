"""``actlab landscape``: train the lecture's pair (a linear classifier and a 2-hidden-layer
network, both with the multiclass hinge loss) and draw their loss landscapes."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.errors import ActlabError

PRESETS = ("lecture-pair",)


@app.command("landscape")
@friendly
def landscape_command(
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the figures (PNG)."),
    preset: str = typer.Option("lecture-pair", "--preset", help="What to train and draw."),
    dataset: str = typer.Option("mnist1d", "--dataset", help="Catalog dataset name."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="Training epochs per model."),
    steps: int = typer.Option(31, "--steps", help="Grid points per axis and per slice (>= 3)."),
    seed: int = typer.Option(0, "--seed", help="Seed of data, weights and directions."),
) -> None:
    """Train the linear classifier and two seeds of the network on DATASET, then draw: each
    model's loss on a random filter-normalized plane (contours + 3-D surface), the lines from
    initialization to solution, the interpolation between two seeds, and the optimizer's path;
    print the convexity numbers (share of negative second differences along random slices)."""
    if preset not in PRESETS:
        raise ActlabError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    from actlab.landscape.convexity import curvature
    from actlab.landscape.evaluate import grid
    from actlab.landscape.lecture import run_lecture
    from actlab.report.landscape_plot import lecture_figures

    grid(steps, 1.0)  # bad --steps fails before any training
    lecture = run_lecture(dataset, epochs=epochs, steps=steps, seed=seed)
    rows = dict(lecture.convexity)
    rows.update(
        (f"{label}, seed {seed} -> {seed + 1}", curvature(s.alphas, s.loss))
        for label, s in lecture.seeds.items()
    )
    typer.echo(f"{'slices':<36} {'2nd diff. < 0':>13} {'min/max curvature':>18}")
    for name, c in rows.items():
        verdict = "convex on these slices" if c.convex else "NOT convex"
        typer.echo(f"{name:<36} {c.negative_share:13.1%} {c.curvature_ratio:+18.3g}  {verdict}")
    for path in lecture_figures(lecture, out):
        typer.echo(f"wrote {path}")
