"""ConvNetJS's view of a hidden layer: the input square, bent by the network into the space of
two of the layer's units (Karpathy's ConvNetJS 2-D classification demo).

Straight grid lines of the input square ``[-extent, extent]^2`` and the training points are
sent through the network up to hidden layer ``layer``; two of its units are the axes. Where the
layer has made the classes linearly separable, a straight line splits the points.

>>> from actlab.web.session import PlaygroundSession
>>> view = transformed(PlaygroundSession({"hidden": [3, 2]}), layer=1)
>>> len(view["lines"]), len(view["lines"][0]), len(view["points"])
(22, 60, 250)
"""

from __future__ import annotations

from typing import Any

import torch

from actlab.errors import ParameterError
from actlab.web.config import LIMITS
from actlab.web.session import PlaygroundSession

__all__ = ["transformed"]


def _unit_pair(units: Any, width: int) -> tuple[int, int]:
    if not isinstance(units, (list, tuple)) or len(units) != 2:
        raise ParameterError("units must be a pair [i, j] of unit indices")
    for u in units:
        if isinstance(u, bool) or not isinstance(u, int) or not 0 <= u < width:
            raise ParameterError(f"unit {u!r} is out of range; valid range is [0, {width - 1}]")
    return int(units[0]), int(units[1])


@torch.no_grad()
def transformed(
    session: PlaygroundSession,
    layer: int,
    units: Any = (0, 1),
    *,
    lines: int = 11,
    samples: int = 60,
) -> dict[str, Any]:
    """Grid lines and training points in the space of units ``units`` of hidden ``layer``.

    Returns ``lines``: ``2 * lines`` polylines of ``samples`` ``[u, v]`` points (horizontal
    lines first); ``points``: one ``[u, v]`` per training point; ``labels``: their targets.
    A layer of one unit uses it for both axes.
    """
    hidden = session.config.hidden
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(hidden):
        raise ParameterError(
            f"layer={layer!r} is out of range; valid range is [0, {len(hidden) - 1}]"
        )
    width = hidden[layer]
    pair = (0, 0) if width == 1 and tuple(units) == (0, 1) else _unit_pair(units, width)
    ticks = torch.linspace(-LIMITS.extent, LIMITS.extent, lines)
    t = torch.linspace(-LIMITS.extent, LIMITS.extent, samples)
    horizontal = torch.stack([t.expand(lines, -1), ticks[:, None].expand(-1, samples)], dim=-1)
    vertical = torch.stack([ticks[:, None].expand(-1, samples), t.expand(lines, -1)], dim=-1)
    raw = torch.cat([horizontal, vertical]).reshape(-1, 2)
    bent = session.hidden(raw, layer)[:, list(pair)].reshape(2 * lines, samples, 2)
    points = session.hidden(session.dataset.x_train, layer)[:, list(pair)]
    return {
        "layer": layer,
        "units": list(pair),
        "lines": torch.nan_to_num(bent).tolist(),
        "points": torch.nan_to_num(points).tolist(),
        "labels": session.dataset.y_train.reshape(-1).tolist(),
    }
