"""K MLPs of one architecture held as stacked weights, run with one batched matmul per layer.

Member ``k`` of a :class:`StackedMLP` computes exactly what ``build(specs[k], seed=seeds[k])``
computes, with weights ``[K, in, out]`` and biases ``[K, 1, out]``:

    h_0 = flatten(x_k),  z_l = h_{l-1} W_l[k] + b_l[k]              (torch.baddbmm)
    h_l = [h_{l-1} +] drop(act_k(norm_k(z_l)))                       (maxout: norm_k(act_k(z_l)))
    y_k = h_L W_o[k] + b_o[k]

Members may differ in activation (and its parameters), initializer and seed; they share depth,
width, input shape, outputs, normalization (``none`` or ``layernorm``), dropout and residual.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.models._core import ModelSpec, build
from actlab.models.layers import activation
from actlab.nn import Activation, Maxout

__all__ = ["StackedMLP"]

_SHARED = (
    "kind",
    "input_shape",
    "n_outputs",
    "depth",
    "width",
    "normalization",
    "dropout",
    "residual",
    "maxout",
)


class _GroupActivation(Activation):
    """One activation applied to a group of ``n`` members ``[n, B, F]``; each learnable parameter
    (PReLU's slope) is one value per member, shape ``[n, 1, 1]``. Its forward is
    :class:`actlab.nn.Activation`'s; only the parameters' shape differs."""

    def __init__(self, spec: ModelSpec, index: list[int]) -> None:
        nn.Module.__init__(self)
        plain = activation(spec)  # the very module build() uses, to read its resolved parameters
        self.info, self.params, self.learned = plain.info, plain.params, plain.learned
        self.register_buffer("index", torch.tensor(index, dtype=torch.long), persistent=False)
        for key in self.learned:
            value = getattr(plain, key).detach().reshape(1, 1, 1).repeat(len(index), 1, 1)
            self.register_parameter(key, nn.Parameter(value))


ALIGN = 64  # elements: a multiple of every CPU vector loop's width (AVX-512 bfloat16 x 2)
# Bytes that one iteration of PyTorch's vectorized CPU loop covers (two vectors), by the CPU
# capability its kernels were dispatched for; an unknown capability pads to ALIGN elements.
_LOOP_BYTES = {"DEFAULT": 64, "AVX2": 64, "AVX512": 128}


def _align(x: Tensor) -> int:
    """Elements per vector-loop iteration for ``x``: a member's block of a multiple of this
    many elements starts every element in the same lane wherever the member sits."""
    if x.device.type != "cpu":
        return ALIGN
    loop = _LOOP_BYTES.get(_capability())
    return ALIGN if loop is None else max(1, loop // x.element_size())


@functools.cache
def _capability() -> str:
    get = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return get() if get is not None else ""


class PerMember(nn.Module):
    """A hidden layer's activations: each group on its members' slice of dim 0, put back in
    member order (slices, cat and a permutation: no arithmetic, so nothing is rounded). When the
    groups are contiguous runs of members in order -- the batched trainer orders its members so
    -- each group reads a view and one ``cat`` restores the order."""

    def __init__(self, specs: Sequence[ModelSpec], groups: list[list[int]]) -> None:
        super().__init__()
        self.groups = nn.ModuleList(_GroupActivation(specs[g[0]], g) for g in groups)
        order = [k for g in groups for k in g]
        self.sizes = [len(g) for g in groups] if order == list(range(len(order))) else None
        self.register_buffer(
            "inverse", torch.argsort(torch.tensor(order, dtype=torch.long)), persistent=False
        )

    def forward(self, x: Tensor) -> Tensor:
        # Elementwise kernels run a vectorized body and a scalar tail that may round the last
        # bit differently (sigmoid, SiLU, ELU, softplus): pad the batch so that every member's
        # block is a multiple of the loop's width (``_align``), and each element lands in the
        # same lane wherever its member sits -- a member then equals itself in any stack.
        n, batch = x.shape[0], x.shape[1]
        align = _align(x)
        pad = (-batch) % (align // math.gcd(x[0, 0].numel() or 1, align))
        if not pad:
            return self._forward(x)
        y = self._forward(torch.cat([x, x.new_zeros(n, pad, *x.shape[2:])], 1))
        return y.split([batch, pad], 1)[0]  # backward: zeros for the pad only, not all of y

    def _forward(self, x: Tensor) -> Tensor:
        if len(self.groups) == 1:
            return self.groups[0](x)
        if self.sizes is not None:  # split's backward is one cat (a slice's fills zeros first)
            return torch.cat([g(part) for g, part in zip(self.groups, x.split(self.sizes))])
        parts = [g(x.index_select(0, g.index)) for g in self.groups]
        return torch.cat(parts).index_select(0, self.inverse)


class WeightStack(nn.Module):
    """What the stacks with stacked weights share: a member as a plain model, and which member
    owns each parameter row. Subclasses set ``specs`` and ``seeds`` and define
    ``_pairs(k, model)``: ``(stacked view, plain tensor)`` for every parameter of member ``k``."""

    specs: tuple[ModelSpec, ...]
    seeds: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.specs)

    def _index(self, k: int) -> int:
        if not 0 <= k < len(self):
            raise ActlabError(f"member {k} is out of range; this stack has {len(self)} members")
        return k

    def _pairs(self, k: int, model: nn.Module) -> Iterator[tuple[Tensor, Tensor]]:
        raise NotImplementedError

    def member(self, k: int) -> nn.Sequential:
        """Member ``k`` alone: ``build(specs[k], seeds[k])`` with this member's current weights
        copied in, on this model's device and dtype and in its train/eval mode."""
        k = self._index(k)
        model = build(self.specs[k], seed=self.seeds[k]).to(next(self.parameters()))
        with torch.no_grad():
            for stacked, plain in self._pairs(k, model):
                plain.copy_(stacked)
        return model.train(self.training)

    def parameter_members(self) -> list[tuple[nn.Parameter, Tensor]]:
        """Every parameter with the member owning each of its rows (see :func:`member_rows`)."""
        return member_rows(self, len(self))


class StackedMLP(WeightStack):
    """K MLPs sharing one architecture, as stacked weights (see the module docstring).

    Args:
        specs: one ``"mlp"`` :class:`ModelSpec` per member (batchnorm is not supported).
        seeds: one seed per member; member ``k`` starts from exactly the weights
            ``build(specs[k], seed=seeds[k])`` draws (it is built and its weights copied in).

    Input ``[B, *input_shape]`` (shared by all members) or ``[K, B, *input_shape]`` (one batch
    per member); output ``[K, B, n_outputs]``. Dropout draws its own masks, and RReLU its own
    slopes, in training mode, so a member equals its plain model there only in distribution.

    >>> specs = [ModelSpec(width=8, activation=a) for a in ("relu", "tanh")]
    >>> net = StackedMLP.from_specs(specs, seeds=[0, 1])
    >>> x = torch.randn(5, 2)
    >>> torch.allclose(net(x)[1], net.member(1)(x))
    True
    """

    def __init__(self, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> None:
        super().__init__()
        self.specs, self.seeds = tuple(specs), tuple(seeds)
        spec = _check(self.specs, self.seeds)
        self.spec = spec
        K, depth, width = len(self.specs), spec.depth, spec.width
        widths = [spec.in_features] + [width] * depth
        pieces = spec.pieces if spec.maxout else 1
        outs = [width * pieces] * depth + [spec.n_outputs]
        widths_out = [*widths[1:], spec.n_outputs]

        def zeros(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.zeros(K, *shape))

        self.weights = nn.ParameterList(zeros(n, m) for n, m in zip(widths, outs))
        self.biases = nn.ParameterList(zeros(1, m) for m in outs)
        self.layernorm = spec.normalization == "layernorm"
        if self.layernorm:
            self.norm_weights = nn.ParameterList(zeros(1, width) for _ in range(depth))
            self.norm_biases = nn.ParameterList(zeros(1, width) for _ in range(depth))
        self.residual = [spec.residual and n == m for n, m in zip(widths, widths_out)][:depth]
        keys: dict[tuple, list[int]] = {}
        for k, s in enumerate(self.specs):
            keys.setdefault((s.activation, s.activation_params), []).append(k)
        groups = list(keys.values())
        self.where = {k: (g, i) for g, members in enumerate(groups) for i, k in enumerate(members)}
        self.acts = nn.ModuleList(PerMember(self.specs, groups) for _ in range(depth))
        with torch.no_grad():
            for k in range(K):
                model = build(self.specs[k], seed=self.seeds[k])
                for stacked, plain in self._pairs(k, model):
                    stacked.copy_(plain)
        self.eps = _block(model, 0).norm.eps if self.layernorm else 0.0

    @classmethod
    def from_specs(cls, specs: Sequence[ModelSpec], seeds: Sequence[int]) -> StackedMLP:
        """K members, one per ``(spec, seed)``; see the class docstring."""
        return cls(specs, seeds)

    def forward(self, x: Tensor) -> Tensor:
        h = self._inputs(x)
        for layer, act in enumerate(self.acts):
            z = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            z = self._norm(act(z), layer) if self.spec.maxout else act(self._norm(z, layer))
            z = F.dropout(z, self.spec.dropout, self.training) if self.spec.dropout else z
            h = h + z if self.residual[layer] else z
        return torch.baddbmm(self.biases[-1], h, self.weights[-1])

    def member_parameters(self, k: int) -> list[Tensor]:
        """Views of member ``k``'s parameters, shaped and ordered as ``member(k).parameters()``
        (weights ``[out, in]`` as ``nn.Linear`` holds them); writing to a view writes the stack."""
        if not 0 <= k < len(self):
            raise ActlabError(f"member {k} is out of range; this stack has {len(self)} members")
        group, i = self.where[k]
        out: list[Tensor] = []
        for layer in range(self.spec.depth):
            out += [self.weights[layer][k].T, self.biases[layer][k, 0]]
            if self.layernorm:
                out += [self.norm_weights[layer][k, 0], self.norm_biases[layer][k, 0]]
            grouped = self.acts[layer].groups[group]
            out += [getattr(grouped, key)[i].reshape(()) for key in grouped.learned]
        return [*out, self.weights[-1][k].T, self.biases[-1][k, 0]]

    def _pairs(self, k: int, model: nn.Sequential) -> Iterator[tuple[Tensor, Tensor]]:
        """``(stacked view, plain tensor)`` for every parameter of member ``k``, in one order."""
        for layer in range(self.spec.depth):
            block = _block(model, layer)
            linear = block.layer.linear if isinstance(block.layer, Maxout) else block.layer
            yield self.weights[layer][k], linear.weight.T
            yield self.biases[layer][k, 0], linear.bias
            if self.layernorm:
                yield self.norm_weights[layer][k, 0], block.norm.weight
                yield self.norm_biases[layer][k, 0], block.norm.bias
            group, i = self.where[k]
            grouped = self.acts[layer].groups[group]
            for key in grouped.learned:
                yield getattr(grouped, key)[i].reshape(()), getattr(block.act, key)
        head = model[-1]
        yield self.weights[-1][k], head.weight.T
        yield self.biases[-1][k, 0], head.bias

    def _norm(self, z: Tensor, layer: int) -> Tensor:
        if not self.layernorm:
            return z
        z = F.layer_norm(z, z.shape[-1:], eps=self.eps)
        return torch.addcmul(self.norm_biases[layer], z, self.norm_weights[layer])

    def _inputs(self, x: Tensor) -> Tensor:
        shape, K = self.spec.input_shape, len(self)
        if x.dim() == len(shape) + 1 and tuple(x.shape[1:]) == shape:
            return x.reshape(1, x.shape[0], -1).expand(K, -1, -1)
        if x.dim() == len(shape) + 2 and x.shape[0] == K and tuple(x.shape[2:]) == shape:
            return x.reshape(K, x.shape[1], -1)
        raise ActlabError(
            f"StackedMLP: input of shape {tuple(x.shape)} is neither [B, *{shape}] nor "
            f"[{K}, B, *{shape}]"
        )


def member_rows(stack: nn.Module, n_members: int) -> list[tuple[nn.Parameter, Tensor]]:
    """``(parameter, members)`` for every parameter of ``stack``: ``members[r]`` is the member
    that row ``r`` (along dim 0) belongs to. Stacked weights ``[K, ...]`` map row k to member k
    (``arange(K)``); a learned activation parameter ``[n_group, 1, 1]`` maps its rows to the
    group's members (:class:`_GroupActivation`'s ``index``)."""
    grouped = {
        id(p): m.index
        for m in stack.modules()
        if isinstance(m, _GroupActivation)
        for p in m.parameters()
    }
    return [
        (p, grouped.get(id(p), torch.arange(n_members, device=p.device)))
        for p in stack.parameters()
    ]


def _block(model: nn.Sequential, layer: int) -> nn.Module:
    return model[1 + layer]  # model[0] is the Flatten


def _check(specs: tuple[ModelSpec, ...], seeds: tuple[int, ...]) -> ModelSpec:
    if not specs:
        raise ActlabError("StackedMLP needs at least one member spec")
    if len(seeds) != len(specs):
        raise ActlabError(f"StackedMLP: {len(specs)} specs but {len(seeds)} seeds")
    for spec in specs:
        if not isinstance(spec, ModelSpec) or spec.kind != "mlp":
            raise ActlabError(f"StackedMLP stacks 'mlp' specs, got {getattr(spec, 'kind', spec)!r}")
    first = specs[0]
    if first.normalization == "batchnorm":
        raise ActlabError("StackedMLP supports normalization 'none' or 'layernorm', not batchnorm")
    for k, spec in enumerate(specs[1:], 1):
        for name in (*_SHARED, "pieces") if first.maxout else _SHARED:
            if getattr(spec, name) != getattr(first, name):
                raise ActlabError(
                    f"StackedMLP: member {k} has {name}={getattr(spec, name)!r}, member 0 "
                    f"{getattr(first, name)!r}; members must share {', '.join(_SHARED)}"
                )
    return first
