"""The multilayer perceptron: ``depth`` hidden layers of ``width`` units and a linear output.

    h_0 = flatten(x),  h_l = [h_{l-1} +] drop(act(norm(W_l h_{l-1} + b_l))),  y = W_o h_L + b_o

With activation ``"maxout"`` a hidden layer is :class:`actlab.nn.Maxout`:
``h_l = norm(max_j (W_lj h_{l-1} + b_lj))`` over ``pieces`` linear maps, so it holds ``pieces``
times the weights of a plain layer.
"""

from __future__ import annotations

from torch import nn

from actlab.models._core import ModelSpec, hyperparams, register
from actlab.models.layers import block
from actlab.nn import Maxout

__all__ = ["mlp"]


def mlp(spec: ModelSpec) -> nn.Sequential:
    """``Flatten, Block_1 .. Block_depth, Linear(width, n_outputs)`` (weights not yet drawn).

    Block ``l`` is ``layer`` (``Linear`` or ``Maxout``) -> ``norm`` -> ``act`` -> ``drop``;
    with ``residual`` it adds its input wherever that is ``width`` wide (every block but the
    first, and the first too when the flattened input is ``width`` wide).
    """
    layers: list[nn.Module] = [nn.Flatten()]
    n_in = spec.in_features
    for _ in range(spec.depth):
        layer = (
            Maxout(n_in, spec.width, spec.pieces) if spec.maxout else nn.Linear(n_in, spec.width)
        )
        layers.append(block(spec, layer, spec.width, residual=spec.residual and n_in == spec.width))
        n_in = spec.width
    layers.append(nn.Linear(n_in, spec.n_outputs))
    return nn.Sequential(*layers)


def _check(spec: ModelSpec) -> str | None:
    if spec.residual and spec.depth == 1 and spec.in_features != spec.width:
        return (
            f"residual needs a hidden layer whose input and output widths agree; depth=1 maps "
            f"{spec.in_features} -> {spec.width} (use depth >= 2 or width={spec.in_features})"
        )
    return None


register(
    name="mlp",
    aliases=("fc", "dense"),
    summary="Multilayer perceptron: depth hidden layers of width units, Linear -> Norm -> "
    "Activation -> Dropout, optional residual skips, linear output.",
    params=hyperparams(depth=2, width=64, min_depth=0),
    builder=mlp,
    check_spec=_check,
    reference="Rumelhart, Hinton & Williams 1986; He et al. 2016 (residual)",
)
