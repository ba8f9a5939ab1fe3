"""docs/initializers.md, generated from the initializer registry (`actlab.report.docs`)."""

from __future__ import annotations

from pathlib import Path

from actlab._numerics import format_number, format_span
from actlab.activations import ACTIVATIONS
from actlab.init import INITIALIZERS, auto_choice
from actlab.report._markdown import params_line as _params

HEADER = """# Weight initializers

Generated from the registry by `python -m actlab.report.docs`; do not edit by hand.

```python
from torch import nn
import actlab.init

model = nn.Sequential(nn.Linear(784, 256), nn.GELU(), nn.Linear(256, 10))
actlab.init.init_(model, "auto", activation="gelu")   # every Linear / Conv layer
actlab.init.init_(model, "kaiming_normal", mode="fan_out")
```

One general `variance_scaling_` draws zero-mean weights with Var(W) = scale / n, n the fan-in,
fan-out or their average; **Xavier/Glorot, He/Kaiming, LeCun, PyTorch's Linear default and
`auto` are configurations of it**. `auto` computes its weight and bias variances from the
activation itself with mean-field theory, so that the signal and the gradients keep their size
through depth -- for every elementwise catalog activation, including GELU, SiLU, Mish and ELU,
for which `torch.nn.init.calculate_gain` has no value ([what it chooses](#what-auto-chooses)).
Names, parameters and defaults follow `torch.nn.init` (`kaiming_normal` is an alias of
`he_normal`, `mode="fan_in"`, `nonlinearity="leaky_relu"`, `a=0`), and the draws equal torch's
for the same `torch.Generator`.

Fans follow torch's convention: a Linear weight is (out, in); a Conv weight (out, in/groups,
*kernel) has fan_in = in/groups x kernel size. Every entry declares the mean and variance its
formula implies; the tests compare them with samples.

**Zeros and constants fail.** Every hidden unit of a layer then computes the same function and
receives the same gradient, so the units stay identical through training -- the layer acts as a
single unit. With zeros and a zero-centred activation no weight moves at all. The tests train
such networks to show it.

What the variance does to a deep network -- vanishing or exploding signals and gradients, and the
critical variance between them -- is measured against mean-field theory by
`actlab depth-probe --activation relu --init xavier_normal --init he_normal --depth 30`.
"""


def _variance(info, fan_in: int = 512, fan_out: int = 256) -> str:
    """sigma_w^2 = fan_in * Var(W) for a 256 x 512 layer, where the entry needs no activation."""
    if info.uses_activation:
        p = info.bind({"activation": "relu"})
        label = "relu: "
    else:
        p, label = info.bind({}), ""
    mean, var = info.moments((fan_out, fan_in), **p)
    shown_mean = format_number(mean, scale=var**0.5)
    return f"{label}{format_number(fan_in * var)}" + (
        f" (mean {shown_mean})" if shown_mean != "0" else ""
    )


def render(docs_dir: Path, *, figures: bool = True) -> str:
    lines = [
        HEADER,
        "| name | aliases | distribution and variance | fan_in x Var(W), 256x512 layer |",
        "|---|---|---|---|",
    ]
    for info in INITIALIZERS:
        aliases = ", ".join(INITIALIZERS.aliases_of(info.name)) or "-"
        lines.append(
            f"| [{info.name}](#{info.name}) | {aliases} | ${info.formula}$ | {_variance(info)} |"
        )
    for info in INITIALIZERS:
        lines += [
            "",
            f"## {info.name}",
            "",
            info.summary,
            "",
            f"$${info.formula}$$",
            "",
            f"- parameters: {_params(info)}",
            "- torch: "
            + ("equal to `torch.nn.init` for the same generator" if info.torch_fn else "-"),
            f"- reference: {info.reference}",
        ]
    lines += _auto_table()
    return "\n".join(lines).rstrip() + "\n"


