"""``actlab race``: optimizers racing over a 2-D test surface, as a contour figure or animation."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly, parse_assignments
from actlab.errors import ActlabError, ParameterError


def _start(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise ActlabError(f"--start {text!r}: give two numbers X,Y, e.g. -1.5,2") from None
    return x, y


def _lrs(items: list[str]) -> dict[str, float]:
    out = {}
    for name, value in parse_assignments(items, "--lr"):
        try:
            out[name] = float(value)
        except ValueError:
            raise ParameterError(
                f"--lr {name}={value!r}: the learning rate is not a number"
            ) from None
    return out


@app.command("race")
@friendly
def race_command(
    surface: str = typer.Option(
        ..., "--surface", "-s", help="Test surface ('actlab list surfaces')."
    ),
    optimizers: str | None = typer.Option(
        None,
        "--optimizers",
        help="Comma-separated optimizer names (default: the classic seven, sgd to adam).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .png (still) or .gif."),
    steps: int | None = typer.Option(None, "--steps", help="Steps (default: the surface's)."),
    start: str | None = typer.Option(
        None, "--start", metavar="X,Y", help="Starting point (default: the surface's)."
    ),
    lr: list[str] = typer.Option(
        [], "--lr", metavar="NAME=VALUE", help="Learning rate of one optimizer (repeatable)."
    ),
    tune: bool = typer.Option(
        True,
        "--tune/--no-tune",
        help="Pick each learning rate not given with --lr by a log-grid search (the default; "
        "said in the title), or race each optimizer's catalog default (--no-tune).",
    ),
    noise: float = typer.Option(
        0.0, "--noise", help="Std of Gaussian noise added to every gradient (stochastic GD)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the gradient noise."),
) -> None:
    """Race optimizers from one start over a test surface: paths over the contour plot, the
    minimum marked, and a table of steps to reach the target loss and final loss.

    Each learning rate not given with --lr is tuned on a log grid, so every optimizer runs at a
    rate that suits it (--no-tune: the catalog defaults); there is no gradient clipping. Example:
    actlab race --surface beale --optimizers sgd,momentum,adagrad,adam --out race.gif
    """
    from rich.console import Console
    from rich.table import Table

    from actlab.optim.race import DEFAULT_OPTIMIZERS, RaceConfig, run
    from actlab.report.race import HEADER, render, table_rows, title

    if optimizers is None:
        optimizers = ",".join(DEFAULT_OPTIMIZERS)
    config = RaceConfig(
        surface=surface,
        optimizers=tuple(n.strip() for n in optimizers.split(",") if n.strip()),
        steps=steps,
        start=_start(start) if start else None,
        lr=_lrs(lr),
        tune=tune,
        noise=noise,
        seed=seed,
    )
    result = run(config)
    path = render(result, out)
    table = Table(title=title(result))
    for column in HEADER:
        table.add_column(column)
    for row in table_rows(result):
        table.add_row(*row)
    Console(width=120).print(table)
    typer.echo(f"wrote {path}")
