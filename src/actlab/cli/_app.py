"""The typer application; each command module registers itself on :data:`app`."""

from __future__ import annotations

import importlib

import typer

import actlab

app = typer.Typer(
    name="actlab",
    help="A lab for activation functions, optimizers, losses and initialization: list and inspect "
    "the catalogs, plot functions, and run experiments that show why a network learns or not.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# One module per command; importing a module registers its command(s) on `app`.
COMMANDS = (
    "list_cmd",
    "inspect_cmd",
    "plot_cmd",
    "plot_loss_cmd",
    "depth_probe_cmd",
    "race_cmd",
    "compare_cmd",
    "report_cmd",
    "diagnose_cmd",
    "playground_cmd",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"actlab {actlab.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    from actlab.cli import _common

    _common.DEBUG = debug


for _module in COMMANDS:
    importlib.import_module(f"actlab.cli.{_module}")


def main() -> None:
    """Console-script entry point."""
    app()
