"""``actlab inspect NAME``: an activation's computed properties and what they imply."""

from __future__ import annotations

import math

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actlab.activations import ACTIVATIONS
from actlab.activations.properties import Properties, compute
from actlab.cli._app import app
from actlab.cli._common import friendly, parse_assignments


def _bound(v: float) -> str:
    return "-inf" if v == -math.inf else "inf" if v == math.inf else f"{v:.4g}"


def property_rows(pr: Properties) -> list[tuple[str, str, str]]:
    """(property, value, how it was computed) rows -- shared by the CLI and the docs."""
    lo, hi, lo_closed, hi_closed = pr.range
    rng = f"{'[' if lo_closed else '('}{_bound(lo)}, {_bound(hi)}{']' if hi_closed else ')'}"
    dead = ", ".join(
        f"{'(-inf' if a == -math.inf else f'[{a:g}'}, {'inf)' if b == math.inf else f'{b:g}]'}"
        for a, b in pr.dead
    )
    rows = [
        ("output range", rng, "f on [-15, 15] and its limits at +-inf"),
        ("monotonic", pr.monotonic, "sign of f(x+h) - f(x) on the grid"),
        (
            "zero-centred",
            f"{'yes' if pr.zero_centred else 'no'} (E[f(z)] = {pr.mean:.4g})",
            "Gauss-Hermite, z ~ N(0,1); yes if |mean| <= 0.1 rms",
        ),
        ("saturates (left, right)", f"{pr.saturates[0]}, {pr.saturates[1]}",
         "hard: f' = 0 far out; soft: |f'(+-1e4)| < 1e-6"),
        ("dead region (f' = 0)", dead or "none", "intervals where the analytic f' is exactly 0"),
        ("smoothness", pr.smoothness, "jumps in f, f', f'' on a 1e-3 grid"),
        ("f(0)", f"{pr.f0:.4g}", "analytic"),
        ("f'(0)", f"{pr.df0:.4g}", "analytic derivative (kink convention as PyTorch)"),
        ("max |f'|", f"{pr.max_abs_df:.4g}", "over the grid and at +-1e4"),
        ("gain 1/sqrt(E[f(z)^2])", f"{pr.gain:.6g}", "variance-preserving init scale"),
    ]
    if pr.cost is not None:
        rows.append(("cost (fwd+bwd vs relu)", f"{pr.cost:.2f}x", "measured on this machine"))
    return rows


@app.command("inspect")
@friendly
def inspect_command(
    name: str = typer.Argument(..., help="Activation name (see 'actlab list activations')."),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter k=v (repeatable)."),
    cost: bool = typer.Option(
        True, "--cost/--no-cost", help="Measure forward+backward time relative to relu."
    ),
) -> None:
    """Show an activation's formula and its computed properties: range, monotonicity,
    zero-centredness, saturation, dead region, smoothness, gain and cost -- with the pros and
    cons they imply."""
    info = ACTIVATIONS.get(name)
    params = info.parse(dict(parse_assignments(param)))
    pr = compute(info, measure_cost=cost, **params)
    console = Console(width=max(Console().width, 110))
    shown = ", ".join(f"{k}={v!r}" for k, v in pr.params.items())
    console.print(f"[bold]{info.name}[/bold]({escape(shown)})  —  {escape(info.summary)}")
    console.print(f"f:  {info.formula}", markup=False, highlight=False)
    if info.derivative:
        console.print(f"f': {info.derivative}", markup=False, highlight=False)
    console.print(f"reference: {info.reference}", markup=False, highlight=False)
    table = Table(show_header=True)
    for column in ("property", "value", "how it is computed"):
        table.add_column(column)
    for row in property_rows(pr):
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    findings = pr.findings()
    console.print("[bold]findings[/bold]" if findings else "[bold]findings[/bold]: none")
    for finding in findings:
        console.print(f"  - {finding}", markup=False, highlight=False)
