"""``actlab depth-probe``: a random deep MLP, measured layer by layer beside mean-field theory."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly, parse_assignments

if TYPE_CHECKING:
    from rich.table import Table

    from actlab.theory import ProbeResult


def _num(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3g}"


def _header(r: ProbeResult) -> str:
    critical = "none" if r.critical_sigma_w2 is None else f"{r.critical_sigma_w2:.4g}"
    return (
        f"{r.activation} + {r.init}: sigma_w^2 = {r.sigma_w2:.4g}, sigma_b^2 = {r.sigma_b2:.4g}, "
        f"q* = {r.fixed_point:.4g}, chi(q*) = {r.chi_star:.4g} -> {r.phase}; "
        f"edge of chaos at sigma_w^2 = {critical}"
    )


def render(results: list[ProbeResult]) -> Table:
    """One row per layer; per initializer: measured and predicted output RMS, backward-signal
    RMS and ||dL/dW||, and a last row with the first-to-last-layer ratios."""
    from rich.table import Table

    first = results[0]
    table = Table(
        title=f"depth probe: {first.activation}, {first.depth} layers x {first.width} units, "
        f"batch {first.batch} of N(0, I) inputs",
        caption="RMS: of each layer's output; dL/dh: RMS of the per-sample gradient wrt the "
        "pre-activations; |dW|: Frobenius norm of the weight gradient; theory: mean-field "
        "prediction; last row: layer 1 / layer L",
    )
    table.add_column("layer", justify="right")
    for r in results:
        for col in ("RMS", "theory", "dL/dh", "theory", "|dW|", "theory"):
            table.add_column(f"{r.init}\n{col}" if col == "RMS" else col, justify="right")
    for i in range(first.depth):
        cells = [str(i + 1)]
        for r in results:
            m, p = r.measured[i], r.predicted[i]
            cells += [_num(m.rms), _num(p.rms), _num(m.backward_rms), _num(p.backward_rms)]
            cells += [_num(m.grad_norm), _num(p.grad_norm)]
        table.add_row(*cells)
    ratio = ["1 / L"]
    for r in results:
        for field in ("rms", "backward_rms", "grad_norm"):
            ratio += [_num(r.first_to_last(field, w)) for w in ("measured", "predicted")]
    table.add_row(*ratio, style="bold")
    return table


@app.command("depth-probe")
@friendly
def depth_probe_command(
    activation: str = typer.Option("relu", "--activation", "-a", help="Catalog activation."),
    init: list[str] = typer.Option(
        ["he_normal"], "--init", "-i", help="Initializer; repeat to compare side by side."
    ),
    depth: int = typer.Option(30, "--depth", "-L", max=10_000, help="Number of layers."),
    width: int = typer.Option(512, "--width", "-w", max=16_384, help="Units per layer."),
    batch: int = typer.Option(512, "--batch", "-b", max=65_536, help="Gaussian input samples."),
    seed: int = typer.Option(0, "--seed", max=2**63 - 1, help="Random seed."),
    bias_std: float | None = typer.Option(
        None, "--bias-std", help="Bias std (sigma_b); default: the initializer's own bias rule."
    ),
    param: list[str] = typer.Option([], "--param", "-p", help="Activation parameter KEY=VALUE."),
    init_param: list[str] = typer.Option([], "--init-param", help="Initializer KEY=VALUE."),
    plot: Path | None = typer.Option(None, "--plot", help="Also save a figure (.png/.svg/.pdf)."),
) -> None:
    """Measure activation RMS and weight-gradient norms through a random deep MLP and print them
    beside the mean-field prediction (vanishing or exploding signals, and their cure)."""
    from rich.console import Console

    from actlab.activations import ACTIVATIONS
    from actlab.init import INITIALIZERS
    from actlab.report.depth_probe import check_path, plot_depth_probe
    from actlab.theory import depth_probe

    if plot is not None:
        check_path(plot)
    info = ACTIVATIONS.get(activation)
    a_params = info.parse(dict(parse_assignments(param)))
    results = []
    for name in init:
        scheme = INITIALIZERS.get(name)
        i_params = scheme.parse(dict(parse_assignments(init_param, "--init-param")))
        results.append(
            depth_probe(
                info.name,
                scheme.name,
                depth=depth,
                width=width,
                batch=batch,
                seed=seed,
                bias_std=bias_std,
                activation_params=a_params,
                init_params=i_params,
            )
        )
    console = Console(width=max(Console().width, 12 + 70 * len(results)))
    for r in results:
        console.print(_header(r), highlight=False, soft_wrap=True)
    console.print(render(results))
    if plot is not None:
        typer.echo(f"wrote {plot_depth_probe(results, plot)}")
