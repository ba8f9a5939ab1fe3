"""``actlab plot-loss``: the classification losses as functions of the margin t = y f(x)."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly


@app.command("plot-loss")
@friendly
def plot_loss_command(
    out: Path = typer.Option(..., "--out", "-o", help="Output figure (.png, .svg or .pdf)."),
    low: float = typer.Option(-2.0, "--min", help="Smallest margin shown."),
    high: float = typer.Option(2.0, "--max", help="Largest margin shown."),
) -> None:
    """Draw 0-1, squared, hinge and logistic loss against the margin t = y f(x), the figure the
    lecture uses to show every training loss as a stand-in for the 0-1 loss."""
    from actlab.report.loss_plot import plot_margin_losses

    typer.echo(f"wrote {plot_margin_losses(out, low=low, high=high)}")
