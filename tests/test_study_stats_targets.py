"""Time to target on hand-made stores: each run's first epoch reaching the target, in steps,
examples and seconds, against a step-by-step scan of the stored curve; medians over seeds;
the speed-up ratio's bootstrap interval (contains the estimate, deterministic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actlab.errors import ActlabError
from actlab.report.study_report import render, report_study
from actlab.report.study_tables import speed_sentence, target_rows
from actlab.study import Store, run_key
from actlab.study.stats import summarize
from actlab.study.targets import first_reach, speedup, steps_per_epoch, target_times, train_size

N_TRAIN, BATCH = 250, 32  # 8 steps per epoch, the last one of 26 examples

# train accuracy per epoch (epoch 0 = before training), per variant and seed
CURVES = {
    "relu": [
        [0.5, 0.6, 0.76, 0.8, 0.85],
        [0.5, 0.7, 0.8, 0.82, 0.84],
        [0.5, 0.55, 0.7, 0.78, 0.9],
        [0.5, 0.6, 0.74, 0.77, 0.8],
    ],
    "tanh": [
        [0.5, 0.55, 0.6, 0.7, 0.76],
        [0.5, 0.6, 0.7, 0.74, 0.8],
        [0.5, 0.52, 0.6, 0.65, 0.7],  # never reaches 0.75
        [0.5, 0.6, 0.72, 0.76, 0.8],
    ],
}
WALL = {"relu": (4.0, 5.0, 6.0, 4.0), "tanh": (8.0, 8.0, 8.0, 9.0)}


def cfg(activation: str, seed: int, batch_size=BATCH) -> dict:
    return {"dataset": "circle", "activation": activation, "batch_size": batch_size, "seed": seed}


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "out", {"name": "ttt", "target": 0.75}) as s:
        for act, curves in CURVES.items():
            for seed, curve in enumerate(curves):
                rows = [{"train_loss": 1 - a, "train_acc": a, "test_acc": a - 0.05} for a in curve]
                c = cfg(act, seed)
                s.complete_run(run_key(c), c, seed=seed, metrics=rows, wall_s=WALL[act][seed])
        yield s


def scan(curve: list[float], target: float, n: int, batch: int, wall: float):
    """The reference: walk the stored epochs one by one, counting steps and examples."""
    steps = examples = 0
    for epoch, value in enumerate(curve):
        if value >= target:
            return epoch, steps, examples, wall * epoch / (len(curve) - 1)
        seen = 0
        while seen < n:  # one epoch of mini-batches
            seen += min(batch, n - seen)
            steps += 1
        examples += seen
    return None


def times(store, sizes=lambda config: N_TRAIN, metric="train_acc", target=0.75):
    summaries = summarize(store.runs(), store.metrics(), target=target)
    return summaries, target_times(
        summaries, store.runs(), store.metrics(), metric=metric, target=target, sizes=sizes
    )


def test_time_to_target_equals_a_step_by_step_scan(store):
    _, result = times(store)
    checked = 0
    for t in result:
        act = t.label
        for (seed, reach), curve in zip(t.runs, CURVES[act]):
            expected = scan(curve, 0.75, N_TRAIN, BATCH, WALL[act][seed])
            if expected is None:
                assert reach is None
                continue
            epoch, steps, examples, seconds = expected
            assert (reach.epoch, reach.step, reach.examples) == (epoch, steps, examples)
            assert reach.seconds == pytest.approx(seconds)
            checked += 1
    assert checked == 7
    relu, tanh = result
    assert relu.n_reached == 4 and tanh.n_reached == 3
    assert relu.median("step") == np.median([16, 16, 24, 24])  # epochs 2, 2, 3, 3
    assert relu.median("epoch") == 2.5
    # tanh: epochs 4, 4, never, 3 -> steps 32, 32, inf, 24; the median of four is 32
    assert list(tanh.values("step")) == [32, 32, math.inf, 24]
    assert tanh.median("step") == 32.0
    assert tanh.median("example") == 4 * N_TRAIN


def test_loss_targets_are_reached_from_above_and_full_batch_is_one_step(tmp_path):
    with Store.open(tmp_path / "out", {"name": "loss"}) as s:
        c = cfg("relu", 0, batch_size=None)
        losses = [2.0, 1.0, 0.6, 0.4, 0.3]
        s.complete_run(run_key(c), c, seed=0, metrics=[{"train_loss": v} for v in losses])
        _, (t,) = times(s, metric="train_loss", target=0.5)
    ((_, reach),) = t.runs
    assert (reach.epoch, reach.step, reach.examples, reach.seconds) == (3, 3, 3 * N_TRAIN, None)


def test_a_finer_evaluation_schedule_gives_steps_directly():
    rows = [
        {"epoch": 0, "step": 0, "val_acc": 0.5},
        {"epoch": 0, "step": 4, "val_acc": 0.7},
        {"epoch": 1, "step": 8, "val_acc": 0.72},
        {"epoch": 1, "step": 12, "val_acc": 0.81},
        {"epoch": 2, "step": 16, "val_acc": 0.9},
    ]
    reach = first_reach(rows, "val_acc", 0.8, train_size=N_TRAIN, batch_size=BATCH, wall_s=8.0)
    assert (reach.step, reach.examples, reach.seconds) == (12, N_TRAIN + 4 * BATCH, 6.0)


def test_steps_per_epoch_and_train_size(tmp_path, monkeypatch):
    assert steps_per_epoch(250, 32) == math.ceil(250 / 32) == 8
    assert steps_per_epoch(250, 1000) == 1  # a batch larger than the data: one step
    assert steps_per_epoch(None, 32) is None and steps_per_epoch(None, None) == 1
    # the toy "circle" set: 500 points, half for training; validation 0.2 keeps 80% of those
    assert train_size({"dataset": "circle", "dataset_params": {}}) == 250
    assert train_size({"dataset": "circle", "dataset_params": {}, "validation": 0.2}) == 200
    assert train_size({"dataset": "/nonexistent/data.csv", "dataset_params": {}}) is None
    monkeypatch.setenv("ACTLAB_DATA", str(tmp_path))  # an empty cache: a report never downloads
    assert train_size({"dataset": "mnist", "dataset_params": {}}) is None
    assert not any(tmp_path.iterdir())


def test_speedup_interval_contains_the_estimate_and_is_deterministic(store):
    _, (relu, tanh) = times(store)
    ratio, low, high = speedup(relu, tanh)
    assert ratio == pytest.approx(32 / 20)  # tanh's median steps over relu's
    assert low <= ratio <= high and low < high
    assert speedup(relu, tanh) == (ratio, low, high)  # seeded: the same numbers every call
    back = speedup(tanh, relu)
    assert back[0] == pytest.approx(1 / ratio) and back[1] <= back[0] <= back[2]
    assert speedup(relu, relu)[:3] == (1.0, 1.0, 1.0)  # paired resampling of the same runs
    lo, hi = relu.interval("step")
    assert lo <= relu.median("step") <= hi and relu.interval("step") == (lo, hi)
    # in some resamples most of tanh's seeds are the one that never reaches 0.75: no upper end
    assert (low, high) == (1.0, math.inf)
    assert speed_sentence(relu, tanh) == (
        "relu reaches 75% train accuracy 1.6x [1.0, ∞] as fast as tanh (median optimizer "
        "steps over seeds, 95% bootstrap interval)."
    )


def test_unknown_train_size_falls_back_to_epochs(store):
    _, (relu, tanh) = times(store, sizes=lambda config: None)
    assert math.isnan(relu.median("step")) and relu.median("epoch") == 2.5
    header, body = target_rows([relu, tanh])
    assert header[-1] == "epochs ÷ fastest's"
    assert body[0][0] == "relu" and body[0][-1] == "fastest" and body[0][3] == "-"


def test_bad_targets_are_one_line(store):
    summaries = summarize(store.runs(), store.metrics())
    with pytest.raises(ActlabError, match="target metric 'val_f1' is not one of"):
        target_times(summaries, store.runs(), store.metrics(), metric="val_f1", target=0.5)
    with pytest.raises(ActlabError, match="not a finite number"):
        first_reach([], "train_acc", math.nan)
    _, (relu, _) = times(store)
    with pytest.raises(ActlabError, match="time unit 'hour'"):
        relu.median("hour")


def test_report_shows_time_to_target(store, tmp_path):
    from rich.console import Console

    console = Console(record=True, width=200)
    paths = report_study(store, tmp_path / "r", console)
    text = console.export_text()
    assert "time to 75% test accuracy" in text
    page = paths["report"].read_text(encoding="utf-8")
    assert "<h2>Time to 75% test accuracy</h2>" in page
    assert render(store, tmp_path / "r2")["report"].read_text(encoding="utf-8") == page


def test_speed_sentence_when_only_one_variant_gets_there():
    from actlab.study.targets import Reach, TargetTimes

    def variant(label, epochs):
        runs = tuple((seed, None if e is None else Reach(e, 8 * e, 250 * e, None))
                     for seed, e in enumerate(epochs))  # fmt: skip
        return TargetTimes(label, "val_acc", 0.9, runs)

    fast, never = variant("relu", [2, 3, 3]), variant("tanh", [None, None, 4])
    assert speed_sentence(fast, never) == (
        "relu reaches 90% validation accuracy (median 24 optimizer steps); tanh does not "
        "(1 of 3 seeds did)."
    )
    assert speed_sentence(never, variant("sigmoid", [None] * 3)) is None
    _, body = target_rows([fast, never])
    # epochs, steps, examples: not reached; seconds unknown (no wall time); no ratio
    assert body[1][1:] == ("1/3", *("not reached",) * 3, "-", "-")


# ---------------------------------------------------------------------------- step resolution


def _examples(step: int, n: int, batch: int) -> int:
    """Examples seen after ``step`` optimizer steps, counted batch by batch."""
    per_epoch, seen = math.ceil(n / batch), 0
    for s in range(step):
        position = s % per_epoch  # the batch's place in its epoch
        seen += min(batch, n - position * batch)
    return seen


def _step_scan(rows, metric: str, target: float, up: bool):
    """The reference at step resolution: the rows in step order, the first that gets there."""
    for row in sorted(rows, key=lambda r: r["step"]):
        value = row[metric]
        if value is not None and (value >= target if up else value <= target):
            return row
    return None


def test_random_step_curves_equal_a_step_by_step_scan(tmp_path):
    rng = np.random.default_rng(12)
    per_epoch = math.ceil(N_TRAIN / BATCH)
    with Store.open(tmp_path / "out", {"name": "steps"}) as s:
        for act in ("relu", "tanh", "gelu"):
            for seed in range(5):
                every = int(rng.integers(1, 6))
                total = int(rng.integers(5, 30))
                steps = sorted({0, total, *range(every, total, every),
                                *range(per_epoch, total, per_epoch)})  # fmt: skip
                loss = np.minimum.accumulate(rng.uniform(0.2, 2.0, len(steps)))
                loss[0] = 2.0
                seconds = np.cumsum(rng.uniform(0.0, 1.0, len(steps)))
                seconds[0] = 0.0
                curve = [{"step": st, "epoch": math.ceil(st / per_epoch), "seconds": float(t),
                          "train_loss": float(v), "train_acc": float(1 - v / 2)}
                         for st, t, v in zip(steps, seconds, loss, strict=True)]  # fmt: skip
                kept = [r for r in curve if r["step"] % per_epoch == 0 or r["step"] == total]
                ends = [{k: v for k, v in r.items() if k not in ("step", "seconds")} for r in kept]
                c = cfg(act, seed)  # each seed its own schedule: the times come from the rows
                s.complete_run(run_key(c), c, seed=seed, metrics=ends, wall_s=99.0, curve=curve)
        stored = s.step_metrics()
        checked = 0
        for metric, target, up in (("train_loss", 0.7, False), ("train_acc", 0.6, True)):
            summaries, result = times(s, metric=metric, target=target)
            stored_result = target_times(
                summaries, s.runs(), s.metrics(), metric=metric, target=target,
                sizes=lambda config: N_TRAIN, steps=stored,
            )  # fmt: skip
            assert result != stored_result  # the per-epoch rows alone give other times
            for t in stored_result:
                for seed, reach in t.runs:
                    (run,) = [r for r in s.runs() if r.config["activation"] == t.label
                              and r.seed == seed]  # fmt: skip
                    rows = [r for r in stored if r["run"] == run.key]
                    hit = _step_scan(rows, metric, target, up)
                    if hit is None:
                        assert reach is None
                        continue
                    assert reach.step == hit["step"] and reach.epoch == hit["epoch"]
                    assert reach.examples == _examples(hit["step"], N_TRAIN, BATCH)
                    assert reach.seconds == hit["seconds"]  # its own time, not spread evenly
                    checked += 1
        assert checked > 10


def _bootstrap_ratio(fast, slow, unit="step", n=2000):
    """The speed-up's interval recomputed directly: paired resamples of the shared seeds."""
    a = dict((seed, r) for seed, r in zip([s for s, _ in fast.runs], fast.values(unit)))
    b = dict((seed, r) for seed, r in zip([s for s, _ in slow.runs], slow.values(unit)))
    seeds = [seed for seed, _ in fast.runs]
    picks = np.random.default_rng(0).integers(0, len(seeds), size=(n, len(seeds)))
    ratios = []
    for pick in picks:
        chosen = [seeds[i] for i in pick]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.median([b[x] for x in chosen]) / np.median([a[x] for x in chosen])
        if not np.isnan(r):
            ratios.append(r)
    low, high = np.quantile(ratios, [0.025, 0.975], method="inverted_cdf")
    return float(low), float(high)


