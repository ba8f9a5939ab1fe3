"""docs/losses.md, generated from the loss registry (``python -m actlab.report.docs``)."""

from __future__ import annotations

from pathlib import Path

from actlab.losses import LOSSES
from actlab.report._markdown import cell as _cell
from actlab.report._markdown import params_line as _params
from actlab.report.loss_plot import MARGIN_LOSSES, plot_margin_losses

HEADER = """# Loss functions

Generated from the registry by `python -m actlab.report.docs`; do not edit by hand.

Every loss computes **unreduced** values -- one per sample (the class dimension is summed or
averaged away) or one per element (regression, binary logistic) -- from raw scores (logits), and
then applies an explicit `reduction`: `"none"`, `"mean"`, `"sum"` or `"batchmean"` (sum / N).
Its **analytic gradient with respect to the scores** is declared next to the formula and is what
backward uses (one generic autograd function); the tests compare it with autograd through the
formula, with `gradcheck`, and the values with `torch.nn.functional` wherever torch has the loss.

```python
import torch
from actlab.losses import loss, loss_grad, Loss

logits, y = torch.randn(8, 5), torch.randint(0, 5, (8,))
loss(logits, y, "cross_entropy", label_smoothing=0.1)            # mean over the batch
loss(logits, y, "multiclass_hinge", margin=1.0, reduction="none")  # one value per sample
loss_grad(logits, y, "ce")                                          # (softmax - onehot) / N
criterion = Loss("kl_div")                                          # nn.Module shell
```

Logits are never turned into probabilities that are then logged: `log softmax(z) = z -
logsumexp(z)` with the row maximum subtracted first, and `log sigmoid(s) = -softplus(-s)` with an
exact, overflow-free softplus. Scores 1e4 apart give finite losses and gradients in float32.

Bad input -- an unknown name, an out-of-range parameter (negative margin, temperature <= 0, label
smoothing outside [0, 1)), scores and targets whose shapes or dtypes disagree, class indices out
of range -- raises one `ActlabError` line naming the problem.
"""

MARGIN = """## Losses as functions of the margin

For two classes with labels y in {{-1, +1}} and a score f(x), each loss depends only on the margin
t = y f(x). The figure evaluates the catalog entries themselves at score t and label 1 ({curves}).
Every trainable loss is a convex stand-in for the 0-1 loss, which is flat almost everywhere and so
gives no gradient; the hinge is zero once t >= 1, the logistic loss never is, and the squared
loss also punishes margins that are *too* large (t > 1). The logistic loss is drawn in bits
(divided by ln 2, as in Rosasco et al.'s figure), so that it equals 1 at t = 0 and, like the hinge
and the squared loss, lies on or above the 0-1 loss everywhere.

![classification losses against the margin](img/losses_margin.png)

`actlab plot-loss --out margin.png` draws it.
"""


TARGETS = {
    "index": "class indices `(N,)` for scores `(N, C)`",
    "probs": "probabilities shaped like the scores",
    "binary": "labels in [0, 1] shaped like the scores",
    "real": "real values shaped like the scores",
}


def render(docs_dir: Path, *, figures: bool = True) -> str:
    if figures:
        plot_margin_losses(docs_dir / "img" / "losses_margin.png")
    lines = [HEADER, "| name | aliases | task | loss | torch |", "|---|---|---|---|---|"]
    for info in LOSSES:
        aliases = ", ".join(LOSSES.aliases_of(info.name)) or "-"
        torch_name = "yes" if info.torch_fn else "-"
        lines.append(
            f"| [{info.name}](#{info.name}) | {aliases} | {info.task} | "
            f"${_cell(info.formula)}$ | {torch_name} |"
        )
    curves = ", ".join(f"{label}: `{name}`" for label, name in MARGIN_LOSSES)
    lines += ["", MARGIN.format(curves=curves)]
    for info in LOSSES:
        lines += [
            f"## {info.name}",
            "",
            info.summary,
            "",
            f"$$L:\\quad {info.formula}$$",
            "",
            f"$$\\nabla_s L:\\quad {info.gradient}$$",
            "",
            f"- parameters: {_params(info)}",
            f"- targets: {'; or '.join(TARGETS[t] for t in info.targets)}",
            f"- values: one per {info.per}; reductions: "
            + ", ".join(f"`{r}`" for r in info.reductions)
            + f" (default `{info.reduction}`)",
            "- gradient: "
            + ("analytic, used by backward" if info.differentiable else "none -- a metric"),
            "- torch: "
            + ("tested equal to `torch.nn.functional`" if info.torch_fn else "no equivalent")
            + (f" ({info.torch_note})" if info.torch_note else ""),
            f"- reference: {info.reference}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
