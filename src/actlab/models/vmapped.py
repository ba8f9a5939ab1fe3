"""K of your own models (:mod:`actlab.models.user`) trained as one stack with ``torch.func``.

:class:`VmapStack` holds the members' parameters and buffers stacked exactly as
:class:`~actlab.models.ModuleStack` does (``P_n`` of shape ``[K_n, *shape]`` per parameter name,
one ``[K, *shape]`` tensor per buffer), and so offers the same interface to the trainer and the
diagnostics. Its forward groups the members whose networks are the same module tree (same
activation, same module types at the same paths, same parameter names) and runs each group as
one vectorized call::

    y_group = vmap(lambda p, b, x: functional_call(shell, (p, b), (x,)))(P[group], B[group], x)

``P[group]`` is a view of the stacked rows when the group's rows are contiguous (the batched
trainer orders its members so), a gathered copy otherwise; gradients reach the stacked
parameters either way. Buffers are passed batched, so BatchNorm's running statistics are
updated in training mode row by row, each member's from its own batch statistics (a gathered
group's rows are written back after the call).

Some models cannot run under ``vmap``: Python control flow on tensor values (``if x.sum() >
0``), ``.item()`` (the fast paths of a few catalog activations check their input for infinities
with it: silu, gelu, mish, hardswish, softsign, leaky_relu6), custom autograd functions without a
vmap rule (the catalog's reference path: hardsigmoid, rrelu, ...). The first forward in which a
group's call fails puts that group's buffer rows and the random generator back as they were,
runs that group's members one after another from then on (:class:`ModuleStack`'s way, which every
model allows), and says so once with a :class:`UserWarning` (``fallback`` keeps the line); the
other groups stay vectorized. Until a group's call has succeeded in a given mode (training or
eval, with or without gradients) the stack copies that group's buffer rows before each try.

Random numbers drawn inside the model in training mode (dropout) are drawn for each member
separately (``randomness="different"``). Forward hooks installed on the members' modules (the
diagnostics' :class:`~actlab.diagnostics.StackRecorder`) see one member at a time: while any is
installed, the forward runs member by member.

Each member computes what the plain model computes, up to the rounding of batched kernels
(``bmm`` instead of ``addmm``): a float64 member equals its lone run to about 1e-15 per step.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.func import functional_call, vmap

from actlab.models._core import ModelSpec
from actlab.models._stacking import member_inputs
from actlab.models.stacks import ModuleStack

__all__ = ["VmapStack"]

Rows = slice | Tensor


class VmapStack(ModuleStack):
    """K user models, each group of identical module trees run as one ``torch.func.vmap`` call
    (module docstring); falls back to one call per member for models ``vmap`` cannot run.

    Args:
        specs: one :class:`ModelSpec` per member, all naming the same factory, input shape and
            outputs.
        seeds: one seed per member; member k starts from ``build(specs[k], seed=seeds[k])``.

    Attributes:
        groups: the member indices of each vectorized call.
        sequential: the groups whose members run one after another (``vmap`` cannot run them).
        fallback: the line that said why, or ``None`` while every group is vectorized.
    """

    def __init__(self, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> None:
        super().__init__(specs, seeds)
        keys: dict[tuple, list[int]] = {}
        for k, (spec, shell) in enumerate(zip(self.specs, self.shells)):
            names = tuple(self.names[i] for i, _ in self.slots[k])
            tree = tuple((n, type(m).__qualname__) for n, m in shell.named_modules())
            key = (spec.activation, spec.activation_params, tree, names)
            keys.setdefault(key, []).append(k)
        self.groups = tuple(tuple(g) for g in keys.values())
        order = [k for g in self.groups for k in g]
        self.inverse = None if order == sorted(order) else torch.argsort(torch.tensor(order))
        self.fallback: str | None = None
        self.sequential: set[int] = set()  # groups vmap cannot run
        self._proven: set[tuple[int, tuple[bool, bool]]] = set()

    def forward(self, x: Tensor) -> Tensor:
        shared = member_inputs("VmapStack", x, self.spec.input_shape, len(self))
        if self._hooked() or len(self.sequential) == len(self.groups):
            return super().forward(x)
        mode = (self.training, torch.is_grad_enabled())
        outs, failed = [], []
        for g, group in enumerate(self.groups):
            if g in self.sequential:
                outs.append(self._one_by_one(group, x, shared))
                continue
            if (g, mode) in self._proven:
                outs.append(self._vectorized(group, x, shared))
                continue
            rng, rows = _rng_state(x.device), torch.tensor(group)
            saved = [b.index_select(0, rows.to(b.device)) for b in self._buffers_stacked()]
            try:
                outs.append(self._vectorized(group, x, shared))
            except Exception as e:  # what vmap cannot run; the plain forward shows real errors
                with torch.no_grad():  # .data: see _vectorized
                    for b, rows_before in zip(self._buffers_stacked(), saved):
                        b.data.index_copy_(0, rows.to(b.device), rows_before)
                _set_rng_state(x.device, rng)
                self.sequential.add(g)
                failed.append((self.specs[group[0]].activation, _first_sentence(e)))
                outs.append(self._one_by_one(group, x, shared))
            else:
                self._proven.add((g, mode))
        if failed:
            which = ", ".join(dict.fromkeys(a for a, _ in failed))
            self.fallback = (
                f"{self.spec.kind}: torch.func.vmap cannot run it with {which} "
                f"({failed[0][1]}); those members run one after another"
            )
            warnings.warn(self.fallback, stacklevel=2)
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return out if self.inverse is None else out.index_select(0, self.inverse.to(out.device))

    def _vectorized(self, group: tuple[int, ...], x: Tensor, shared: bool) -> Tensor:
        """One ``vmap`` call for the members of ``group``."""
        rows, stacked = _rows(group), list(self._buffers_stacked())
        params = {}
        for j, (i, _) in enumerate(self.slots[group[0]]):
            params[self.names[i]] = _take(
                self.params[i], _rows([self.slots[k][j][1] for k in group])
            )
        buffers = {n: _take(b, rows) for n, b in zip(self.buffer_names, stacked)}
        shell = self.shells[group[0]]

        def call(p: dict, b: dict, xs: Tensor) -> Tensor:
            return functional_call(shell, (p, b), (xs,))

        xs = x if shared else _take(x, rows)
        dims = (0, 0, None if shared else 0)
        out = vmap(call, in_dims=dims, randomness="different")(params, buffers, xs)
        if isinstance(rows, Tensor):  # a gathered copy: write the buffer updates back
            # through .data: only this group's rows change, but an in-place write on the stacked
            # buffer itself would bump the version counter its views share, and backward would
            # refuse what the groups before this one saved (BatchNorm's running statistics)
            with torch.no_grad():
                for name, b in zip(self.buffer_names, stacked):
                    b.data.index_copy_(0, rows.to(b.device), buffers[name])
        return out

    def _one_by_one(self, group: tuple[int, ...], x: Tensor, shared: bool) -> Tensor:
        """The members of ``group``, one plain call each (:class:`ModuleStack`'s way)."""
        return torch.stack(
            [
                functional_call(self.shells[k], self._state(k), (x if shared else x[k],))
                for k in group
            ]
        )

    def _hooked(self) -> bool:
        return any(
            m._forward_hooks or m._forward_pre_hooks for s in self.shells for m in s.modules()
        )


def _first_sentence(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]


def _rows(indices: Sequence[int]) -> Rows:
    """A slice for contiguous ascending indices (a view), else an index tensor (a copy)."""
    first = indices[0]
    if list(indices) == list(range(first, first + len(indices))):
        return slice(first, first + len(indices))
    return torch.tensor(list(indices))


def _take(t: Tensor, rows: Rows) -> Tensor:
    return t[rows] if isinstance(rows, slice) else t.index_select(0, rows.to(t.device))


def _rng_state(device: torch.device) -> tuple:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _set_rng_state(device: torch.device, state: tuple) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)
