"""docs/initializers.md, generated from the initializer registry (`actlab.report.docs`)."""

from __future__ import annotations

from pathlib import Path

from actlab.init import INITIALIZERS
from actlab.report._markdown import params_line as _params

HEADER = """# Weight initializers

Generated from the registry by `python -m actlab.report.docs`; do not edit by hand.

```python
from torch import nn
import actlab.init

model = nn.Sequential(nn.Linear(784, 256), nn.GELU(), nn.Linear(256, 10))
actlab.init.init_(model, "auto", activation="gelu")   # every Linear / Conv layer; biases 0
actlab.init.init_(model, "kaiming_normal", mode="fan_out")
```

One general `variance_scaling_` draws zero-mean weights with Var(W) = scale / n, n the fan-in,
fan-out or their average; **Xavier/Glorot, He/Kaiming, LeCun, PyTorch's Linear default and
`auto` are configurations of it**. `auto` computes the scale from the activation itself, as
1 / E[f(z)^2] for z ~ N(0, 1) (the activation's gain squared), so it fits every catalog
activation -- including GELU, SiLU, Mish and ELU, for which `torch.nn.init.calculate_gain` has
no value. Names, parameters and defaults follow `torch.nn.init` (`kaiming_normal` is an alias of
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
    return f"{label}{fan_in * var:.4g}" + (f" (mean {mean:g})" if mean else "")


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
    return "\n".join(lines).rstrip() + "\n"
