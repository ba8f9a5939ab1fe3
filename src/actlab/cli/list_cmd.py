"""``actlab list CATALOG``: the entries of a catalog as a table, generated from its registry
(kept in the command line's cache, :mod:`actlab.cli._cache`, so that it prints without torch)."""

from __future__ import annotations

import importlib
from typing import Any

import typer

from actlab._registry import Registry, closest
from actlab.cli._app import app
from actlab.cli._common import fail, friendly

# catalog -> "module:REGISTRY"; later catalogs add one line each.
CATALOGS: dict[str, str] = {
    "activations": "actlab.activations:ACTIVATIONS",
    "optimizers": "actlab.optim:OPTIMIZERS",
    "losses": "actlab.losses:LOSSES",
    "initializers": "actlab.init:INITIALIZERS",
    "datasets": "actlab.data:DATASETS",
    "models": "actlab.models:MODELS",
    "presets": "actlab.study.presets:PRESETS",
    "surfaces": "actlab.optim.surfaces:SURFACES",
}


def registry(catalog: str) -> Registry:
    module, _, attr = CATALOGS[catalog].partition(":")
    return getattr(importlib.import_module(module), attr)


def _defaults(info) -> str:
    return ", ".join(f"{p.name}={p.default!r}" for p in info.params) or "-"


def listing(catalog: str) -> dict[str, Any]:
    """What ``actlab list CATALOG`` shows, from the live registry: ``entries`` (``--json``) and
    the table's ``rows`` (name with aliases, formula or summary, defaults, reference)."""
    from actlab._jsonable import jsonable

    reg = registry(catalog)
    entries = [
        {"name": info.name, "aliases": list(reg.aliases_of(info.name)),
         "formula": getattr(info, "formula", None) or None, "summary": info.summary,
         "defaults": {p.name: p.default for p in info.params}, "reference": info.reference}
        for info in reg
    ]  # fmt: skip
    rows = [
        (
            info.name + (f" ({', '.join(a)})" if (a := reg.aliases_of(info.name)) else ""),
            getattr(info, "formula", "") or info.summary,
            _defaults(info),
            info.reference,
        )
        for info in reg
    ]
    return jsonable({"entries": entries, "rows": rows})


@app.command("list")
@friendly
def list_command(
    catalog: str = typer.Argument(..., help=f"One of: {', '.join(CATALOGS)}."),
    plain: bool = typer.Option(False, "--plain", help="Tab-separated output without a table."),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as one JSON document."),
) -> None:
    """List a catalog: name, formula, defaults and reference of every entry."""
    if catalog not in CATALOGS:
        near = closest(catalog, list(CATALOGS)) or list(CATALOGS)
        raise fail(f"unknown catalog {catalog!r}; did you mean: {', '.join(near)}?")
    from actlab.cli._cache import remembered

    module = CATALOGS[catalog].partition(":")[0]
    found = remembered(f"list {catalog}", lambda: listing(catalog), module=module)
    if as_json:
        from actlab.cli._outputs import emit

        emit({"catalog": catalog, "entries": found["entries"]})
        return
    rows = found["rows"]
    if plain:
        for row in rows:
            typer.echo("\t".join(row))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(rows)} {catalog}", show_lines=False)
    for column in ("name", "formula", "defaults", "reference"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console(width=max(Console().width, 160)).print(table)
