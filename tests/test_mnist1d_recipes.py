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


@pytest.mark.parametrize(
    "preset, low, high",
    [
        ("mnist1d-paper-logreg", 0.28, 0.36),  # paper 32%; 150 epochs: 31.4 +- 0.1 (bench)
        ("mnist1d-paper-mlp", 0.58, 0.70),  # paper 68%; 150 epochs: 64.9 +- 1.3
        ("mnist1d-paper-cnn", 0.85, 0.97),  # paper 94%; 150 epochs: 93.5 +- 0.8
    ],
)
def test_the_papers_recipes_as_written_shortened_to_30_epochs(tmp_path, preset, low, high):
    """The full 150-epoch recipes over 5 seeds are bench/recipes.py's (docs/studies.md); CI
    trains seed 0 for 30 epochs (1200 of the 6000 steps): measured 32.0%, 63.7%, 90.7%."""
    study = PRESETS.get(preset).study.replace(seeds=(0,), epochs=30)
    with run_study(study, tmp_path) as store:
        (run,) = store.runs()
        final = max(store.metrics(run.key), key=lambda m: m["epoch"])
    assert run.status == "done" and low <= final["test_acc"] <= high, final


def test_the_paper_presets_are_the_published_networks():
    from actlab.models import build
    from actlab.study.runner import load_data

    sizes = {}
    for name in ("mnist1d-paper-logreg", "mnist1d-paper-mlp", "mnist1d-paper-cnn"):
        study = PRESETS.get(name).study
        (run, *_) = study.runs()
        assert (run.shuffle, run.batch_size, run.epochs, run.init) == (
            False,
            100,
            150,
            "torch_default",
        )
        assert dict(run.optimizer_params)["lr"] == 0.01 and run.optimizer == "adam"
        data = load_data(study)
        assert len(data.x_train) // 100 * run.epochs == 6000  # the paper's 6000 steps
        net = build(run.model_spec(data), seed=0)
        sizes[name] = sum(p.numel() for p in net.parameters())
    assert sizes == {
        "mnist1d-paper-logreg": 40 * 10 + 10,
        "mnist1d-paper-mlp": 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10,
        "mnist1d-paper-cnn": 5210,
    }
