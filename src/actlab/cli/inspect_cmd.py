"""``actlab inspect NAME``: an activation's computed properties and what they imply."""

from __future__ import annotations

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly, parse_assignments


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

    from actlab.activations import ACTIVATIONS

    info = ACTIVATIONS.get(name)
    params = info.bind(info.parse(dict(parse_assignments(param))))
    if as_json:
        from actlab.activations.properties import compute
        from actlab.cli._outputs import emit
        from actlab.init import auto_choice

        pr = compute(info, measure_cost=cost, **params)
        auto = auto_choice(info.name, pr.params).summary() if info.kind == "elementwise" else None
        emit({"name": info.name, "params": params, "summary": info.summary,
              "formula": info.formula, "derivative": info.derivative or None,
              "reference": info.reference, "properties": pr,
              "table": [dict(zip(("property", "value", "how"), row)) for row in pr.rows()],
              "findings": pr.findings(), "auto_init": auto})  # fmt: skip
        return
    console = Console(width=max(Console().width, 110))
    # The header first: the properties below take a moment (quadratures, the timed cost).
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    console.print(f"[bold]{info.name}[/bold]({escape(shown)})  —  {escape(info.summary)}")
    console.print(f"f:  {info.formula}", markup=False, highlight=False)
    if info.derivative:
        console.print(f"f': {info.derivative}", markup=False, highlight=False)
    console.print(f"reference: {info.reference}", markup=False, highlight=False)

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
