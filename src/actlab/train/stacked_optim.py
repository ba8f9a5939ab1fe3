"""One optimizer per member over stacked parameters: each member's rows step by its own rule.

A stack of K models keeps every parameter as one tensor whose rows (dim 0) belong to members --
``[K, in, out]`` for a stacked weight, ``[n_group, 1, 1]`` for a learnable activation parameter
shared by one activation group. :class:`StackedOptimizer` takes ``(parameter, row_members)``
pairs and one ``(name, hyperparameters)`` per member, and for every group of members that use the
same optimizer with the same hyperparameters (every one, numeric ones included) it runs that
optimizer's pure transform (:func:`actlab.optim.functional`) once per step over one flat buffer
holding the group's rows of every parameter (of one device and dtype; on the CPU, by default,
one buffer per parameter, see ``flat``):

    g, p = cat(grad[rows] for each parameter), cat(param[rows] for each parameter)
    u, state = transform.update(g, state, p, **h);   param[rows] += u[its span]

The group's state lives in that flat layout, so each elementwise operation of the update runs
once over all of the group's parameters instead of once per parameter. Every registered update
is elementwise (each entry's new value depends only on that entry's gradient, state and
parameter, and on scalars), and the operations it uses -- add, multiply, divide, square root,
maximum -- are correctly rounded in every vector lane, so the layout changes no bit.

The hyperparameters ``h`` are the group's Python numbers, so every scalar a member's update
computes (``lr / (1 - beta1^t)``, ``1 - beta1``, ...) is computed exactly as
``actlab.optim.create(...)`` computes it on the member's plain model -- in double precision,
rounded once to the parameter's dtype where it meets a tensor. (The pure transforms also take a
tensor of per-member values, but then those scalars are computed in the tensor's dtype: in float32
a member's update would differ from its lone run's in the last bits, and training amplifies that.)
:meth:`StackedOptimizer.freeze` takes members out for good (a diverged member): their rows are
never touched again and their state is dropped; the others' state is unchanged.
:meth:`StackedOptimizer.state_dict` / :meth:`~StackedOptimizer.load_state_dict` save and restore
the state per group and parameter (independent of the flat layout), for checkpoints.
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
    """One parameter's share of one optimizer group: its rows, as runs of consecutive rows.

    One run is a view of the parameter (no copy); several are gathered with ``index_select`` and
    the update is added back run by run (slice ``add_``; ``index_add_`` along dim 0 is an order
    of magnitude slower on CPU).
    """

    rows: Tensor  # row indices, ascending
    runs: list[tuple[int, int]]  # [start, stop) of each run of consecutive rows
    row_size: int  # elements per row

    @property
    def size(self) -> int:
        return len(self.rows) * self.row_size

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
class _Flat:
    """A group's rows of the parameters ``params`` (one device and dtype), end to end in that
    order, and the group's state over them (``None`` before the first step)."""

    params: list[int]
    state: State | None = None


@dataclass
class _Group:
    name: str
    key: str  # repr of the optimizer, its structural options and numeric hyperparameters
    members: list[int]
    transform: Transform
    hparams: dict[str, Any]  # the numeric hyperparameters, Python numbers shared by the members
    slots: list[_Slot | None] = field(default_factory=list)
    flats: list[_Flat] = field(default_factory=list)

    def spans(self, flat: _Flat) -> Iterable[tuple[int, _Slot, int]]:
        """``(parameter index, slot, offset in the flat buffer)`` for each parameter of ``flat``."""
        offset = 0
        for i in flat.params:
            slot = self.slots[i]
            yield i, slot, offset
            offset += slot.size


