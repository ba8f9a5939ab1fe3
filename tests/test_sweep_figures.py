"""The report figures of swept and tuned studies (:mod:`actlab.report.sweep_figures`), the rate
every table names, and the per-factor table's full batch, on small real studies.

The plotted numbers are checked against the store recomputed here with numpy and scipy (not
through :mod:`actlab.study.stats`). With ``ACTLAB_STUDY_FIGURES=docs/img`` the docs' example
figures (``docs/img/study_sweep_depth.png``, ``docs/img/study_tuning.png``) are written from
larger studies (a few minutes on a CPU)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from actlab.report import sweep_figures as SF
from actlab.report.study_report import FIGURES, analyse, render, study_summaries
from actlab.report.study_tables import factor_rows, rate_note, rows, target_rows
from actlab.study import Store
from actlab.study.runner import run_study
from actlab.study.spec import Study
from actlab.study.tuning import choose, curves

DOCS = os.environ.get("ACTLAB_STUDY_FIGURES")
only_small = pytest.mark.skipif(bool(DOCS), reason="checks the small studies' numbers")


def _depth_study() -> Study:
    if DOCS:  # the docs' example: Swish vs ReLU, depth 0 to 4, 5 seeds
        return Study(
            name="depth-sweep", dataset="spiral", depth=[0, 1, 2, 4], width=16,
            activations=["relu", "swish"], optimizers=["adam"], lr=[0.01], seeds=5,
            epochs=20, batch_size=25,
        )  # fmt: skip
    return Study(
        name="depth-sweep", dataset="spiral", dataset_params={"n": 200}, depth=[0, 2],
        width=8, activations=["relu", "swish"], optimizers=["adam"], lr=[0.01], seeds=3,
        epochs=3, batch_size=[25, "full"], target=0.5,
    )  # fmt: skip


def _tuned_study() -> Study:
    if DOCS:
        return Study(
            name="tuned", dataset="spiral", depth=2, width=16, activations=["relu"],
            optimizers=["sgd", "momentum", "adam"], tune_lr=[1e-3, 1e-2, 0.1, 1.0, 10.0],
            tune_seeds=2, seeds=3, epochs=20, batch_size=25,
        )  # fmt: skip
    return Study(
        name="tuned", dataset="spiral", dataset_params={"n": 200}, depth=1, width=8,
        activations=["relu"], optimizers=["sgd", "adam"], tune_lr=[0.01, 0.1, 1.0], seeds=2,
        epochs=3, batch_size=25,
    )  # fmt: skip


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("swept")
    run_study(_depth_study(), out).close()
    return out


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tuned")
    run_study(_tuned_study(), out).close()
    return out


def _finals(store: Store) -> dict[tuple, list[float]]:
    """(activation, depth, batch) -> the final test accuracy of each seed, from the rows."""
    last: dict[str, dict] = {}
    for m in store.metrics():
        if m["run"] not in last or m["epoch"] > last[m["run"]]["epoch"]:
            last[m["run"]] = m
    out: dict[tuple, list[float]] = {}
    for r in store.runs():
        c = r.config
        out.setdefault((c["activation"], c["depth"], c["batch_size"]), []).append(
            last[r.key]["test_acc"]
        )
    return out


@only_small
def test_sweep_lines_are_the_seed_means_with_clipped_intervals(swept):
    with Store.open(swept) as store:
        summaries = study_summaries(store)
        assert SF.swept_axes(store.study) == ["depth", "batch_size"]
        finals = _finals(store)
    lines = SF.sweep_lines(summaries, "depth")
    assert set(lines) == {"relu · batch_size=25", "relu · batch_size=full",
                          "silu · batch_size=25", "silu · batch_size=full"}  # fmt: skip
    for label, points in lines.items():
        act, batch = label.split(" · ")
        batch = None if batch == "batch_size=full" else int(batch.split("=")[1])
        assert [p[0] for p in points] == [0, 2]
        for depth, mean, low, high in points:
            v = np.array(finals[(act, depth, batch)])
            half = scipy_stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
            assert mean == pytest.approx(v.mean(), abs=1e-12)
            assert low == pytest.approx(max(v.mean() - half, 0.0), abs=1e-12)
            assert high == pytest.approx(min(v.mean() + half, 1.0), abs=1e-12)
    # batch size is categorical with the full batch last
    batch = SF.sweep_lines(summaries, "batch_size")
    assert all([p[0] for p in pts] == [25, None] for pts in batch.values())


def test_axis_scales():
    assert SF._scale("batch_size", [1, 10, None]) == "category"
    assert SF._scale("residual", [False, True]) == "category"
    assert SF._scale("depth", [0, 1, 2, 4]) == "linear"
    assert SF._scale("optimizer.weight_decay", [1e-5, 1e-4, 1e-3]) == "log"
    assert SF._scale("optimizer.weight_decay", [0.0, 1e-4, 1e-2]) == "symlog"
    assert SF._scale("dataset.train_size", [50, 100, 200]) == "linear"


def test_figures_are_written_once_and_deterministically(swept, tuned, tmp_path):
    names = [f.__name__ for f in FIGURES]
    assert names.index("plot_sweeps") == names.index("plot_comparison") + 1
    assert names.index("plot_tuning") == names.index("plot_sweeps") + 1
    with Store.open(swept) as store:
        a = render(store, tmp_path / "a")
        b = render(store, tmp_path / "b")
        assert "tuning" not in a  # not a tuned study
        assert a["sweeps"].read_bytes() == b["sweeps"].read_bytes()
        assert 'alt="Swept axes"' in a["report"].read_text()
    with Store.open(tuned) as store:
        t = render(store, tmp_path / "t")
        assert "sweeps" not in t and t["tuning"].stat().st_size > 10_000
        assert render(store, tmp_path / "u")["tuning"].read_bytes() == t["tuning"].read_bytes()
    if DOCS:
        shutil.copyfile(a["sweeps"], Path(DOCS) / "study_sweep_depth.png")
        shutil.copyfile(t["tuning"], Path(DOCS) / "study_tuning.png")


def test_the_tuning_figure_stars_the_chosen_rate(tuned, tmp_path, monkeypatch):
    drawn = []
    real = SF.plt.Axes.plot

    def spy(ax, *args, **kw):
        if len(args) >= 3 and args[2] == "*":
            drawn.append((float(args[0][0]), float(args[1][0])))
        return real(ax, *args, **kw)

    monkeypatch.setattr(SF.plt.Axes, "plot", spy)
    with Store.open(tuned) as store:
        study = Study.from_dict(store.study)
        chosen = choose(study, store.runs(), store.metrics())
        scores = curves(study, store.runs(), store.metrics())
        SF.plot_tuning(study_summaries(store), store, tmp_path)
    expected = sorted((lr, 100 * dict(scores[v])[lr]) for v, lr in chosen.items())
    assert sorted(drawn) == pytest.approx(expected)
    # and the chosen rate is the first best score of its curve (ties: the smaller rate)
    for v, points in scores.items():
        best = max(s for _, s in points)
        assert chosen[v] == min(lr for lr, s in points if s == best)


@only_small
def test_every_table_names_the_rate_and_the_full_batch(swept, tuned):
    with Store.open(swept) as store:
        summaries = study_summaries(store)
        analysis = analyse(store, summaries)
        note = rate_note(store.study, summaries)
    _, body = rows(summaries)
    assert all(row[1].endswith("lr=0.01") for row in body)  # one rate: named anyway
    assert analysis.times and all(r[0].endswith("lr=0.01") for r in target_rows(analysis.times)[1])
    factors = factor_rows(analysis.factors)[1]
    assert ("batch_size", "full") in {(r[0], r[1]) for r in factors}
    assert note.startswith("Learning rates: the study's list") and "adam 0.01" in note
    with Store.open(tuned) as store:
        summaries = study_summaries(store)
        study = Study.from_dict(store.study)
        chosen = choose(study, store.runs(), store.metrics())
        note = rate_note(store.study, summaries)
    _, body = rows(summaries)
    rates = {float(row[1].rsplit("lr=", 1)[1]) for row in body}
    assert rates == set(chosen.values())
    assert note.startswith("Learning rates: tuned per variant")


def test_a_preset_s_rates_are_said_to_be_presets_not_tuned():
    from actlab.study.presets import PRESETS

    study = PRESETS.get("quickstart").study
    assert study.tune_lr is None  # kept fast; the report says so
    # what the report says of its rates, from summaries' configs (one per optimizer)
    fake = [
        type("S", (), {"config": {"optimizer": r.optimizer, "optimizer_params": {"lr": r.lr}}})
        for r in study.runs()[:: len(study.seeds)]
    ]
    note = rate_note(study.to_dict(), fake)
    assert note.startswith("Learning rates: one preset per optimizer, not tuned")
    assert "sgd 0.1" in note and "momentum 0.02" in note and "adam 0.002" in note
