"""docs/optimizers.md, generated from the optimizer registry (``python -m actlab.report.docs``)."""

from __future__ import annotations

from pathlib import Path

from actlab.optim import CONVENTIONS, OPTIMIZERS
from actlab.optim.race import DEFAULT_OPTIMIZERS, TUNE_GRID, RaceConfig, run
from actlab.optim.surfaces import SURFACES
from actlab.report._markdown import cell as _cell

HEADER = """# Optimizers

Generated from the registry by `python -m actlab.report.docs`; do not edit by hand.

Every update rule is a pair of **pure functions** over one parameter tensor (or one flat buffer):
`init(param, **hparams) -> state` and `update(grad, state, param, **hparams) -> (updates, state)`,
chained from small transforms (`count -> [L2 decay] -> core rule -> [decoupled decay]`). One thin
`torch.optim.Optimizer` shell runs any of them, with param groups, LR schedulers that edit
`param_groups`, `state_dict`/`load_state_dict` and closures. State entries carry `torch.optim`'s
names (`exp_avg`, `exp_avg_sq`, `momentum_buffer`, `sum`, `square_avg`, `acc_delta`, ...) plus a
float64 `step`, so bias corrections are computed in double precision as torch does.

```python
import torch
from actlab import optim

model = torch.nn.Linear(10, 1)
opt = optim.create("adadelta", model.parameters())          # or optim.Adadelta(...)
opt = optim.Adam(model.parameters(), lr=1e-3, convention="keras")
optim.inspect(opt)   # per tensor: effective learning rate and internal factors of the next step

# the pure functions, for code that steps stacked [K, ...] weights itself:
t, h = optim.functional("adam", lr=torch.tensor([1e-3, 3e-3]).view(2, 1, 1))
state = t.init(w, **h)
updates, state = t.update(w_grad, state, w, **h)   # w <- w + updates
```

Every numeric hyperparameter (`lr`, `betas`, `eps`, `momentum`, `weight_decay`, ...) may be a
Python float or a tensor broadcastable to the parameter (`lr` of shape `[K, 1, 1]` for `K` stacked
`[out, in]` weights): the update functions never branch on hyperparameter *values*, only on
structural options (`nesterov`, `centered`, `amsgrad` and the convention switches). The tests check
that one update of `K` stacked members equals `K` separate updates.

Hyperparameter names and defaults follow `torch.optim` wherever torch has the algorithm; the
parity tests run each against torch for 100 steps on a small MLP in float64 (also with weight
decay, with an LR scheduler and across a `state_dict` save/load) and require parameters and every
state tensor to agree to 1e-10. `momentum` and `nag` default to momentum 0.9 (torch's SGD: 0).

**Batch, stochastic and mini-batch gradient descent** are one update rule, `sgd`. They differ only
in how many examples the gradient averages over: all of them (batch), one (stochastic) or `N`
(mini-batch). The study engine exposes this as `batch_size = full | 1 | N`; `actlab race --noise`
imitates it on test surfaces by adding Gaussian noise to the exact gradient.
"""

NONFINITE = """## Non-finite gradients

Before changing anything, `step()` checks that every gradient of every group is finite. If one is
not, **no parameter and no state tensor changes**. With `on_nonfinite="raise"` (the default) the
step raises `NonFiniteGradientError` (a `FloatingPointError`) naming the tensor
(`param_groups[g]['params'][i]`); with `on_nonfinite="skip"` the step is skipped and counted in
`optimizer.skipped_steps`. A NaN never silently enters the moment estimates, from which no later
step could recover. (The race and the batched trainer freeze a member whose values stop being
finite and mark it as diverged.)
"""

INTROSPECTION = """## Introspection

`actlab.optim.inspect(optimizer)` reports, for each parameter tensor with a gradient, what the
*next* `step()` would do -- computed with the pure update, so nothing changes:

- the **effective learning rate**: the median over coordinates with non-zero gradient of
  `|update| / |grad|`, the step applied per unit of gradient. For `sgd` it is `lr`; for AdaGrad it
  is `lr / sqrt(sum of g^2)` and only shrinks -- towards zero on long runs, which is why AdaGrad
  stalls (the tests check `lr / sqrt(t)` for a constant gradient);
- the **internal factors** listed per optimizer below: bias corrections `1 - beta^t`, RAdam's
  `rho_t`, `rectified` and rectification `r_t`, NAdam's momentum schedule `mu_t`, `mu_{t+1}` and
  their product, AdaGrad's learning-rate decay factor.
"""


