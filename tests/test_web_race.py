"""Races: configurations side by side from the same data and initial weights."""

from __future__ import annotations

import json

import pytest
import torch

from actlab.errors import ParameterError
from actlab.web import LIMITS, PlaygroundSession
from actlab.web.config import RACE_FIELDS
from actlab.web.protocol import Channel
from actlab.web.race import Race


def linears(session: PlaygroundSession) -> list[torch.Tensor]:
    return [t.detach().clone() for m in session.linears for t in (m.weight, m.bias)]


def test_racers_share_data_and_initial_weights():
    base = PlaygroundSession({"dataset": "spiral", "hidden": [4, 3], "seed": 8})
    start = linears(PlaygroundSession(base.config))
    base.step(2)  # a race starts from the initial weights, not from where the base got to
    race = Race(base, [{"optimizer": "adam"}, {"activation": "prelu"}, {"learning_rate": 0.1}])
    assert len(race.racers) == LIMITS.max_racers
    for racer in race.racers:
        assert racer.epoch == 0
        assert all(torch.equal(a, b) for a, b in zip(linears(racer), start))
        assert torch.equal(racer.dataset.x_train, base.dataset.x_train)
    frames = race.step(3)
    assert [f.epoch for f in frames] == [3] * 4
    assert len({f.train_loss for f in frames}) == 4  # each change shows
    race.reset()
    assert all(torch.equal(a, b) for r in race.racers for a, b in zip(linears(r), start))


def test_a_racer_equals_the_same_configuration_alone():
    base = PlaygroundSession({"hidden": [3], "seed": 2})
    race = Race(base, [{"optimizer": "adam", "learning_rate": 0.01}])
    alone = PlaygroundSession(
        {"hidden": [3], "seed": 2, "optimizer": "adam", "learning_rate": 0.01}
    )
    for a, b in zip(alone.linears, race.racers[1].linears):  # same init scheme and activation
        assert torch.equal(a.weight, b.weight)
    assert race.step(2)[1].train_loss == alone.step(2).train_loss


@pytest.mark.parametrize(
    "variants, words",
    [
        ([], "give 1 to 3 variants"),
        ([{}] * 4, "give 1 to 3 variants"),
        ([{"hidden": [2]}], "may change only"),
        ([{"seed": 3}], "may change only"),
        ([{"activation": "nope"}], "unknown activation"),
        ([3], "must be an object"),
        ("adam", "must be a list"),
    ],
)
def test_bad_races_are_refused_and_change_nothing(variants, words):
    base = PlaygroundSession({"hidden": [3]})
    base.step(2)
    before = linears(base)
    with pytest.raises(ParameterError, match=words):
        Race(base, variants)
    assert base.epoch == 2 and all(torch.equal(a, b) for a, b in zip(before, linears(base)))


def test_race_over_the_protocol():
    channel = Channel(PlaygroundSession({"hidden": [2]}))
    replies = channel.handle(json.dumps({"type": "race", "variants": [{"optimizer": "adam"}]}))
    assert [r["type"] for r in replies] == ["config", "frame", "race"]
    frame, race = channel.handle('{"type": "step", "epochs": 2}')
    assert frame["epoch"] == 2 and [r["epoch"] for r in race["racers"]] == [2, 2]
    assert race["racers"][1]["changes"] == {"optimizer": "adam"}
    frame, race = channel.handle('{"type": "reset"}')
    assert [r["epoch"] for r in race["racers"]] == [0, 0]
    replies = channel.handle('{"type": "config", "config": {"activation": "relu"}}')
    assert [r["type"] for r in replies] == ["config", "frame"] and channel.race is None


def test_race_fields_are_what_the_menus_offer():
    from actlab.web import menus

    assert menus()["race_fields"] == list(RACE_FIELDS)
