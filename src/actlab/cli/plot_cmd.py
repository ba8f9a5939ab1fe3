"""``actlab plot``: activation functions and their derivatives in one figure."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.cli._specs import parse_curves
from actlab.errors import ActlabError


def parse_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ActlabError(f"--range {text!r}: give two numbers LOW,HIGH, e.g. -5,5") from None
    if not math.isfinite(hi - lo):
        raise ActlabError(f"--range {text!r}: give two finite numbers LOW,HIGH, e.g. -5,5")
    return lo, hi


@app.command("plot")
@friendly
def plot_command(
    names: list[str] = typer.Argument(
        ..., help="Activations to draw: NAME or NAME:k=v,k=v (e.g. elu:alpha=0.5)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .png, .svg or .pdf."),
    derivative: bool = typer.Option(
        False, "--derivative", "-d", help="Also draw f'(x) in a second panel."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="NAME.k=v: set a parameter of every curve named NAME."
    ),
    x_range: str | None = typer.Option(
        None,
        "--range",
        help="x interval LOW,HIGH (default: -5,5 widened to show every kink).",
        metavar="A,B",
    ),
    title: str | None = typer.Option(None, "--title", help="Figure title."),
) -> None:
    """Draw activation functions (and with --derivative, their derivatives) in one figure.

    Example: actlab plot relu leaky_relu6 swish hard_swish --derivative --out a.png
    """
    from actlab.report.activation_plot import plot_activations

    curves = parse_curves(names, param)
    path = plot_activations(
        curves,
        out,
        derivative=derivative,
        x_range=None if x_range is None else parse_range(x_range),
        title=title,
    )
    typer.echo(f"wrote {path}")