def _value(v) -> str:
    return f"`{v!r}`"


def _summary_table() -> list[str]:
    lines = [
        "| name | aliases | class | torch equivalent | lr | reference |",
        "|---|---|---|---|---|---|",
    ]
    for info in OPTIMIZERS:
        aliases = ", ".join(OPTIMIZERS.aliases_of(info.name)) or "-"
        torch_eq = f"`{info.torch_equivalent}`" if info.torch_equivalent else "- (not in torch)"
        lines.append(
            f"| [{info.name}](#{info.name}) | {aliases} | `{info.class_name}` | {torch_eq} | "
            f"{info.defaults['lr']:g} | {info.reference} |"
        )
    return lines


def _entry(info) -> list[str]:
    lines = ["", f"### {info.name}", "", info.summary, ""]
    for row in info.formula.split(r" \\ "):
        lines += [f"$${row}$$", ""]
    lines += ["| hyperparameter | default | valid range | meaning |", "|---|---|---|---|"]
    for p in info.params:
        lines.append(f"| `{p.name}` | {_value(p.default)} | {_cell(p.range_text())} | {p.doc} |")
    if info.factors:
        lines += ["", f"Introspection factors: {', '.join(f'`{f}`' for f in info.factors)}."]
    lines += ["", f"Reference: {info.reference}."]
    return lines


def _convention_table() -> list[str]:
    lines = [
        "| optimizer | hyperparameter | torch (default) | keras |",
        "|---|---|---|---|",
    ]
    for info in OPTIMIZERS:
        torch_values = info.resolve(convention="torch")
        for name, value in info.presets.get("keras", {}).items():
            if torch_values[name] != value:
                lines.append(
                    f"| {info.name} | `{name}` | {_value(torch_values[name])} | {_value(value)} |"
                )
    return lines


CONVENTIONS_TEXT = """## Conventions

Frameworks write the same algorithms with small differences. Each difference is an **option** of
the one implementation, never a copy of it:

{options}

`convention="torch"` (the default) gives torch's documented defaults and formulas;
`convention="keras"` gives Keras 3's: epsilon 1e-7, Adam's epsilon-hat, epsilon inside the root
for RMSprop and Adagrad, Adagrad accumulator 0.1, Adadelta rho 0.95, RMSprop rho 0.9, decoupled
weight decay (AdamW 0.004), velocity-form momentum, learning rate 0.001 (SGD: 0.01), and NAdam's
momentum schedule `0.96^t` (torch: `0.96^(0.004 t)`, i.e. `momentum_decay = 1`). A value you pass
explicitly wins over the preset: `convention="keras", eps=1e-8` keeps Keras's formulas with your
epsilon. The tests pin three steps of every Keras preset against numbers computed from Keras's
`update_step` formulas. Every difference between the two presets:
"""


OPTIONS = (
    (
        "eps_inside",
        "epsilon inside the square root, sqrt(v + eps), instead of sqrt(v) + eps (Adamax: "
        "inside the max, max(b2 u, abs(g) + eps))",
        "outside (Adamax: inside)",
        "inside for RMSprop, Adagrad (Adamax: outside)",
    ),
    (
        "eps_hat",
        "epsilon added before the bias correction, lr sqrt(1-b2^t)/(1-b1^t) m/(sqrt(v) + eps) "
        "(Kingma & Ba's epsilon-hat)",
        "after (RAdam: before)",
        "before (Adam, AdamW, AMSGrad)",
    ),
    (
        "lr_in_buffer",
        "learning rate inside the momentum buffer, b = mu b + lr g; p -= b (Sutskever) instead "
        "of b = mu b + g; p -= lr b; the two differ once lr changes",
        "outside",
        "inside (SGD velocity, RMSprop momentum)",
    ),
    (
        "first_buffer",
        "first momentum buffer b_1 = g (torch; dampening skipped) or b_0 = 0",
        '"grad"',
        '"zero"',
    ),
    (
        "decoupled_weight_decay",
        "p -= lr wd p outside the adaptive scaling (AdamW) instead of L2 in the gradient",
        "L2 (AdamW, Lion: decoupled)",
        "decoupled for every optimizer",
    ),
    ("initial_accumulator_value", "AdaGrad's starting sum of squared gradients", "0", "0.1"),
)


