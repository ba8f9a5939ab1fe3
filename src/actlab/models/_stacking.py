"""What the stacks of K member networks share: checking the members, reading the input, and
grouping the members by activation.

A stack takes ``x`` as ``[B, *input_shape]`` (one batch shared by every member) or
``[K, B, *input_shape]`` (batch ``x[k]`` for member ``k``) and returns ``[K, B, n_outputs]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from actlab.errors import ActlabError
from actlab.models._core import ModelSpec

__all__ = ["activation_groups", "check_members", "member_inputs"]


def check_members(
    name: str, specs: Sequence[ModelSpec], seeds: Sequence[int], shared: Sequence[str]
) -> ModelSpec:
    """The first member's spec, once every member is a :class:`ModelSpec`, there is one seed per
    member and all members agree on the ``shared`` fields; otherwise one-line ``ActlabError``."""
    if not specs:
        raise ActlabError(f"{name} needs at least one member spec")
    if len(seeds) != len(specs):
        raise ActlabError(f"{name}: {len(specs)} specs but {len(seeds)} seeds")
    for spec in specs:
        if not isinstance(spec, ModelSpec):
            raise ActlabError(f"{name} stacks ModelSpecs, got {type(spec).__name__}")
    first = specs[0]
    for k, spec in enumerate(specs[1:], 1):
        for key in shared:
            if getattr(spec, key) != getattr(first, key):
                raise ActlabError(
                    f"{name}: member {k} has {key}={getattr(spec, key)!r}, member 0 "
                    f"{getattr(first, key)!r}; members must share {', '.join(shared)}"
                )
    return first


def member_inputs(name: str, x: Tensor, input_shape: tuple[int, ...], k: int) -> bool:
    """Whether ``x`` is one batch shared by all ``k`` members (``[B, *input_shape]``, True) or one
    batch per member (``[k, B, *input_shape]``, False); anything else raises ``ActlabError``."""
    if x.dim() == len(input_shape) + 1 and tuple(x.shape[1:]) == input_shape:
        return True
    if x.dim() == len(input_shape) + 2 and x.shape[0] == k and tuple(x.shape[2:]) == input_shape:
        return False
    raise ActlabError(
        f"{name}: input of shape {tuple(x.shape)} is neither [B, *{input_shape}] nor "
        f"[{k}, B, *{input_shape}]"
    )


def activation_groups(specs: Sequence[ModelSpec]) -> list[list[int]]:
    """Member indices grouped by activation (name and parameters), in order of first use."""
    groups: dict[tuple, list[int]] = {}
    for k, spec in enumerate(specs):
        groups.setdefault((spec.activation, spec.activation_params), []).append(k)
    return list(groups.values())
