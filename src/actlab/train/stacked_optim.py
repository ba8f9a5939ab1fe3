"""One optimizer per member over stacked parameters: each member's rows step by its own rule.

A stack of K models keeps every parameter as one tensor whose rows (dim 0) belong to members --
``[K, in, out]`` for a stacked weight, ``[n_group, 1, 1]`` for a learnable activation parameter
shared by one activation group. :class:`StackedOptimizer` takes ``(parameter, row_members)``
pairs and one ``(name, hyperparameters)`` per member, and for every group of members that use the
same optimizer with the same hyperparameters (every one, numeric ones included) it runs that
optimizer's pure transform (:func:`actlab.optim.functional`) once over the group's rows:

    u, state = transform.update(g[rows], state, p[rows], **h);   p[rows] += u

The hyperparameters ``h`` are the group's Python numbers, so every scalar a member's update
computes (``lr / (1 - beta1^t)``, ``1 - beta1``, ...) is computed exactly as
``actlab.optim.create(...)`` computes it on the member's plain model -- in double precision,
rounded once to the parameter's dtype where it meets a tensor. (The pure transforms also take a
tensor of per-member values, but then those scalars are computed in the tensor's dtype: in float32
a member's update would differ from its lone run's in the last bits, and training amplifies that.)
:meth:`StackedOptimizer.freeze` takes members out for good (a diverged member): their rows are
never touched again and their state is dropped; the others' state is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.optim import OPTIMIZERS, functional
from actlab.optim.transforms import State, Transform

__all__ = ["StackedOptimizer"]


@dataclass
class _Slot:
    """One parameter's share of one optimizer group: its rows, hyperparameters and state.

    The rows are kept as runs of consecutive rows: one run is a view of the parameter (no copy);
    several are gathered with ``index_select`` and the update is added back run by run (slice
    ``add_``; ``index_add_`` along dim 0 is an order of magnitude slower on CPU).
    """

    rows: Tensor  # row indices, ascending
    runs: list[tuple[int, int]]  # [start, stop) of each run of consecutive rows
    state: State | None = None

    def gather(self, t: Tensor) -> Tensor:
        if len(self.runs) == 1:
            return t[self.runs[0][0] : self.runs[0][1]]
        return t.index_select(0, self.rows)

    def add_to(self, t: Tensor, u: Tensor) -> None:
        offset = 0
        for a, b in self.runs:
            t[a:b].add_(u[offset : offset + b - a])
            offset += b - a

    def write(self, t: Tensor, u: Tensor) -> None:
        offset = 0
        for a, b in self.runs:
            t[a:b] = u[offset : offset + b - a]
            offset += b - a


@dataclass
class _Group:
    name: str
    members: list[int]
    transform: Transform
    hparams: dict[str, Any]  # the numeric hyperparameters, Python numbers shared by the members
    slots: list[_Slot | None] = field(default_factory=list)


class StackedOptimizer:
    """Steps stacked parameters, each member with its own optimizer and hyperparameters.

    Args:
        params: ``(parameter, row_members)`` pairs; ``row_members[r]`` is the member that owns
            row ``r`` of the parameter (dim 0).
        optimizers: one ``(name, hyperparameters)`` per member (``K`` of them); any registered
            optimizer, hyperparameters as ``actlab.optim.create`` takes them.

    Example::

        opt = StackedOptimizer(stack.parameter_members(), [("sgd", {"lr": 0.1}), ("adam", {})])
        loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params: Sequence[tuple[Tensor, Tensor]],
        optimizers: Sequence[tuple[str, Mapping[str, Any]]],
    ) -> None:
        self.K = len(optimizers)
        self.params = [p for p, _ in params]
        self.row_members = [torch.as_tensor(m, dtype=torch.long).cpu() for _, m in params]
        for p, m in zip(self.params, self.row_members):
            if m.dim() != 1 or len(m) != p.shape[0] or (len(m) and int(m.max()) >= self.K):
                raise ActlabError(
                    f"StackedOptimizer: row members {tuple(m.shape)} do not fit a parameter "
                    f"{tuple(p.shape)} of a {self.K}-member stack"
                )
        groups: dict[tuple[Any, ...], _Group] = {}
        for k, (name, given) in enumerate(optimizers):
            info = OPTIMIZERS.get(name)
            resolved = info.resolve(dict(given))
            key = (info.name, *(repr(resolved[s]) for s in info.structural + info.numeric))
            if key not in groups:
                transform, numeric = functional(info.name, **resolved)
                groups[key] = _Group(info.name, [], transform, numeric)
            groups[key].members.append(k)
        self.groups = list(groups.values())
        self.frozen: set[int] = set()
        for group in self.groups:
            group.slots = [self._slot(group, i) for i in range(len(self.params))]

    def _slot(self, group: _Group, index: int, old: _Slot | None = None) -> _Slot | None:
        p, owners = self.params[index], self.row_members[index]
        live = [k for k in group.members if k not in self.frozen]
        mine = torch.isin(owners, torch.tensor(live, dtype=torch.long))
        if not bool(mine.any()):
            return None
        rows = mine.nonzero().flatten()
        state = None
        if old is not None and old.state is not None:
            keep = torch.isin(old.rows.cpu(), rows).nonzero().flatten().to(p.device)
            state = {
                k: _select_rows(v, keep, len(keep) != len(old.rows)) for k, v in old.state.items()
            }
        return _Slot(rows.to(p.device), _runs(rows.tolist()), state)

    @torch.no_grad()
    def step(self, *, updates: bool = False) -> list[Tensor] | None:
        """Apply one update to every live member's rows. With ``updates=True``, also return the
        update applied to each parameter (zero on frozen rows), e.g. for diagnostics."""
        applied = [torch.zeros_like(p) for p in self.params] if updates else None
        for group in self.groups:
            for i, slot in enumerate(group.slots):
                if slot is None:
                    continue
                p = self.params[i]
                if p.grad is None:
                    raise ActlabError(f"StackedOptimizer: parameter {i} has no gradient")
                value, grad = slot.gather(p), slot.gather(p.grad)
                state = slot.state or group.transform.init(value, **group.hparams)
                u, slot.state = group.transform.update(grad, state, value, **group.hparams)
                slot.add_to(p, u)
                if applied is not None:
                    slot.write(applied[i], u)
        return applied

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def freeze(self, members: Iterable[int]) -> None:
        """Stop updating ``members`` (for good); the other members' states are kept as they are."""
        new = set(members) - self.frozen
        if not new:
            return
        self.frozen |= new
        for group in self.groups:
            if new & set(group.members):
                group.slots = [
                    None if s is None else self._slot(group, i, s)
                    for i, s in enumerate(group.slots)
                ]

    def state_of(self, member: int) -> dict[int, State]:
        """Member ``member``'s optimizer state, per parameter index: its rows (its one row
        without the row axis, as its plain model's optimizer holds it)."""
        out = {}
        for group in self.groups:
            if member not in group.members:
                continue
            for i, slot in enumerate(group.slots):
                if slot is None or slot.state is None:
                    continue
                mine = (self.row_members[i][slot.rows.cpu()] == member).nonzero().flatten()
                if not len(mine):
                    continue
                out[i] = {
                    k: v[int(mine[0])]
                    if v.dim() > 0 and len(mine) == 1
                    else _select_rows(v, mine.to(v.device), True)
                    for k, v in slot.state.items()
                }
        return out


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """``[0, 1, 2, 5, 6]`` -> ``[(0, 3), (5, 7)]``."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r:
            runs[-1] = (runs[-1][0], r + 1)
        else:
            runs.append((r, r + 1))
    return runs


def _select_rows(value: Tensor, keep: Tensor, select: bool) -> Tensor:
    """A state tensor's kept rows; scalars (the step counter) are shared and kept whole."""
    return value.index_select(0, keep) if select and value.dim() > 0 else value
