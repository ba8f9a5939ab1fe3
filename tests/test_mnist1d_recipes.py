"""A published result as a check: the MNIST-1D paper's recipes reach its accuracies.

Greydanus & Kobak report 68% test accuracy for the MLP and 94% for the CNN (6000 steps); with the
presets' shorter schedules actlab must land the MLP in 55-72% and the CNN at 88% or more."""

from __future__ import annotations

import pytest

from actlab.study.presets import PRESETS
from actlab.study.runner import run_study


@pytest.mark.parametrize(
    "preset, low, high", [("mnist1d-mlp", 0.55, 0.72), ("mnist1d-cnn", 0.88, 1)]
)
def test_mnist1d_recipe_reaches_the_published_accuracy(tmp_path, preset, low, high):
    study = PRESETS.get(preset).study.replace(seeds=(0,))
    with run_study(study, tmp_path) as store:
        (run,) = store.runs()
        assert run.status == "done"
        final = max(store.metrics(run.key), key=lambda m: m["epoch"])
    assert final["epoch"] == study.epochs
    assert low <= final["test_acc"] <= high, final
