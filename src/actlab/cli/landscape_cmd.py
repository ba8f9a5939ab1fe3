"""``actlab landscape``: loss landscapes of a study's stored runs (``actlab landscape DIR``), or of
the lecture's pair (a linear classifier and a 2-hidden-layer network, both with the multiclass
hinge loss) trained on the spot (``--preset lecture-pair``)."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.errors import ActlabError

PRESETS = ("lecture-pair",)
KIND_HELP = (
    "line: a filter-normalized random direction through the run's final weights; interp: the "
    "straight line from its initial to its final weights (or to --to RUN's); plane: two random "
    "directions (contours + 3-D surface); path: the optimizer's path on the principal plane of "
    "its weight snapshots (the study must have run with --snapshots N)."
)


@app.command("landscape")
@friendly
def landscape_command(
    directory: Path | None = typer.Argument(
        None, help="A study's output directory (actlab compare --out); omit for --preset."
    ),
    run: str | None = typer.Option(
        None, "--run", help="Run key or a unique prefix of one (default: the best run)."
    ),
    kind: str = typer.Option("plane", "--kind", help=KIND_HELP),
    to: str | None = typer.Option(
        None, "--to", help="With --kind interp: a second run (another seed or optimizer)."
    ),
    split: str = typer.Option(
        "train", "--split", help="Data the loss is measured on: train, test."
    ),
    steps: int | None = typer.Option(
        None, "--steps", help="Grid points per axis and per slice (>= 3; default 51, preset 31)."
    ),
    span: float = typer.Option(1.0, "--span", help="Slice half-width in direction units."),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="The figure (.png/.svg/.pdf; default DIR/landscape_KIND_RUN.png), or with --preset "
        "the directory for its figures.",
    ),
    preset: str | None = typer.Option(
        None, "--preset", help="Train and draw a preset instead: lecture-pair."
    ),
    dataset: str = typer.Option("mnist1d", "--dataset", help="The preset's catalog dataset."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="The preset's training epochs."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random directions (and preset)."),
) -> None:
    """Draw the loss landscape of a stored run of a study (DIR) -- a line, the interpolation
    from its initial weights or to another run, a plane, or its optimizer's path -- or, with
    --preset lecture-pair, train the lecture's linear classifier and 2-hidden-layer network and
    draw all of theirs, with the convexity numbers."""
    if directory is None:
        if out is None:
            raise ActlabError(
                "give a study directory (actlab landscape DIR), or --preset with --out DIR"
            )
        _preset(
            preset or "lecture-pair", out, dataset, epochs, 31 if steps is None else steps, seed
        )
        return
    if preset is not None:
        raise ActlabError("--preset trains its own models; give it without a study directory")
    _stored(directory, run, kind, to, split, 51 if steps is None else steps, span, out, seed)


def _stored(directory, run, kind, to, split, steps, span, out, seed) -> None:
    from actlab.landscape.convexity import curvature
    from actlab.landscape.evaluate import grid
    from actlab.landscape.stored import StoredRun, check_kind
    from actlab.report.landscape_plot import FORMATS, plot_path, plot_plane, plot_slices
    from actlab.study import Store

    grid(steps, span)  # bad --steps / --span fail before anything is loaded
    check_kind(kind)
    if to is not None and kind != "interp":
        raise ActlabError(f"a second run (--to) is for --kind interp, not {kind}")
    if out is not None and out.suffix.lower() not in FORMATS:
        raise ActlabError(f"figure {str(out)!r}: the suffix must be one of {', '.join(FORMATS)}")
    with Store.open(directory) as store:
        a = StoredRun.load(store, run)
        b = None if to is None else StoredRun.load(store, to, data=a.data)
    result = a.slice(kind, other=b, split=split, steps=steps, span=span, seed=seed)
    target = out or directory / f"landscape_{kind}_{a.key}.png"
    name = f"{a.label} (run {a.key})" if b is None else f"{a.label} -> {b.label}"
    typer.echo(f"run {a.key}: {a.label}" + ("" if b is None else f"; to run {b.key}: {b.label}"))
    if kind in ("line", "interp"):
        what = {
            "line": "random filter-normalized direction",
            "interp": "initial (0) -> final (1)"
            if b is None
            else f"run {a.key} (0) -> {b.key} (1)",
        }[kind]
        plot_slices(
            {name: result},
            target,
            title=f"{what}, {split} data",
            marks=(0.0, 1.0) if kind == "interp" else (0.0,),
        )
        c = curvature(result.alphas, result.loss)
        typer.echo(
            f"{kind}: loss {float(result.loss.min()):.4g} .. {float(result.loss.max()):.4g}; "
            f"second differences < 0 at {c.negative_share:.1%} of points"
        )
    elif kind == "plane":
        plot_plane(result, target, title=f"{name}: loss on a random plane, {split} data")
        typer.echo(f"plane: loss {float(result.loss.min()):.4g} .. {float(result.loss.max()):.4g}")
    else:
        steps_apart = a.snapshots[1][0] - a.snapshots[0][0]
        unit = f"x {steps_apart} steps"
        plot_path(result, target, title=f"{name}: optimizer path, {split} data", unit=unit)
        e1, e2 = (100 * result.explained).tolist()
        n = len(result.coords)
        typer.echo(f"path: {n} snapshots; principal directions explain {e1:.1f}% + {e2:.1f}%")
    typer.echo(f"wrote {target}")


def _preset(preset, out, dataset, epochs, steps, seed) -> None:
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
