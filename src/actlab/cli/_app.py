"""The typer application; each command module registers itself on :data:`app`."""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 vendors click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

import actlab


class _OneLineErrors(TyperGroup):
    """Usage errors (unknown option, a value of the wrong type, a missing argument) as one
    ``error:`` line and exit code 2, like every other bad input, instead of click's box."""

    def make_context(
        self, info_name: str | None, args: list[str], *rest: Any, **kwargs: Any
    ) -> typer.Context:
        if not args or "--help" in args:  # a help page follows: load typer's renderer lighter
            from actlab.cli import _typer_help

            _typer_help.load()
        with _one_line():
            return super().make_context(info_name, args, *rest, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        with _one_line(ctx):
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line(ctx: typer.Context | None = None) -> Iterator[None]:
    try:
        yield
    except click_errors.NoArgsIsHelpError:
        raise
    except click_errors.UsageError as e:
        from actlab.cli import _common

        if _common.DEBUG:
            raise
        ctx = e.ctx or ctx
        where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        message = " ".join(e.format_message().split())
        raise _common.fail(f"{message.rstrip('.')}{where}") from None


app = typer.Typer(
    name="actlab",
    cls=_OneLineErrors,
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
    "watch_cmd",
    "diagnose_cmd",
    "playground_cmd",
    "landscape_cmd",
    "lessons_cmd",
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


def _reflowed(doc: str | None) -> str | None:
    """A docstring's paragraphs as one line each: typer joins the lines of a help text's first
    paragraph only, so the others kept the source's line breaks on a wide terminal."""
    if not doc:
        return doc
    return "\n\n".join(" ".join(part.split()) for part in inspect.cleandoc(doc).split("\n\n"))


for _command in app.registered_commands:
    if _command.help is None and _command.callback is not None:
        _command.help = _reflowed(_command.callback.__doc__)


def main() -> None:
    """Console-script entry point."""
    app()
