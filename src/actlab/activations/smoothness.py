"""How smooth an activation is: jumps of f, f' and f'' at its declared kinks, and a scan for
jumps elsewhere (which would mean a kink is missing from its catalog entry).

At each declared kink k the one-sided limits of f, f' and f'' are taken from the analytic
formulas at k -+ h and k -+ 2h, extrapolated linearly to k (h = 1e-5 max(1, |k|)); a level
jumps there if its two limits differ by more than 1e-6 max(1, |left|, |right|). Smaller jumps
are not counted: softplus switching to x at beta x = threshold (a 2e-9 jump) stays C2+.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from actlab.activations._core import ActivationInfo

__all__ = [
    "LEVELS",
    "derivatives",
    "grid",
    "kink_jumps",
    "one_sided_limits",
    "smoothness",
    "undeclared_jumps",
]

LEVELS = ("discontinuous", "C0", "C1")  # a jump in f, f', f'' makes the function this smooth
KINK_STEP = 1e-5
JUMP_TOL = 1e-6
GRID_HALF_WIDTH, GRID_STEP = 15.0, 1e-3
JUMP_RATIO, JUMP_ABS = 20.0, 1e-6  # the scan: a first difference 20x those two steps away


def grid() -> Tensor:
    """[-15, 15] in steps of 1e-3, float64, with 0 exactly at index ``len // 2``."""
    n = round(GRID_HALF_WIDTH / GRID_STEP)
    return torch.arange(-n, n + 1, dtype=torch.float64) * GRID_STEP


def derivatives(info: ActivationInfo, x: Tensor, p: dict[str, Any]) -> tuple[Tensor, ...]:
    """(f, f', f'') at the points x (float64), from the analytic formulas; f'' of a vector kind
    (no ``d2f``) is a central difference of its analytic f' with step 1e-7."""
    with torch.no_grad():
        f, df = info.scalar(x, **p), info.derivative_of_scalar(x, **p)
        if info.kind == "elementwise" and info.d2f is not None:
            d2f = info.d2f(x, **p)
        else:
            step = 1e-7 * torch.clamp(x.abs(), min=1)
            d2f = (
                info.derivative_of_scalar(x + step, **p) - info.derivative_of_scalar(x - step, **p)
            ) / (2 * step)
    return f, df, d2f


def one_sided_limits(info: ActivationInfo, k: float, p: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """(left, right): the limits of (f, f', f'') at k from below and from above, each [3]."""
    h = KINK_STEP * max(1.0, abs(k))
    x = k + h * torch.tensor([-2.0, -1.0, 1.0, 2.0], dtype=torch.float64)
    v = torch.stack(derivatives(info, x, p))  # [3 levels, 4 points]
    return 2 * v[:, 1] - v[:, 0], 2 * v[:, 2] - v[:, 3]


def kink_jumps(info: ActivationInfo, p: dict[str, Any]) -> dict[float, tuple[str, ...]]:
    """For each declared kink, which of "f", "f'", "f''" jump there."""
    out = {}
    for k in info.kinks(p):
        left, right = one_sided_limits(info, float(k), p)
        tol = JUMP_TOL * torch.clamp(torch.maximum(left.abs(), right.abs()), min=1)
        jumps = ((right - left).abs() > tol).tolist()
        out[float(k)] = tuple(name for name, j in zip(("f", "f'", "f''"), jumps) if j)
    return out


def _spikes(values: Tensor) -> Tensor:
    """Indices i where values[i] -> values[i + 1] jumps: its first difference is 20x both
    differences two steps away (so a jump that lands on a grid point, splitting into two large
    neighbouring differences, is found too), and above 1e-6."""
    d = (values[1:] - values[:-1]).abs()
    pad = torch.nn.functional.pad(d, (2, 2))
    around = torch.maximum(pad[:-4], pad[4:])
    return torch.nonzero((d > JUMP_RATIO * around) & (d > JUMP_ABS)).flatten()


def undeclared_jumps(info: ActivationInfo, p: dict[str, Any]) -> list[tuple[str, float]]:
    """("f" | "f'" | "f''", x) for each jump the grid scan of [-15, 15] (step 1e-3) finds more
    than 3 steps away from every declared kink: empty for a correct catalog entry."""
    x = grid()
    kinks = torch.tensor([float(k) for k in info.kinks(p)], dtype=torch.float64)
    found = []
    for name, values in zip(("f", "f'", "f''"), derivatives(info, x, p)):
        for i in _spikes(values).tolist():
            mid = (x[i] + x[i + 1]) / 2
            if not len(kinks) or float((kinks - mid).abs().min()) > 3 * GRID_STEP:
                found.append((name, round(float(mid), 4)))
    return found


def smoothness(info: ActivationInfo, p: dict[str, Any]) -> str:
    """The smoothness class: "discontinuous", "C0" or "C1" after the lowest of f, f', f''
    that jumps at a declared kink or wherever the scan finds a jump; else "C2+"."""
    jumped = {name for names in kink_jumps(info, p).values() for name in names}
    jumped |= {name for name, _ in undeclared_jumps(info, p)}
    for level, name in zip(LEVELS, ("f", "f'", "f''")):
        if name in jumped:
            return level
    return "C2+"