def _options_table() -> str:
    rows = ["| option | meaning | torch | keras |", "|---|---|---|---|"]
    rows += [f"| `{name}` | {meaning} | {t} | {k} |" for name, meaning, t, k in OPTIONS]
    return "\n".join(rows)


def _surfaces_table() -> list[str]:
    lines = [
        "| surface | formula | start | minimum | target loss | steps | |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SURFACES:
        minima = ", ".join(f"({x:g}, {y:g})" for x, y in s.minima)
        lines.append(
            f"| {s.name} | ${s.formula}$ | ({s.start[0]:g}, {s.start[1]:g}) | {minima} | "
            f"{s.target:g} | {s.steps} | {s.summary} |"
        )
    return lines


def _convergence_table() -> list[str]:
    q, r = SURFACES.get("quadratic"), SURFACES.get("rosenbrock")
    lines = [
        "",
        "## Convergence checks",
        "",
        f"The test suite runs every optimizer (weight decay off) on the quadratic from "
        f"({q.start[0]:g}, {q.start[1]:g}) and on Rosenbrock from ({r.start[0]:g}, "
        f"{r.start[1]:g}) with these learning rates and step budgets, and requires the whole "
        f"last 10% of the path to lie within {q.converge_tol:g} (quadratic) and "
        f"{r.converge_tol:g} (Rosenbrock) of the minimum.",
        "",
        "| optimizer | quadratic: lr | steps | rosenbrock: lr | steps |",
        "|---|---|---|---|---|",
    ]
    for info in OPTIMIZERS:
        (ql, qs), (rl, rs) = info.convergence["quadratic"], info.convergence["rosenbrock"]
        lines.append(f"| {info.name} | {ql:g} | {qs} | {rl:g} | {rs} |")
    return lines


def _race(docs_dir: Path, figures: bool) -> list[str]:
    image = "img/optimizers_race_beale.png"
    if figures:
        from actlab.report.race import render as render_race

        render_race(run(RaceConfig("beale")), docs_dir / image)
    return [
        "",
        "## Races on test surfaces",
        "",
        "`actlab race --surface NAME --optimizers a,b,c --out race.gif` runs every optimizer from "
        "the same start over the surface's contour plot (minimum marked) and tabulates the steps "
        "to reach the target loss and the final loss. A learning rate given with `--lr "
        "NAME=VALUE` is used as given; every other optimizer's rate is tuned by default on the "
        f"log grid {TUNE_GRID[0]:g} ... {TUNE_GRID[-1]:.3g} (four per decade): the rate whose loss "
        "reaches the target soonest and stays there, then the lowest final loss. The title says "
        "which rates were tuned; `--no-tune` races the catalog defaults. There is no gradient "
        "clipping; a path that stops "
        "being finite is frozen and marked diverged. `--noise SIGMA` adds Gaussian noise to each "
        "gradient (stochastic gradients), reproducible with `--seed`.",
        "",
        *_surfaces_table(),
        "",
        f"The default race, `actlab race --surface beale --optimizers "
        f"{','.join(DEFAULT_OPTIMIZERS)}`, at tuned rates: momentum and Nesterov accelerate "
        "along the curved valley and reach the target in fewer steps than plain gradient "
        "descent; AdaGrad takes one large first step and ever smaller ones after it, because its "
        "effective rate shrinks with the sum of all past squared gradients.",
        "",
        f"![race on the Beale function]({image})",
    ]


def render(docs_dir: Path, *, figures: bool = True) -> str:
    lines = [HEADER, "## Catalog", "", *_summary_table(), "", "## Update rules"]
    lines += [
        "",
        "Notation: $g_t$ the gradient (plus $\\lambda \\theta_{t-1}$ with L2 weight decay), "
        "$\\eta$ the learning rate, $\\lambda$ the weight decay, $\\mu$ momentum, $\\tau$ "
        "dampening. Formulas are the `torch` convention.",
    ]
    for info in OPTIMIZERS:
        lines += _entry(info)
    lines += ["", CONVENTIONS_TEXT.format(options=_options_table()), *_convention_table()]
    lines += [
        "",
        f"Conventions: {', '.join(f'`{c}`' for c in CONVENTIONS)}. RAdam is not part of Keras 3; "
        "its `keras` preset only applies the shared conventions.",
        "",
        NONFINITE,
        INTROSPECTION,
    ]
    lines += _convergence_table()
    lines += _race(docs_dir, figures)
    return "\n".join(lines) + "\n"
