"""``actlab inspect NAME``: an activation's computed properties and what they imply.

The header (name, parameters, summary, formula, derivative, reference) comes first; without
``--param`` it comes from the command line's cache (:mod:`actlab.cli._cache`), before torch is
imported for the properties below it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly, parse_assignments
from actlab.errors import ActlabError

if TYPE_CHECKING:
    from rich.console import Console

    from actlab.activations import ActivationInfo


@app.command("inspect")
@friendly
def inspect_command(
    name: str = typer.Argument(..., help="Activation name (see 'actlab list activations')."),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter k=v (repeatable)."),
    cost: bool = typer.Option(
        True, "--cost/--no-cost", help="Measure forward+backward time relative to relu."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the entry and its properties as one JSON document."
    ),
) -> None:
    """Show an activation's formula and its computed properties: range, monotonicity,
    zero-centredness, saturation, dead region, smoothness, gain and cost -- with the pros and
    cons they imply."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if as_json:
        from actlab.activations.properties import compute
        from actlab.cli._outputs import emit
        from actlab.init import auto_choice

        info, params = _bound(name, param)
        pr = compute(info, measure_cost=cost, **params)
        auto = auto_choice(info.name, pr.params).summary() if info.kind == "elementwise" else None
        emit({"name": info.name, "params": params, "summary": info.summary,
              "formula": info.formula, "derivative": info.derivative or None,
              "reference": info.reference, "properties": pr,
              "table": [dict(zip(("property", "value", "how"), row)) for row in pr.rows()],
              "findings": pr.findings(), "auto_init": auto})  # fmt: skip
        return
    console = Console(width=max(Console().width, 110))
    # The header first: the properties below take a moment (torch, quadratures, the timed cost).
    cached = None if param else _cached_header(name)
    if cached is not None:
        _print_header(console, cached)
    info, params = _bound(name, param)
    if cached is None:
        _print_header(console, header(info, params))

    from actlab.activations.properties import compute
    from actlab.init import auto_choice

    pr = compute(info, measure_cost=cost, **params)
    table = Table(show_header=True)
    for column in ("property", "value", "how it is computed"):
        table.add_column(column)
    for row in pr.rows():
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    findings = pr.findings()
    console.print("[bold]findings[/bold]" if findings else "[bold]findings[/bold]: none")
    for finding in findings:
        console.print(f"  - {finding}", markup=False, highlight=False)
    if info.kind == "elementwise":
        auto = "init 'auto' chose " + auto_choice(info.name, pr.params).summary()
    else:
        auto = (
            "init 'auto': the variance-preserving gain (mean-field theory needs an elementwise f)"
        )
    console.print(auto, markup=False, highlight=False)


def _bound(name: str, param: list[str]) -> tuple[ActivationInfo, dict[str, Any]]:
    """The activation ``name`` and all its parameters, ``--param`` s validated over defaults."""
    from actlab.activations import ACTIVATIONS

    info = ACTIVATIONS.get(name)
    return info, info.bind(info.parse(dict(parse_assignments(param))))


def header(info: ActivationInfo, params: dict[str, Any]) -> dict[str, str]:
    """The header's fields: the parameters as shown (``k=v`` with ``repr``), and the entry's
    summary, formula, derivative and reference."""
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return {"name": info.name, "shown": shown, "summary": info.summary, "formula": info.formula,
            "derivative": info.derivative, "reference": info.reference}  # fmt: skip


def _print_header(console: Console, h: dict[str, str]) -> None:
    from rich.markup import escape

    console.print(f"[bold]{h['name']}[/bold]({escape(h['shown'])})  —  {escape(h['summary'])}")
    console.print(f"f:  {h['formula']}", markup=False, highlight=False)
    if h["derivative"]:
        console.print(f"f': {h['derivative']}", markup=False, highlight=False)
    console.print(f"reference: {h['reference']}", markup=False, highlight=False)


def headers() -> dict[str, Any]:
    """Every activation's header at its defaults, with the names and aliases to find it by (an
    entry whose defaults do not bind is left to the registry, which says why)."""
    from actlab.activations import ACTIVATIONS

    names = ACTIVATIONS.names()
    aliases = [a for a in ACTIVATIONS.names(aliases=True) if a not in names]
    found = {}
    for info in ACTIVATIONS:
        with contextlib.suppress(ActlabError):
            found[info.name] = header(info, info.bind())
    return {
        "kind": ACTIVATIONS.kind,
        "names": list(names),
        "aliases": {a: ACTIVATIONS.canonical(a) for a in aliases},
        "headers": found,
    }


def _cached_header(name: str) -> dict[str, str] | None:
    """``name`` 's header at its defaults without importing torch (the cache), or ``None`` when
    the live registry must answer. An unknown name fails here, as the registry would."""
    from actlab._registry import resolve
    from actlab.cli._cache import remembered

    found = remembered("inspect headers", headers, module="actlab.activations")
    return found["headers"].get(resolve(found["kind"], name, found["names"], found["aliases"]))
