"""Pure gradient transforms and how they chain.

A :class:`Transform` is two pure functions over one parameter tensor (or one flat buffer):

* ``init(param, **hparams) -> state`` -- a dict of tensors, named as ``torch.optim`` names them
  (``exp_avg``, ``momentum_buffer``, ``sum``, ...), and
* ``update(grad, state, param, **hparams) -> (updates, state)`` -- ``updates`` is what to *add*
  to the parameter; the input state is never modified, a new dict comes back.

Every numeric hyperparameter (``lr``, ``betas``, ``eps``, ``momentum``, ``weight_decay``, ...) may
be a Python float or a tensor that broadcasts against the parameter (``lr`` of shape ``[K, 1, 1]``
for ``K`` stacked ``[out, in]`` weights), so nothing branches on their *values*; only structural
options (``nesterov``, ``centered``, the convention switches) choose code paths, when a transform
is built. The step counter is a float64 scalar tensor so that bias corrections are computed in
double precision, as ``torch.optim`` does with Python floats.

>>> import torch
>>> t = chain(count(), scale_by_lr())
>>> p, g = torch.ones(2), torch.tensor([1.0, -2.0])
>>> u, s = t.update(g, t.init(p), p, lr=0.1)
>>> u.tolist(), s["step"].item()
([-0.10000000149011612, 0.20000000298023224], 1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "State",
    "Transform",
    "chain",
    "count",
    "decoupled_weight_decay",
    "is_zero",
    "l2_weight_decay",
    "numbers",
    "root",
    "scale_by_lr",
    "with_weight_decay",
]

State = dict[str, Tensor]
Scalar = float | Tensor


def _no_state(param: Tensor, **_: Any) -> State:
    return {}


def _no_factors(state: State, **_: Any) -> dict[str, Tensor]:
    return {}


@dataclass(frozen=True)
class Transform:
    """``init``/``update`` pure functions, plus ``factors``: the internal scalars of the last
    update (bias corrections, rectification, ...) computed from the state it returned."""

    init: Callable[..., State] = _no_state
    update: Callable[..., tuple[Tensor, State]] = lambda g, s, p, **_: (g, {})
    factors: Callable[..., dict[str, Tensor]] = _no_factors


def chain(*transforms: Transform) -> Transform:
    """Run transforms in order: each one's ``updates`` is the next one's ``grad``.

    The states are merged into one flat dict (names must not clash), so a later transform can
    read what an earlier one wrote this step -- e.g. the ``step`` that :func:`count` increments.
    """

    def init(param: Tensor, **h: Any) -> State:
        state: State = {}
        for t in transforms:
            state.update(t.init(param, **h))
        return state

    def update(grad: Tensor, state: State, param: Tensor, **h: Any) -> tuple[Tensor, State]:
        state = dict(state)
        for t in transforms:
            grad, new = t.update(grad, state, param, **h)
            state.update(new)
        return grad, state

    def factors(state: State, **h: Any) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for t in transforms:
            out.update(t.factors(state, **h))
        return out

    return Transform(init, update, factors)


def count() -> Transform:
    """``step <- step + 1`` (a float64 scalar tensor; the first update sees ``step = 1``)."""

    def init(param: Tensor, **_: Any) -> State:
        return {"step": torch.zeros((), dtype=torch.float64)}

    def update(grad: Tensor, state: State, param: Tensor, **_: Any) -> tuple[Tensor, State]:
        return grad, {"step": state["step"] + 1}

    return Transform(init, update)


def scale_by_lr() -> Transform:
    """``u = -lr * g``: plain gradient descent."""

    def update(g: Tensor, state: State, p: Tensor, *, lr: Scalar, **_: Any) -> tuple[Tensor, State]:
        return -lr * g, {}

    return Transform(update=update)


def is_zero(value: Scalar) -> bool:
    """Whether ``value`` is the number 0, so that a term it scales can be skipped (a tensor of
    per-member values never is: nothing branches on tensor values)."""
    return isinstance(value, int | float) and value == 0


def l2_weight_decay() -> Transform:
    """``g <- g + weight_decay * p``: L2 regularization folded into the gradient (``torch.optim``
    default), so adaptive methods rescale the decay along with the gradient.

    With ``weight_decay`` the number 0 the gradient passes unchanged, as in ``torch.optim``:
    adding ``0 * p`` costs two passes over the parameters and changes nothing but the sign of a
    ``-0.0`` gradient (and turns a non-finite parameter's gradient into NaN)."""

    def update(
        g: Tensor, state: State, p: Tensor, *, weight_decay: Scalar = 0.0, **_: Any
    ) -> tuple[Tensor, State]:
        return (g if is_zero(weight_decay) else g + weight_decay * p), {}

    return Transform(update=update)


def decoupled_weight_decay() -> Transform:
    """``u <- u - lr * weight_decay * p``: decay applied to the weights directly, outside the
    adaptive scaling (Loshchilov & Hutter 2019; AdamW, Lion and every Keras optimizer). Skipped
    when ``weight_decay`` is the number 0, as :func:`l2_weight_decay` is."""

    def update(
        u: Tensor, state: State, p: Tensor, *, lr: Scalar, weight_decay: Scalar = 0.0, **_: Any
    ) -> tuple[Tensor, State]:
        return (u if is_zero(weight_decay) else u - lr * weight_decay * p), {}

    return Transform(update=update)


def with_weight_decay(core: Transform, *, decoupled: bool) -> Transform:
    """``count -> [L2 decay] -> core -> [decoupled decay]``: the frame every optimizer shares."""
    if decoupled:
        return chain(count(), core, decoupled_weight_decay())
    return chain(count(), l2_weight_decay(), core)


def root(x: Tensor, eps: Scalar, *, inside: bool) -> Tensor:
    """``sqrt(x + eps)`` if ``inside`` else ``sqrt(x) + eps`` -- the one place epsilon's position in
    a denominator is decided (torch adds it outside, Keras inside for RMSprop and Adagrad)."""
    if isinstance(eps, Tensor) and eps.dim() > 0:
        return torch.sqrt(x + eps) if inside else torch.sqrt(x) + eps
    # a number or a 0-dim tensor: the same operations, in place on the temporary made here
    return torch.add(x, eps).sqrt_() if inside else torch.sqrt(x).add_(eps)


def numbers(*values: Any) -> bool:
    """Whether every value is a Python number: then an update may run an expression's operations
    in place on temporaries it made itself, with each operation rounding exactly as the
    out-of-place expression's (the same kernel, the tensor as the first operand and the number as
    the second, as ``number * tensor`` dispatches it), so only allocations and memory traffic are
    saved. A tensor, even a 0-dim one, would come first in ``tensor * t`` -- which rounds
    differently in bfloat16 -- or broadcast and promote, so with one the expressions stay as
    written."""
    return all(isinstance(v, int | float) for v in values)