AUTO = """
## What auto chooses

`auto` draws W ~ N(0, sigma_w^2 / n_in) and b ~ N(0, sigma_b^2) (zeros where sigma_b^2 = 0).
Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017) maps a layer's pre-activation
variance by V(q) = sigma_w^2 E[f(h)^2] + sigma_b^2 and multiplies squared gradients by
chi(q) = sigma_w^2 E[f'(h)^2], h ~ N(0, q). For each candidate fixed point q* near 1 (a log grid
over [1/8, 8]: the pre-activations' standard deviation within a factor sqrt(8) of 1), `auto`
takes the sigma_w^2 that brings chi(q*) closest to 1 while sigma_b^2 >= 0 and the fixed point
attracts (V'(q*) <= 0.98, or a wider margin 0.9, 0.75, 0.5; <= 1 where V is linear) and pulls
back every variance within a factor 2 of it (finite width makes the variance wander); it predicts
each candidate's network layer by layer from unit-variance inputs and keeps the q* nearest 1
whose activation RMS (relative to
layer 1) and backward gradient (relative to layer 50) stay within [0.8, 1.25] over 50 layers;
else the candidate within [1/2, 2] that strays least; else, where no candidate holds, the q*
nearest 1, and the table says that depth cannot be held.
`actlab.init.auto_choice(name)` returns the record;
`actlab inspect NAME` prints it.

Theory's ranges over 50 layers below are at infinite width. A width-512 network adds its own
fluctuations: He-initialized ReLU measures activation RMS 0.53..1.26 of layer 1 and gradients
0.83..1.28 of layer 50 over seeds 0-3 (50 layers, batch 128), so the tests check every
activation whose record holds against the measured bound [1/3, 3] (seed 0). Measured with
`actlab depth-probe --init auto --depth 50 --batch 128` (seed 0): GELU's activation RMS stays
within 0.87..1.4 of layer 1 and its gradient within 0.45..1 (the previous `auto`,
sigma_w^2 = 1/E[f(z)^2], which made q = 1 an unstable fixed point: RMS 1..36, gradient 1..62);
tanh 0.86..1 and 0.73..1 (previously gradients growing to 47x: chi(q*) > 1).
Where no choice holds, the table says so: binary_step passes no gradient (f' = 0 almost
everywhere). Sigmoid's slope is at most 1/4 (hardsigmoid's 1/6), so near q* = 1 each layer keeps
only chi = 0.15 (0.10) of the squared gradient; chi = 1 exists only at q* of about 54, where most
units sit in the flat tails -- `auto` does not go there, and a deep sigmoid network needs another
activation, not another init. For softplus (and logsigmoid, softplus mirrored) chi = 1 would make
the fixed point unstable (V' > 1) at every q* near 1, and the stable choices lose gradient; SiLU
and hardswish reach chi near 1 only at a q* beyond 8, and tanhshrink's stable fixed points near
V' = 1 attract only within a sliver, which a finite-width network leaves within a few layers.
Vector activations (softmax, log_softmax, maxout) are outside the theory; `auto` keeps their
variance-preserving gain 1/E[f(z)^2] and zero biases.
"""


def _auto_table() -> list[str]:
    """One row per elementwise activation: auto's choice and what theory says it keeps."""
    lines = [
        AUTO,
        "| activation | sigma_w^2 | sigma_b^2 | q* | chi(q*) | V'(q*) | signal, 50 layers "
        "| gradient, 50 layers | keeps both in [1/2, 2] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for info in ACTIVATIONS:
        if info.kind != "elementwise":
            continue
        c = auto_choice(info.name)
        cells = [
            format_number(c.sigma_w2, digits=3),
            format_number(c.sigma_b2, scale=c.q_star, digits=3),
            format_number(c.q_star, digits=3),
            format_number(c.chi_star, digits=3),
            format_number(c.slope, digits=3),
            format_span(c.signal),
            format_span(c.gradient),
            "yes"
            if c.holds
            else "**no**" + (": f' = 0 almost everywhere" if c.chi_star == 0 else ""),
        ]
        lines.append(f"| {info.name} | " + " | ".join(cells) + " |")
    return lines
