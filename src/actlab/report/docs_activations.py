"""docs/activations.md, generated from the activation registry by actlab.report.docs."""

from __future__ import annotations

from pathlib import Path

from actlab._numerics import format_number
from actlab.activations import ACTIVATIONS
from actlab.activations.properties import compute
from actlab.report._markdown import cell as _cell
from actlab.report._markdown import params_line as _params
from actlab.report.activation_plot import Curve, plot_activations

HEADER = """# Activation functions

Generated from the registry by `python -m actlab.report.docs`; do not edit by hand.
Every entry has a forward formula, an analytic first derivative, a second derivative where
defined, declared parameter ranges, and properties **computed** from the formula (`actlab inspect
NAME` prints them, with the measured cost on your machine). The formula and its derivative are
the reference (`activate(..., impl="reference")`: one generic autograd function that saves only
the input or only the output); by default `activate` and `actlab.nn.Activation` run a fast path
-- torch's own kernel where torch has the same function with the same conventions, else a
composition of torch kernels -- that the tests hold equal to the reference on random points,
kinks and extremes in every dtype, and that saves at most one input-sized tensor.

Derivatives at kinks follow PyTorch: ReLU'(0) = 0, LeakyReLU'(0) = slope, ReLU6'(0) = ReLU6'(6) = 0,
hardswish'(-3) = 0, hardswish'(3) = 1, ELU'(0) = alpha. Where `torch.nn.functional` returns NaN
at +-inf although the limit is finite (silu, gelu, mish, softsign, hardswish at -inf), actlab
returns the limit.

The gain is `1/sqrt(E[f(z)^2])` for z ~ N(0, 1): the weight scale that keeps the second moment
of pre-activations constant from layer to layer (sqrt(2) for ReLU); it differs from
`torch.nn.init.calculate_gain`'s hand-picked values. The `auto` initializer starts from the same
moments but chooses its variances by mean-field theory so that they hold through depth (see
initializers.md).

Computed numbers are shown to 4 significant digits (the gain in the property table to 6), and a
mean whose magnitude is below 1e-12 times the rms (quadrature rounding, which differs between
machines) as 0, so this page is the same wherever it is generated. Smoothness comes from the
one-sided limits of f, f' and f'' at each declared kink (a jump counts above 1e-6 relative), and
a scan of [-15, 15] checks that no entry jumps anywhere it declares no kink.
"""


def render(docs_dir: Path, *, figures: bool = True) -> str:
    lines = [HEADER, "| name | aliases | formula | gain | reference |", "|---|---|---|---|---|"]
    sheets = {info.name: compute(info) for info in ACTIVATIONS}
    for info in ACTIVATIONS:
        aliases = ", ".join(ACTIVATIONS.aliases_of(info.name)) or "-"
        lines.append(
            f"| [{info.name}](#{info.name}) | {aliases} | ${_cell(info.formula)}$ | "
            f"{format_number(sheets[info.name].gain)} | {info.reference} |"
        )
    for info in ACTIVATIONS:
        image = f"img/activations/{info.name}.png"
        if figures:
            plot_activations([Curve(info.name)], docs_dir / image, derivative=True)
        lines += [
            "",
            f"## {info.name}",
            "",
            info.summary,
            "",
            f"$$f:\\quad {info.formula}$$",
            "",
            f"$$f':\\quad {info.derivative}$$" if info.derivative else "",
            "",
            f"- parameters: {_params(info)}",
            f"- autograd saves: the {info.saves}"
            + (" (acts along `dim`; derivative is a Jacobian)" if info.kind == "vector" else ""),
            f"- reference: {info.reference}",
            "",
            f"![{info.name} and its derivative]({image})",
            "",
            "| property | value |",
            "|---|---|",
        ]
        lines += [f"| {name} | {_cell(value)} |" for name, value, _ in sheets[info.name].rows()]
        findings = sheets[info.name].findings()
        if findings:
            lines += ["", *[f"- {f}" for f in findings]]
    return "\n".join(lines) + "\n"
