"""K 1-D CNNs of one architecture as stacked weights, each block run as ONE grouped convolution.

Member ``k`` of a :class:`StackedCNN1d` computes what ``build(specs[k], seed=seeds[k])`` (a
``cnn1d``) computes. The members' feature maps lie side by side along the channels,
``h = [B, K*C, L]`` (member ``k`` owns channels ``k*C .. (k+1)*C - 1``), and block ``l`` is

    z_l = conv1d(h_{l-1}, W_l.reshape(K*C, C_in, 5), b_l.reshape(K*C), stride=2, padding=2,
                 groups=K)                                        (member k's filters see only
    h_l = drop(act_k(norm_k(z_l)))                                 member k's channels)
    y_k = flatten(h_L[:, kC:(k+1)C]) W_o[k] + b_o[k]               (torch.baddbmm)

with ``W_l[k]`` (``[K, C, C_in, 5]``) member k's ``Conv1d`` weight, so every parameter has the
members on dim 0. A shared input ``[B, C_in, L]`` is not copied K times: the first convolution
runs with ``groups=1`` on it, every member's filters reading the same channels. ``layernorm``
(``GroupNorm(1, C)`` per member) is ``group_norm`` with K groups: each group is one member's
``[C, L]`` map. Activations run per activation group (:class:`~actlab.models.stacked.PerMember`)
on the view ``[K, B, C*L]``, or ``[K, B*L, C]`` (channels last) when a member's activation acts
along the channels (softmax).

Members may differ in activation (and its parameters), initializer and seed; they share input
shape, outputs, depth, width, normalization (``none`` or ``layernorm``) and dropout. Refused,
with :class:`~actlab.models.stacks.ModuleStack` as the way out: batchnorm (its batch statistics
and running buffers are per member state the grouped form does not keep) and maxout (its max
over channel pieces precedes the norm and would need its own layout).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actlab.activations import ACTIVATIONS
from actlab.errors import ActlabError
from actlab.models._core import ModelSpec, build
from actlab.models._stacking import activation_groups, check_members, member_inputs
from actlab.models.cnn import KERNEL_1D, STRIDE_1D
from actlab.models.stacked import PerMember, WeightStack

__all__ = ["StackedCNN1d"]

_NAME = "StackedCNN1d"
_SHARED = ("kind", "input_shape", "n_outputs", "depth", "width", "normalization", "dropout")


class StackedCNN1d(WeightStack):
    """K ``cnn1d`` networks sharing one architecture, as grouped convolutions (module docstring).

    Args:
        specs: one ``"cnn1d"`` :class:`ModelSpec` per member (no batchnorm, no maxout).
        seeds: one seed per member; member ``k`` starts from exactly the weights
            ``build(specs[k], seed=seeds[k])`` draws (it is built and its weights copied in).

    Input ``[B, *input_shape]`` (shared; ``input_shape`` is ``(L,)`` or ``(C, L)``) or
    ``[K, B, *input_shape]`` (one batch per member); output ``[K, B, n_outputs]``. In training
    mode dropout (and RReLU) draw their own randomness, so members match their plain models
    there only in distribution.

    >>> specs = [ModelSpec("cnn1d", input_shape=(12,), width=4, activation=a) for a in
    ...          ("relu", "prelu")]
    >>> net = StackedCNN1d(specs, seeds=[0, 1])
    >>> x = torch.randn(5, 12)
    >>> torch.allclose(net(x)[1], net.member(1)(x), atol=1e-6)
    True
    """

    def __init__(self, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> None:
        super().__init__()
        self.specs, self.seeds = tuple(specs), tuple(seeds)
        self.spec = spec = _check(self.specs, self.seeds)
        K, C, depth = len(self.specs), spec.width, spec.depth
        self.in_channels, length = (1, *spec.input_shape)[-2:]
        for _ in range(depth):
            length = (length - 1) // STRIDE_1D + 1

        def zeros(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.zeros(K, *shape))

        channels = [self.in_channels] + [C] * (depth - 1)
        self.weights = nn.ParameterList(zeros(C, c, KERNEL_1D) for c in channels)
        self.biases = nn.ParameterList(zeros(C) for _ in range(depth))
        self.layernorm = spec.normalization == "layernorm"
        if self.layernorm:
            self.norm_weights = nn.ParameterList(zeros(C) for _ in range(depth))
            self.norm_biases = nn.ParameterList(zeros(C) for _ in range(depth))
        self.head_weight = zeros(C * length, spec.n_outputs)
        self.head_bias = zeros(1, spec.n_outputs)
        groups = activation_groups(self.specs)
        self.where = {k: (g, i) for g, members in enumerate(groups) for i, k in enumerate(members)}
        self.acts = nn.ModuleList(PerMember(self.specs, groups) for _ in range(depth))
        self.channels_last = any(
            "dim" in ACTIVATIONS.get(self.specs[g[0]].activation).defaults for g in groups
        )
        with torch.no_grad():
            for k in range(K):
                model = build(self.specs[k], seed=self.seeds[k])
                for stacked, plain in self._pairs(k, model):
                    stacked.copy_(plain)
        norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
        self.eps = norms[0].eps if norms else 0.0

    def forward(self, x: Tensor) -> Tensor:
        K, c_in = len(self), self.in_channels
        shared = member_inputs(_NAME, x, self.spec.input_shape, K)
        if shared:
            h = x.reshape(x.shape[0], c_in, -1)
        else:
            h = x.reshape(K, x.shape[1], c_in, -1).transpose(0, 1).reshape(x.shape[1], K * c_in, -1)
        for layer, act in enumerate(self.acts):
            weight = self.weights[layer]
            h = F.conv1d(
                h,
                weight.reshape(-1, *weight.shape[2:]),
                self.biases[layer].reshape(-1),
                stride=STRIDE_1D,
                padding=KERNEL_1D // 2,
                groups=1 if shared and layer == 0 else K,
            )
            h = self._activate(act, self._norm(h, layer))
            h = F.dropout(h, self.spec.dropout, self.training) if self.spec.dropout else h
        h = h.reshape(h.shape[0], K, -1).transpose(0, 1)
        return torch.baddbmm(self.head_bias, h, self.head_weight)

    def member_parameters(self, k: int) -> list[Tensor]:
        """Views of member ``k``'s parameters, shaped and ordered as ``member(k).parameters()``;
        writing to a view writes the stack."""
        group, i = self.where[self._index(k)]
        out: list[Tensor] = []
        for layer in range(self.spec.depth):
            out += [self.weights[layer][k], self.biases[layer][k]]
            if self.layernorm:
                out += [self.norm_weights[layer][k], self.norm_biases[layer][k]]
            grouped = self.acts[layer].groups[group]
            out += [getattr(grouped, key)[i].reshape(()) for key in grouped.learned]
        return [*out, self.head_weight[k].T, self.head_bias[k, 0]]

    def _pairs(self, k: int, model: nn.Module) -> Iterator[tuple[Tensor, Tensor]]:
        return zip(self.member_parameters(k), model.parameters(), strict=True)

    def _norm(self, h: Tensor, layer: int) -> Tensor:
        if not self.layernorm:
            return h
        weight, bias = self.norm_weights[layer].reshape(-1), self.norm_biases[layer].reshape(-1)
        return F.group_norm(h, len(self), weight, bias, self.eps)

    def _activate(self, act: nn.Module, h: Tensor) -> Tensor:
        """``act`` on the members' maps ``[B, K*C, L]``, seen member-first (no copy unless the
        activation groups or channels-last layout need one)."""
        (B, KC, L), K = h.shape, len(self)
        if self.channels_last:
            z = h.reshape(B, K, -1, L).permute(1, 0, 3, 2).reshape(K, B * L, -1)
            return act(z).reshape(K, B, L, -1).permute(1, 0, 3, 2).reshape(B, KC, L)
        return act(h.reshape(B, K, -1).transpose(0, 1)).transpose(0, 1).reshape(B, KC, L)


def _check(specs: tuple[ModelSpec, ...], seeds: tuple[int, ...]) -> ModelSpec:
    for spec in specs:
        kind = getattr(spec, "kind", spec)
        if kind != "cnn1d":
            raise ActlabError(f"{_NAME} stacks 'cnn1d' specs, got {kind!r}")
        if spec.normalization == "batchnorm":
            raise ActlabError(
                f"{_NAME} supports normalization 'none' or 'layernorm', not batchnorm "
                "(ModuleStack stacks it)"
            )
        if spec.maxout:
            raise ActlabError(
                f"{_NAME} does not stack maxout CNNs (the max over channel pieces comes before "
                "the norm; ModuleStack stacks them)"
            )
    return check_members(_NAME, specs, seeds, _SHARED)
