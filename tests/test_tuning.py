"""A learning rate per variant (``tune_lr``, the DeepOBS protocol): the rate chosen is the one a
brute-force loop over the same grid and seeds picks on validation; the chosen rate is then run
over every seed, reusing the tuning runs; a tuned study resumes after an interruption to the same
numbers; bad tuning settings are one line."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch

from actlab.errors import ActlabError
from actlab.study import Store, tuning
from actlab.study.runner import load_data, run_study
from actlab.study.spec import Study
from actlab.train import Member, train

GRID = [0.001, 0.01, 0.1, 1.0]


def _study(**kw) -> Study:
    base = dict(
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        optimizers=("adam", "sgd"),
        tune_lr=GRID,
        seeds=(0, 1, 2),
        epochs=4,
        batch_size=16,
    )
    return Study(**{**base, **kw})


def _brute_force(study: Study) -> dict[str, float]:
    """Each variant: train every (rate, tuning seed) alone, score the final network's accuracy
    on the validation rows with plain torch, pick the best mean (ties: the smaller rate)."""
    data = load_data(study)
    best: dict[str, tuple[float, float]] = {}
    for act in study.activations:
        for opt in study.optimizers:
            scores = {}
            for lr in GRID:
                accs = []
                for seed in study.seeds[: study.tune_seeds]:
                    run = next(
                        r
                        for r in tuning.tuning_runs(study)
                        if (r.activation, r.optimizer, r.lr, r.seed) == (act, opt, lr, seed)
                    )
                    member = Member(run.model_spec(data), seed, opt, dict(run.optimizer_params))
                    result = train(data, [member], epochs=run.epochs, batch_size=run.batch_size)
                    if result.members[0].status != "done":
                        accs.append(-math.inf)
                        continue
                    with torch.no_grad():
                        guess = result.network(0).eval()(data.x_val).argmax(-1)
                    accs.append(float((guess == data.y_val).double().mean()))
                scores[lr] = sum(accs) / len(accs)
            top = max(sorted(scores), key=lambda lr: scores[lr])
            best[tuning.variant_of(run)] = top
    return best


def test_tuning_picks_what_a_brute_force_loop_picks_and_reuses_its_runs(tmp_path):
    study = _study()
    assert study.validation == 0.1  # tuning holds out a validation split by default
    with run_study(study, tmp_path) as store:
        chosen = tuning.choose(study, store.runs(), store.metrics())
        keys = {r.key for r in store.runs()}
    assert chosen == _brute_force(study)
    assert len(set(chosen.values())) > 1  # the variants do not all share one rate
    final = tuning.final_runs(study, chosen)
    assert len(final) == 4 * 3 and {r.key for r in final} <= keys
    tuned = {r.key for r in tuning.tuning_runs(study)}
    assert len(tuned) == 4 * len(GRID) and tuned <= keys
    assert len(keys) == len(tuned) + 4 * 2  # seed 0 at the chosen rate is trained once
    for run in final:
        assert run.lr == chosen[tuning.variant_of(run)]
    with Store.open(tmp_path) as store:  # the report ranks the final runs only
        records, metrics = tuning.reported(store)
        lines = tuning.chosen_lines(store)
    assert {r.key for r in records} == {r.key for r in final}
    assert {m["run"] for m in metrics} == {r.key for r in final}
    assert len(lines) == 4 and all("chosen on validation" in line for line in lines)


def _numbers(out):
    with Store.open(out) as store:
        runs = sorted((r.key, r.status, r.diverged_step) for r in store.runs())
        metrics = sorted(tuple(sorted(row.items())) for row in store.metrics())
    return runs, metrics


def test_an_interrupted_tuned_study_resumes_to_the_same_numbers(tmp_path):
    study = _study(activations=("relu",), epochs=3)
    run_study(study, tmp_path / "whole").close()

    class Bar:
        count = 0

        def __call__(self, work):
            bar = self

            class _cm:
                def __enter__(self):
                    def advance(n):
                        bar.count += 1
                        if bar.count == 3:
                            os.kill(os.getpid(), signal.SIGINT)

                    return advance

                def __exit__(self, *exc):
                    return None

            return _cm()

    with pytest.raises(KeyboardInterrupt):
        run_study(study, tmp_path / "cut", progress=Bar())
    run_study(study, tmp_path / "cut").close()
    assert _numbers(tmp_path / "cut") == _numbers(tmp_path / "whole")


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"tune_lr": [0.01, 0.1]}, "a tuning grid needs at least 3"),
        ({"tune_lr": [0.01, 0.1, -1.0]}, "-1.0 is not a positive learning rate"),
        ({"tune_lr": "fast"}, "must be true or a list"),
        ({"lr": (0.01,)}, "give lr/lrs or tune_lr, not both"),
        ({"tune_seeds": 4}, "tune_seeds=4"),
    ],
)
def test_bad_tuning_settings_are_one_line(kw, words):
    with pytest.raises(ActlabError, match=words):
        _study(**kw)


def test_the_default_grid_is_13_rates_from_1e_4_to_1():
    study = _study(tune_lr=True)
    assert study.tune_lr == tuning.DEFAULT_GRID and len(study.tune_lr) == 13
    assert study.tune_lr[0] == 1e-4 and study.tune_lr[-1] == 1.0
    ratios = [b / a for a, b in zip(study.tune_lr, study.tune_lr[1:], strict=False)]
    assert all(abs(r - 10 ** (1 / 3)) < 0.01 for r in ratios)
