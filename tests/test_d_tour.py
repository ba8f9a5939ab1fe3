"""The README's tour teaches what it claims: each command and preset shows its lesson in the
stored results (accuracies, ranks, confidence intervals, steps to the target), never timings."""

from __future__ import annotations

import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.cli._study_flags import study_from_flags
from actlab.optim.race import RaceConfig, run
from actlab.report.race import title
from actlab.study import Store
from actlab.study.presets import PRESETS, recipe_for
from actlab.study.runner import run_study
from actlab.study.stats import summarize

runner = CliRunner()


def ranked(store: Store):
    return summarize(store.runs(), store.metrics(), target=store.study.get("target"))


def test_spiral_tour_line_learns(tmp_path):
    """``actlab compare --dataset spiral ...`` as the README types it starts from the 2-D toy
    recipe (not MNIST-1D's 60 steps): its best variant classifies the spiral."""
    out = tmp_path / "spiral"
    args = ["compare", "--dataset", "spiral", "--activations", "relu,tanh,elu"]
    args += ["--optimizers", "sgd,adam", "--seeds", "5", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert recipe_for("spiral").name == "toy-2d"
    with Store.open(out) as store:
        summaries = ranked(store)
        assert len(store.runs()) == 30 and {r.status for r in store.runs()} == {"done"}
    best = summaries[0]
    assert best.final_mean >= 0.90, [(s.label, s.final_mean) for s in summaries]
    assert best.config["optimizer"] == "adam"


def test_flags_start_from_the_recipe_of_their_dataset():
    toy = study_from_flags(None, None, dataset="moons", seeds="2")
    assert (toy.name, toy.epochs, toy.batch_size, toy.width) == ("compare", 100, 25, 64)
    assert toy.seeds == (0, 1)
    named = study_from_flags(None, "quickstart", dataset="spiral")  # a named preset wins
    assert (named.epochs, named.batch_size) == (20, 100)
    mnist = study_from_flags(None, None, dataset="mnist1d", epochs=3)
    assert (mnist.width, mnist.epochs) == (100, 3)


def test_race_defaults_are_fair_and_momentum_beats_gradient_descent(tmp_path):
    """Tuned learning rates by default (said in the title): momentum and Nesterov reach Beale's
    tolerance in fewer steps than plain gradient descent, and AdaGrad's step shrinks."""
    result = run(RaceConfig("beale"))
    assert result.lr_source == "tuned" and "tuned by log-grid search" in title(result)
    steps = {p.optimizer: p.steps_to_target for p in result.paths}
    gd = steps["sgd"] if steps["sgd"] is not None else result.steps + 1
    assert steps["momentum"] is not None and steps["momentum"] < gd, steps
    assert steps["nag"] is not None and steps["nag"] < gd, steps
    adagrad = next(p for p in result.paths if p.optimizer == "adagrad")
    step = (adagrad.points[1:] - adagrad.points[:-1]).norm(dim=1)
    tenths = step[: len(step) // 10 * 10].view(10, -1).mean(dim=1)
    assert torch.all(tenths[1:] < tenths[:-1]), tenths  # every tenth of the run: shorter steps
    assert tenths[-1] < 0.01 * tenths[0]
    # the CLI races the same tuned learning rates without being asked
    out = tmp_path / "race.png"
    cli = ["race", "--surface", "beale", "--optimizers", "sgd,momentum", "--out", str(out)]
    cli_result = runner.invoke(app, cli)
    assert cli_result.exit_code == 0, cli_result.output
    assert "tuned by log-grid search" in " ".join(cli_result.output.split())


def test_deep_sigmoid_preset_cure_beats_naive_init(tmp_path):
    """For every activation of the preset, ``auto`` ranks above N(0, 0.01^2) weights with 95%
    confidence intervals that do not overlap."""
    study = PRESETS.get("deep-sigmoid").study
    assert study.inits == ("normal", "auto")
    with run_study(study, tmp_path / "deep") as store:
        summaries = ranked(store)
    rank = {(s.config["activation"], s.config["init"]): i for i, s in enumerate(summaries)}
    by = {(s.config["activation"], s.config["init"]): s for s in summaries}
    for act in study.activations:
        cure, naive = by[(act, "auto")], by[(act, "normal")]
        assert rank[(act, "auto")] < rank[(act, "normal")], act
        assert cure.n_done == naive.n_done == len(study.seeds), act
        assert cure.final_interval[0] > naive.final_interval[1], (
            act,
            cure.final_interval,
            naive.final_interval,
        )