class StackedOptimizer:
    """Steps stacked parameters, each member with its own optimizer and hyperparameters.

    Args:
        params: ``(parameter, row_members)`` pairs; ``row_members[r]`` is the member that owns
            row ``r`` of the parameter (dim 0).
        optimizers: one ``(name, hyperparameters)`` per member (``K`` of them); any registered
            optimizer, hyperparameters as ``actlab.optim.create`` takes them.
        flat: one flat buffer per group, device and dtype (``True``), or one per group and
            parameter (``False``); the numbers are the same. ``None``: flat except on the CPU,
            where gathering the rows into the buffer (a copy per step) costs about what the
            fewer calls save (Adam over 64 stacked 40-100-100-10 MLPs: 1.14-1.28x as long;
            ``docs/PERFORMANCE.md``).

    Example::

        opt = StackedOptimizer(stack.parameter_members(), [("sgd", {"lr": 0.1}), ("adam", {})])
        loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(
        self,
        params: Sequence[tuple[Tensor, Tensor]],
        optimizers: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        flat: bool | None = None,
    ) -> None:
        self.K = len(optimizers)
        self.flat = flat
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
                groups[key] = _Group(info.name, repr(key), [], transform, numeric)
            groups[key].members.append(k)
        self.groups = list(groups.values())
        self.frozen: set[int] = set()
        for group in self.groups:
            self._layout(group)

    def _layout(self, group: _Group) -> None:
        """(Re)compute the group's slots for its live members and its flat buffers, one per
        device and dtype; the state of rows that stay is kept (and only theirs)."""
        old_slots, old_flats = group.slots, group.flats
        live = torch.tensor([k for k in group.members if k not in self.frozen], dtype=torch.long)
        group.slots = []
        for p, owners in zip(self.params, self.row_members):
            rows = torch.isin(owners, live).nonzero().flatten()
            row_size = p[0].numel() if len(p) else 0
            slot = _Slot(rows.to(p.device), _runs(rows.tolist()), row_size) if len(rows) else None
            group.slots.append(slot)
        buckets: dict[Any, list[int]] = {}
        for i, slot in enumerate(group.slots):
            if slot is not None:
                p = self.params[i]
                flat = self.flat if self.flat is not None else p.device.type != "cpu"
                buckets.setdefault((p.device, p.dtype) if flat else i, []).append(i)
        group.flats = [_Flat(indices) for indices in buckets.values()]
        for old in old_flats:
            if old.state is None:
                continue
            keep, offset = [], 0
            for i in old.params:
                was, now = old_slots[i], group.slots[i]
                if now is not None:
                    kept = torch.isin(was.rows.cpu(), now.rows.cpu()).nonzero().flatten()
                    keep.append(offset + kept[:, None] * was.row_size + torch.arange(was.row_size))
                offset += was.size
            new = next((f for f in group.flats if f.params and f.params[0] in old.params), None)
            if new is not None:
                index = torch.cat([k.reshape(-1) for k in keep])
                new.state = {k: _take(v, index, offset) for k, v in old.state.items()}

    @torch.no_grad()
    def step(self, *, updates: bool = False) -> list[Tensor] | None:
        """Apply one update to every live member's rows. With ``updates=True``, also return the
        update applied to each parameter (zero on frozen rows), e.g. for diagnostics."""
        applied = [torch.zeros_like(p) for p in self.params] if updates else None
        for group in self.groups:
            for flat in group.flats:
                spans = list(group.spans(flat))
                for i, _, _ in spans:
                    if self.params[i].grad is None:
                        raise ActlabError(f"StackedOptimizer: parameter {i} has no gradient")
                value = _flatten([slot.gather(self.params[i]) for i, slot, _ in spans])
                grad = _flatten([slot.gather(self.params[i].grad) for i, slot, _ in spans])
                h = group.hparams
                state = flat.state or group.transform.init(value, **h)
                u, flat.state = group.transform.update(grad, state, value, **h)
                for i, slot, offset in spans:
                    p = self.params[i]
                    piece = u[offset : offset + slot.size].view(len(slot.rows), *p.shape[1:])
                    slot.add_to(p, piece)
                    if applied is not None:
                        slot.write(applied[i], piece)
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
                self._layout(group)

    def _states(self, group: _Group) -> list[State | None]:
        """The group's state per parameter: its rows' entries ``[rows, ...]`` (views of the flat
        buffer) and the shared scalars; ``None`` where it has no rows or no state yet."""
        out: list[State | None] = [None] * len(self.params)
        for flat in group.flats:
            if flat.state is None:
                continue
            for i, slot, offset in group.spans(flat):
                shape = (len(slot.rows), *self.params[i].shape[1:])
                out[i] = {
                    k: v if v.dim() == 0 else v[offset : offset + slot.size].view(shape)
                    for k, v in flat.state.items()
                }
        return out

    def state_of(self, member: int) -> dict[int, State]:
        """Member ``member``'s optimizer state, per parameter index: its rows (its one row
        without the row axis, as its plain model's optimizer holds it)."""
        out = {}
        for group in self.groups:
            if member not in group.members:
                continue
            for i, state in enumerate(self._states(group)):
                if state is None:
                    continue
                rows = group.slots[i].rows.cpu()
                mine = (self.row_members[i][rows] == member).nonzero().flatten()
                if not len(mine):
                    continue
                out[i] = {
                    k: v[int(mine[0])]
                    if v.dim() > 0 and len(mine) == 1
                    else _select_rows(v, mine.to(v.device))
                    for k, v in state.items()
                }
        return out

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: the frozen members and, per group and parameter, the
        state of the group's live rows (``None`` before the first step or without live rows).
        Plain Python values and cloned tensors only: ``torch.save`` /
        ``torch.load(weights_only=True)`` round-trip it."""
        return {
            "structure": self._structure(),
            "frozen": sorted(self.frozen),
            "slots": [
                [
                    None if state is None else {k: v.detach().clone() for k, v in state.items()}
                    for state in self._states(group)
                ]
                for group in self.groups
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` saved by an optimizer over parameters of the same
        shapes with the same optimizers per member; any other state is refused (ActlabError)."""
        if not isinstance(state, Mapping) or state.get("structure") != self._structure():
            raise ActlabError(
                "StackedOptimizer.load_state_dict: the state was saved by another stack (other "
                "members' optimizers, hyperparameters or parameter shapes)"
            )
        self.frozen = {int(k) for k in state["frozen"]}
        for group, saved in zip(self.groups, state["slots"], strict=True):
            group.slots, group.flats = [], []
            self._layout(group)
            if len(saved) != len(self.params):
                raise ActlabError("StackedOptimizer.load_state_dict: the state is damaged")
            for flat in group.flats:
                flat.state = self._flat_state(group, flat, saved)
            placed = {i for flat in group.flats for i in flat.params}
            if any(s is not None for i, s in enumerate(saved) if i not in placed):
                raise ActlabError(
                    f"StackedOptimizer.load_state_dict: the {group.name} group's state covers "
                    "rows that are not live"
                )

    def _flat_state(self, group: _Group, flat: _Flat, saved: list[Any]) -> State | None:
        """The flat state of ``flat`` from the saved per-parameter states (checked)."""
        pieces = [(i, slot, saved[i]) for i, slot, _ in group.spans(flat)]
        if all(s is None for *_, s in pieces):
            return None
        keys = set(pieces[0][2] or ())
        for i, slot, s in pieces:
            shape = (len(slot.rows), *self.params[i].shape[1:])
            if (
                not isinstance(s, Mapping)
                or set(s) != keys
                or not all(isinstance(v, Tensor) for v in s.values())
                or any(v.dim() and tuple(v.shape) != shape for v in s.values())
            ):
                raise ActlabError(
                    f"StackedOptimizer.load_state_dict: the state of parameter {i} does not fit "
                    f"the live rows of the {group.name} group"
                )
        device = self.params[flat.params[0]].device
        first = pieces[0][2]
        return {
            k: first[k].clone()  # shared scalars (the step counter) stay on the host
            if first[k].dim() == 0
            else torch.cat([s[k].reshape(-1) for *_, s in pieces]).to(device)
            for k in keys
        }

    def _structure(self) -> dict[str, Any]:
        """What a saved state must match: members, each group's optimizer, its options and
        hyperparameters, and the parameters' shapes and dtypes."""
        return {
            "K": self.K,
            "params": [[list(p.shape), str(p.dtype)] for p in self.params],
            "groups": [[group.key, list(group.members)] for group in self.groups],
        }


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """``[0, 1, 2, 5, 6]`` -> ``[(0, 3), (5, 7)]``."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r:
            runs[-1] = (runs[-1][0], r + 1)
        else:
            runs.append((r, r + 1))
    return runs


def _flatten(parts: list[Tensor]) -> Tensor:
    """The parts end to end as one vector (a view when there is one contiguous part)."""
    if len(parts) == 1:
        return parts[0].reshape(-1)
    return torch.cat([part.reshape(-1) for part in parts])


def _take(value: Tensor, index: Tensor, size: int) -> Tensor:
    """A flat state tensor's entries at ``index`` (of ``size``); scalars (the step counter) are
    shared and kept whole."""
    if value.dim() == 0 or len(index) == size:
        return value
    return value.index_select(0, index.to(value.device))


def _select_rows(value: Tensor, keep: Tensor) -> Tensor:
    """A state tensor's rows ``keep``; scalars (the step counter) are shared and kept whole."""
    return value.index_select(0, keep) if value.dim() > 0 else value
