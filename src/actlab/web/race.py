"""A race: 2-4 playground configurations trained side by side from the same data and weights.

The first racer is the base session; each other racer changes only fields that leave the data
and the network's shape alone (:data:`RACE_FIELDS`), and starts from the base's initial weights,
copied, so any difference in their curves comes from the change alone. The page shows only the
other racers' losses and output, so they train without the health monitor and their frames
carry no thumbnails (``pictures=False``): a race of two costs less than twice one network.

>>> from actlab.web.session import PlaygroundSession
>>> race = Race(PlaygroundSession({"hidden": [3]}), [{"optimizer": "adam"}, {"activation": "relu"}])
>>> [f.epoch for f in race.step(2)]
[2, 2, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from actlab.errors import ParameterError
from actlab.web.config import LIMITS, RACE_FIELDS, Config
from actlab.web.session import Frame, PlaygroundSession

__all__ = ["MAX_RACERS", "RACE_FIELDS", "Race"]

MAX_RACERS = LIMITS.max_racers


class Race:
    """The base session and up to three variants of it, stepped together."""

    def __init__(self, base: PlaygroundSession, variants: Sequence[Mapping[str, Any]]) -> None:
        if not isinstance(variants, Sequence) or isinstance(variants, str):
            raise ParameterError("race: 'variants' must be a list of config changes")
        if not 1 <= len(variants) <= MAX_RACERS - 1:
            raise ParameterError(f"race: give 1 to {MAX_RACERS - 1} variants, not {len(variants)}")
        configs = [_variant(base.config, v, i) for i, v in enumerate(variants, 1)]
        # may fail: the base is still untouched
        others = [PlaygroundSession(cfg, watch=False) for cfg in configs]
        base.reset()
        self._start = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in base.linears]
        self.racers = [base, *others]
        for racer in others:
            self._copy_start(racer)

    @property
    def configs(self) -> list[Config]:
        return [r.config for r in self.racers]

    def step(self, epochs: int = 1) -> list[Frame]:
        """Train every racer ``epochs`` epochs; their frames, base first (the others' without
        thumbnails)."""
        base, *others = self.racers
        return [base.step(epochs), *(r.step(epochs, pictures=False) for r in others)]

    def frames(self) -> list[Frame]:
        base, *others = self.racers
        return [base.frame(), *(r.frame(pictures=False) for r in others)]

    def reset(self) -> None:
        """Every racer back to epoch 0 and the shared initial weights."""
        for racer in self.racers:
            racer.reset()
            self._copy_start(racer)

    @torch.no_grad()
    def _copy_start(self, racer: PlaygroundSession) -> None:
        """The shared initial weights (learned activation parameters keep their own defaults)."""
        for (weight, bias), linear in zip(self._start, racer.linears, strict=True):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)


def _variant(base: Config, changes: Mapping[str, Any], i: int) -> Config:
    if not isinstance(changes, Mapping):
        raise ParameterError(f"race: variant {i} must be an object of config changes")
    other = sorted(set(changes) - set(RACE_FIELDS))
    if other:
        raise ParameterError(
            f"race: variant {i} changes {other}; a racer may change only {list(RACE_FIELDS)} "
            "(the rest would change the data or the initial weights)"
        )
    return Config.from_dict(changes, base=base)