def test_a_real_study_with_eval_every_times_its_stored_rows(tmp_path):
    import re

    from typer.testing import CliRunner

    from actlab.cli import app

    out = tmp_path / "o"
    args = ["compare", "--dataset", "gauss", "--width", "4", "--depth", "1", "-a", "relu,tanh",
            "-o", "sgd", "--lr", "0.1", "--seeds", "4", "--batch-size", "25", "--steps", "30",
            "--eval-every", "3", "--target", "train_acc=0.6", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store.open(out) as s:
        assert s.study["target_metric"] == "train_acc" and s.study["steps"] == 30
        stored, runs = s.step_metrics(), s.runs()
        summaries = summarize(runs, s.metrics())
        result_times = target_times(summaries, runs, s.metrics(), metric="train_acc",
                                    target=0.6, steps=stored)  # fmt: skip
        n = train_size(runs[0].config)
        checked = 0
        for t in result_times:
            for seed, reach in t.runs:
                (run,) = [r for r in runs if r.seed == seed and r.config["activation"] == t.label]
                rows = [r for r in stored if r["run"] == run.key]
                assert {r["step"] for r in rows} >= set(range(0, 31, 3))
                hit = _step_scan(rows, "train_acc", 0.6, True)
                assert (reach is None) == (hit is None)
                if hit is not None:
                    assert (reach.step, reach.seconds) == (hit["step"], hit["seconds"])
                    assert reach.examples == _examples(hit["step"], n, 25)
                    checked += 1
        assert checked >= 4
        a, b = result_times
        ratio, low, high = speedup(a, b)
        if math.isfinite(a.median()) and math.isfinite(b.median()):
            assert ratio == pytest.approx(b.median() / a.median())
            assert (low, high) == pytest.approx(_bootstrap_ratio(a, b))
    number = r"(\d+(\.\d+)?|∞)"
    sentence = re.compile(  # a label: the activation, then whatever else it shows
        rf"(relu|tanh)( · \S+)* reaches 60% train accuracy {number}x \[{number}, {number}\] "
        r"as fast as (relu|tanh)( · \S+)* \(median optimizer steps over seeds"
    )
    text = " ".join(result.output.split())
    assert "time to 60% train accuracy: median over seeds" in text  # the study's target metric
    assert sentence.search(text), text


def test_the_speedup_interval_is_a_paired_bootstrap(store):
    _, (relu, tanh) = times(store)
    ratio, low, high = speedup(relu, tanh)
    assert ratio == tanh.median() / relu.median()
    assert (low, high) == _bootstrap_ratio(relu, tanh)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--target", "val_f1=0.5"], "target_metric='val_f1'"),
        (["--target", "val_acc=0.5"], "no run records it"),
        (["--target", "train_loss="], "METRIC=VALUE"),
        (["--steps", "20", "--epochs", "2"], "not both"),
        (["--eval-every", "0"], "eval_every=0"),
    ],
)
def test_bad_targets_and_schedules_on_the_command_line(tmp_path, extra, needle):
    from typer.testing import CliRunner

    from actlab.cli import app

    out = tmp_path / "o"
    args = ["compare", "--dataset", "gauss", "--width", "4", "--depth", "1", "-a", "relu",
            "-o", "sgd", "--seeds", "1", "--out", str(out), *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert not (out / "study.db").exists()  # nothing stored
