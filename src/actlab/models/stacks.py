"""Stacks of K member networks for the batched trainer: the generic :class:`ModuleStack`, and
:func:`stack`, which picks the fastest stack that holds the members.

Every stack has the same interface: ``forward(x)`` takes ``[B, *input_shape]`` (shared) or
``[K, B, *input_shape]`` (one batch per member) and returns ``[K, B, n_outputs]``;
``member(k)`` is the plain ``build(specs[k], seed=seeds[k])`` holding member k's current
weights; ``parameter_members()`` pairs each parameter with the member of each of its rows;
``member_parameters(k)`` are member k's views, ordered as ``member(k).parameters()``.

>>> from actlab.models import ModelSpec
>>> specs = [ModelSpec("cnn2d", input_shape=(8, 8), width=2, activation=a) for a in
...          ("relu", "tanh")]
>>> net = stack(specs, seeds=[0, 1])
>>> type(net).__name__, net(torch.zeros(3, 8, 8)).shape
('ModuleStack', torch.Size([2, 3, 2]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import zip_longest

import torch
from torch import Tensor, nn
from torch.func import functional_call

from actlab.errors import ActlabError
from actlab.models._core import ModelSpec, build
from actlab.models._stacking import check_members, member_inputs
from actlab.models.stacked import StackedMLP
from actlab.models.stacked import _check as _mlp_check
from actlab.models.stacked_cnn import StackedCNN1d
from actlab.models.stacked_cnn import _check as _cnn1d_check
from actlab.models.user import is_reference
from actlab.nn import Activation

__all__ = ["ModuleStack", "stack"]

_NAME = "ModuleStack"
_SHARED = ("kind", "input_shape", "n_outputs")


class ModuleStack(nn.Module):
    """K plain networks whose parameters and buffers are held stacked, run one call per member.

    Every parameter name ``n`` becomes one ``nn.Parameter`` ``P_n`` of shape ``[K_n, *shape]``
    over the ``K_n`` members holding it (``params[i]`` holds ``names[i]``, its rows the members
    ``holders[i]``): all K members for the layers, the members whose activation learns it for
    an activation's parameter (PReLU's slope). Every buffer (BatchNorm's running statistics) is
    one stacked buffer ``[K, *shape]``; the plain modules keep no tensors of their own. Member k
    is

        y_k = functional_call(module_k, {n: P_n[row_k]} | {b: B_b[k]}, x_k)

    so its gradients land in its rows of the stacked parameters, and in-place buffer updates
    (running statistics in training mode) in rows k of the stacked buffers. The fallback for
    what :class:`StackedMLP` and :class:`StackedCNN1d` do not stack (cnn2d, batchnorm, maxout
    CNNs), for members with one input shape and output width whose layers have the same
    parameter and buffer names and shapes (activations may differ, learned parameters too).

    Args:
        specs: one :class:`ModelSpec` per member.
        seeds: one seed per member; member k starts from ``build(specs[k], seed=seeds[k])``.

    Raises:
        ActlabError: members that differ in kind, input shape, outputs, or the first layer
            parameter or buffer whose name or shape differs.
    """

    def __init__(self, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> None:
        super().__init__()
        self.specs, self.seeds = tuple(specs), tuple(seeds)
        self.spec = check_members(_NAME, self.specs, self.seeds, _SHARED)
        models = [build(spec, seed=seed) for spec, seed in zip(self.specs, self.seeds)]
        _common(models, "parameter", _layer_parameters)
        self.buffer_names = _common(models, "buffer", lambda m: m.named_buffers())
        holders: dict[str, list[int]] = {}
        for k, model in enumerate(models):
            for name, _ in model.named_parameters():
                holders.setdefault(name, []).append(k)
        self.names, self.holders = tuple(holders), tuple(tuple(h) for h in holders.values())
        self.params = nn.ParameterList(
            nn.Parameter(torch.stack([models[k].get_parameter(n).detach() for k in h]))
            for n, h in holders.items()
        )
        slot = {(k, n): (i, row) for i, n in enumerate(holders) for row, k in enumerate(holders[n])}
        # (parameter index, row) of each of member k's parameters, in its own order
        self.slots = tuple(
            tuple(slot[k, n] for n, _ in m.named_parameters()) for k, m in enumerate(models)
        )
        persistent = models[0].state_dict().keys()
        for i, name in enumerate(self.buffer_names):
            value = torch.stack([m.get_buffer(name) for m in models])
            self.register_buffer(f"buffer{i}", value, persistent=name in persistent)
        for model in models:
            for name in [n for n, _ in model.named_parameters()] + list(self.buffer_names):
                path, _, attr = name.rpartition(".")
                delattr(model.get_submodule(path), attr)
        self.shells = nn.ModuleList(models)

    def __len__(self) -> int:
        return len(self.specs)

    def forward(self, x: Tensor) -> Tensor:
        shared = member_inputs(_NAME, x, self.spec.input_shape, len(self))
        return torch.stack(
            [
                functional_call(shell, self._state(k), (x if shared else x[k],))
                for k, shell in enumerate(self.shells)
            ]
        )

    def member(self, k: int) -> nn.Module:
        """Member ``k`` alone: ``build(specs[k], seeds[k])`` with this member's current
        parameters and buffers copied in, on this model's device and dtype and in its mode."""
        model = build(self.specs[self._index(k)], seed=self.seeds[k]).to(self.params[0])
        with torch.no_grad():
            for plain, stacked in zip(model.parameters(), self.member_parameters(k), strict=True):
                plain.copy_(stacked)
            for name, stacked in zip(self.buffer_names, self._buffers_stacked()):
                model.get_buffer(name).copy_(stacked[k])
        return model.train(self.training)

    def parameter_members(self) -> list[tuple[nn.Parameter, Tensor]]:
        """Every stacked parameter with the member of each row (``holders``)."""
        return [(p, torch.tensor(h, device=p.device)) for p, h in zip(self.params, self.holders)]

    def member_parameters(self, k: int) -> list[Tensor]:
        """Views of member ``k``'s parameters (its rows), ordered as ``member(k).parameters()``."""
        return [self.params[i][row] for i, row in self.slots[self._index(k)]]

    def _buffers_stacked(self) -> Iterator[Tensor]:
        return (getattr(self, f"buffer{i}") for i in range(len(self.buffer_names)))

    def _state(self, k: int) -> dict[str, Tensor]:
        params = {self.names[i]: self.params[i][row] for i, row in self.slots[k]}
        return params | {n: b[k] for n, b in zip(self.buffer_names, self._buffers_stacked())}

    def _index(self, k: int) -> int:
        if not 0 <= k < len(self):
            raise ActlabError(f"member {k} is out of range; this stack has {len(self)} members")
        return k


def stack(specs: Sequence[ModelSpec], seeds: Sequence[int]) -> nn.Module:
    """K members ``build(specs[k], seed=seeds[k])`` as the fastest stack that holds them.

    :class:`StackedMLP` (one batched matmul per layer) when it accepts the members (``mlp``,
    no batchnorm, shared sizes), :class:`StackedCNN1d` (one grouped convolution per block) for
    ``cnn1d`` members it accepts (no batchnorm, no maxout), otherwise :class:`ModuleStack`;
    your own models (``"package.module:factory"``) as a :class:`~actlab.models.vmapped.VmapStack`.
    """
    specs, seeds = tuple(specs), tuple(seeds)
    if specs and is_reference(getattr(specs[0], "kind", None)):
        from actlab.models.vmapped import VmapStack

        return VmapStack(specs, seeds)
    fast: tuple[tuple[type[nn.Module], Callable], ...] = (
        (StackedMLP, _mlp_check),
        (StackedCNN1d, _cnn1d_check),
    )
    for cls, check in fast:
        try:
            check(specs, seeds)
        except ActlabError:
            continue
        return cls(specs, seeds)
    return ModuleStack(specs, seeds)


def _common(models: list[nn.Module], kind: str, named: Callable) -> tuple[str, ...]:
    """The ``(name, shape)`` list every member shares (``named(m)`` yields them), or one line
    naming the first entry where a member differs from member 0."""
    first = [(n, tuple(t.shape)) for n, t in named(models[0])]
    for k, model in enumerate(models[1:], 1):
        mine = [(n, tuple(t.shape)) for n, t in named(model)]
        for a, b in zip_longest(mine, first):
            if a != b:
                raise ActlabError(
                    f"{_NAME}: member {k} has {_entry(kind, a)} where member 0 has "
                    f"{_entry(kind, b)}; members must have the same {kind}s"
                )
    return tuple(n for n, _ in first)


def _entry(kind: str, entry: tuple[str, tuple[int, ...]] | None) -> str:
    return f"no further {kind}" if entry is None else f"{kind} {entry[0]!r} of shape {entry[1]}"


def _layer_parameters(model: nn.Module) -> list[tuple[str, Tensor]]:
    """``model.named_parameters()`` less the activations' learned ones (PReLU's slope)."""
    learned = {id(p) for m in model.modules() if isinstance(m, Activation) for p in m.parameters()}
    return [(n, p) for n, p in model.named_parameters() if id(p) not in learned]
