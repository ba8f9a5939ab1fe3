"""Properties of an activation, computed from its formula rather than typed in."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab._numerics import format_number as _num
from actlab._numerics import normal_expectation
from actlab.activations._autograd import activate
from actlab.activations._core import ACTIVATIONS, ActivationInfo
from actlab.activations.smoothness import grid, smoothness

__all__ = ["Cost", "Properties", "compute", "gain", "measure_relative_cost", "resolve"]


def resolve(activation: str | ActivationInfo) -> ActivationInfo:
    return activation if isinstance(activation, ActivationInfo) else ACTIVATIONS.get(activation)


def gain(activation: str | ActivationInfo, **params: Any) -> float:
    """The variance-preserving gain ``1 / sqrt(E[f(z)^2])``, z ~ N(0, 1), by quadrature
    (Gauss-Hermite; Gauss-Legendre panels split at the kinks for piecewise functions).

    Scaling weights by it keeps the second moment of pre-activations at 1 from layer to layer
    (He et al. 2015's argument, for any f): ``sqrt(2)`` for ReLU, ``1`` for identity. It differs
    from ``torch.nn.init.calculate_gain``, which uses hand-picked values (5/3 for tanh) and knows
    no GELU, SiLU or Mish.
    """
    info = resolve(activation)
    p = info.bind(params)
    second_moment = normal_expectation(
        lambda z: info.scalar(z, **p) ** 2, breakpoints=info.kinks(p)
    )
    if second_moment <= 0:
        raise ValueError(f"{info.name} is zero on N(0, 1): no variance-preserving gain exists")
    return 1 / math.sqrt(second_moment)


# ---------------------------------------------------------------------------------------------
# The full property sheet.

# Finite extremes are searched on the grid [-15, 15], step 1e-3 (tanh(15) < 1 in float64).
FAR = 1e4  # "far out": where saturation is judged
SATURATED = 1e-6  # |f'| below this far out = saturating side


@dataclass(frozen=True)
class Cost:
    """Forward+backward time per element, float32, relative to ``torch.nn.functional.relu``:
    ``actlab`` for actlab's implementation (through :func:`activate`), ``torch`` for torch's
    built-in ``torch_name`` where torch has the function (``None`` where it has not)."""

    actlab: float
    torch: float | None = None
    torch_name: str | None = None

    def text(self) -> str:
        out = f"actlab's implementation: {_num(self.actlab, digits=3)}x relu"
        if self.torch is not None:
            out += f"; {self.torch_name}: {_num(self.torch, digits=3)}x relu"
        return out


@dataclass(frozen=True)
class Properties:
    """Computed facts about one activation (with its parameters), in float64.

    ``range``: (low, high, low_closed, high_closed); ``monotonic``: "increasing",
    "non-decreasing", "decreasing", "non-increasing" or "no"; ``saturates``: per side
    "hard" (f' = 0 on a half-line), "soft" (f' -> 0) or "no"; ``dead``: intervals where f' = 0;
    ``smoothness``: "discontinuous", "C0", "C1" or "C2+"; ``mean``: E[f(z)], z ~ N(0, 1);
    ``gain``: 1 / sqrt(E[f(z)^2]); ``cost``: the measured :class:`Cost` (None unless measured).
    Numbers are shown by :func:`actlab._numerics.format_number`: 4 significant digits (6 for the
    gain), and a mean below 1e-12 rms (quadrature noise) as 0.
    """

    name: str
    params: dict[str, Any]
    range: tuple[float, float, bool, bool]
    monotonic: str
    zero_centred: bool
    mean: float
    rms: float
    saturates: tuple[str, str]
    dead: tuple[tuple[float, float], ...]
    smoothness: str
    f0: float
    df0: float
    max_abs_df: float
    gain: float
    cost: Cost | None = None

    def findings(self) -> list[str]:
        """The textbook pros and cons, as consequences of the numbers above."""
        out = []
        left, right = self.saturates
        if "soft" in (left, right) or ("hard" in (left, right) and self.range_bounded_side()):
            sides = [s for s, v in zip(("left", "right"), (left, right)) if v != "no"]
            out.append(
                f"saturates ({' and '.join(sides)}): f' -> 0 for large |x|, so gradients "
                "vanish when pre-activations grow"
            )
        if self.dead:
            spans = ", ".join(_interval(a, b) for a, b in self.dead)
            out.append(f"dead region {spans}: f' = 0 there, units stuck in it stop learning")
        if not self.zero_centred:
            out.append(
                f"not zero-centred: E[f(z)] = {_num(self.mean, scale=self.rms)} for z ~ N(0,1), "
                "so the next layer's weight gradients share a sign"
            )
        if self.max_abs_df < 0.5:
            out.append(
                f"max |f'| = {_num(self.max_abs_df)} < 1: each layer shrinks backpropagated "
                "gradients (vanishing gradients in deep stacks)"
            )
        if self.max_abs_df == 0:
            out.append("no useful gradient: f' = 0 almost everywhere")
        if self.cost is not None:
            # judge the function by torch's built-in where it exists, not by actlab's composition
            cost, who = self.cost.actlab, "actlab's implementation"
            if self.cost.torch is not None:
                cost, who = self.cost.torch, self.cost.torch_name
            if cost > 2:
                out.append(f"expensive: {who} takes {_num(cost, digits=2)}x the time of relu")
        return out

    def rows(self) -> list[tuple[str, str, str]]:
        """(property, value, how it is computed): the table ``actlab inspect`` and the docs show."""
        lo, hi, lo_closed, hi_closed = self.range
        rng = f"{'[' if lo_closed else '('}{_num(lo)}, {_num(hi)}{']' if hi_closed else ')'}"
        dead = ", ".join(_interval(a, b) for a, b in self.dead)
        mean = _num(self.mean, scale=self.rms)
        rows = [
            ("output range", rng, "f on [-15, 15] and its limits at +-inf"),
            ("monotonic", self.monotonic, "sign of f(x+h) - f(x) on the grid"),
            (
                "zero-centred",
                f"{'yes' if self.zero_centred else 'no'} (E[f(z)] = {mean})",
                "quadrature, z ~ N(0,1); yes if |mean| <= 0.1 rms; 0 if below 1e-12 rms",
            ),
            (
                "saturates (left, right)",
                f"{self.saturates[0]}, {self.saturates[1]}",
                "hard: f' = 0 far out; soft: |f'(+-1e4)| < 1e-6",
            ),
            ("dead region (f' = 0)", dead or "none", "where the analytic f' is exactly 0"),
            (
                "smoothness",
                self.smoothness,
                "one-sided limits of f, f', f'' at the kinks; scan of a 1e-3 grid",
            ),
            ("f(0)", _num(self.f0), "analytic"),
            ("f'(0)", _num(self.df0), "analytic derivative (kink convention as PyTorch)"),
            ("max |f'|", _num(self.max_abs_df), "over the grid and at +-1e4"),
            ("gain 1/sqrt(E[f(z)^2])", _num(self.gain, digits=6), "variance-preserving init"),
        ]
        if self.cost is not None:
            rows.append(
                (
                    "cost (fwd+bwd vs relu)",
                    self.cost.text(),
                    "float32 vs torch.nn.functional.relu, timed alternately on this machine",
                )
            )
        return rows

    def range_bounded_side(self) -> bool:
        return math.isfinite(self.range[0]) or math.isfinite(self.range[1])


def _interval(a: float, b: float) -> str:
    left = "(-inf" if a == -math.inf else f"[{_num(a)}"
    right = "inf)" if b == math.inf else f"{_num(b)}]"
    return f"{left}, {right}"


def compute(
    activation: str | ActivationInfo, *, measure_cost: bool = False, **params: Any
) -> Properties:
    """Compute every property of ``activation`` with ``params`` (see :class:`Properties`)."""
    info = resolve(activation)
    p = info.bind(params)
    x = grid()
    n = len(x) // 2  # x[n] is exactly 0
    with torch.no_grad():
        f = info.scalar(x, **p)
        df = info.derivative_of_scalar(x, **p)
        tails = torch.tensor([-math.inf, -FAR, FAR, math.inf], dtype=torch.float64)
        f_tails = info.scalar(tails, **p)
        df_far = info.derivative_of_scalar(tails[1:3], **p)
    kinks = info.kinks(p)
    mean = normal_expectation(lambda z: info.scalar(z, **p), breakpoints=kinks)
    second = normal_expectation(lambda z: info.scalar(z, **p) ** 2, breakpoints=kinks)
    rms = math.sqrt(second)
    return Properties(
        name=info.name,
        params=p,
        range=_range(f, f_tails),
        monotonic=_monotonic(f),
        zero_centred=abs(mean) <= 0.1 * rms,
        mean=mean,
        rms=rms,
        saturates=(_saturation(df, df_far[0], left=True), _saturation(df, df_far[1], left=False)),
        dead=_dead_intervals(x, df),
        smoothness=smoothness(info, p),
        f0=float(f[n]),
        df0=float(df[n]),
        max_abs_df=float(torch.cat([df.abs(), df_far.abs()]).max()),
        gain=1 / rms if rms > 0 else math.inf,
        cost=measure_relative_cost(info, **p) if measure_cost else None,
    )


def _range(f: Tensor, f_tails: Tensor) -> tuple[float, float, bool, bool]:
    lo_grid, hi_grid = float(f.min()), float(f.max())
    limits = [float(v) for v in f_tails if not math.isnan(v)]
    lo, hi = min([lo_grid, *limits]), max([hi_grid, *limits])
    # a bound is attained (closed) if some finite x reaches it; else only a limit reaches it
    return lo, hi, lo == lo_grid and math.isfinite(lo), hi == hi_grid and math.isfinite(hi)


def _monotonic(f: Tensor) -> str:
    diff = f[1:] - f[:-1]
    tol = 1e-12 * (1 + f.abs().max())
    if bool((diff >= -tol).all()):
        return "increasing" if bool((diff > 0).all()) else "non-decreasing"
    if bool((diff <= tol).all()):
        return "decreasing" if bool((diff < 0).all()) else "non-increasing"
    return "no"


def _saturation(df: Tensor, df_far: Tensor, *, left: bool) -> str:
    edge = float(df[0] if left else df[-1])  # f' at x = -15 or +15
    if edge == 0 and float(df_far) == 0:
        return "hard"
    return "soft" if abs(float(df_far)) < SATURATED else "no"


def _dead_intervals(x: Tensor, df: Tensor) -> tuple[tuple[float, float], ...]:
    zero = (df == 0).tolist()
    spans, start = [], None
    for i, z in enumerate([*zero, False]):
        if z and start is None:
            start = i
        elif not z and start is not None:
            if i - start >= 2:
                a = -math.inf if start == 0 else round(float(x[start]), 3)
                b = math.inf if i == len(zero) else round(float(x[i - 1]), 3)
                spans.append((a, b))
            start = None
    return tuple(spans)


def measure_relative_cost(
    activation: str | ActivationInfo, *, elements: int = 1 << 20, repeats: int = 9, **params: Any
) -> Cost:
    """Forward+backward time per element, float32, on this machine, of actlab's implementation
    (through :func:`activate`) and of torch's built-in where the entry names one, each relative
    to ``torch.nn.functional.relu``. All are timed alternately in one loop and the fastest of
    the ``repeats`` rounds compared: the round least disturbed by other processes (medians swing
    tenfold on a loaded machine)."""
    info = resolve(activation)
    p = info.bind(params)
    width = 256 * int(p.get("pieces", 1))
    x = torch.randn(max(elements // width, 1), width).requires_grad_(True)
    runs = {"actlab": lambda: activate(x, info, **p), "relu": lambda: F.relu(x)}
    if info.torch_fn is not None:
        runs["torch"] = lambda: info.torch_fn(x, **p)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for i in range(repeats + 1):
        for key, run in runs.items():
            elapsed = _time_once(run, x)
            if i:  # the first round warms up every function
                times[key].append(elapsed)
    best = {k: min(v) for k, v in times.items()}
    return Cost(
        actlab=best["actlab"] / best["relu"],
        torch=best["torch"] / best["relu"] if "torch" in best else None,
        torch_name=_torch_name(info) if "torch" in best else None,
    )


def _torch_name(info: ActivationInfo) -> str:
    fn = info.torch_fn
    if fn.__name__ != "<lambda>":
        return f"{fn.__module__ or 'torch'}.{fn.__name__}"
    return f"torch.nn.functional.{info.name}" if hasattr(F, info.name) else "torch"


def _time_once(run: Any, x: Tensor) -> float:
    start = time.perf_counter()
    y = run()
    y.backward(torch.ones_like(y))
    elapsed = time.perf_counter() - start
    x.grad = None
    return elapsed
