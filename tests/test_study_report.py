"""Statistics over seeds, ranking, and the study report (HTML + PNGs), on hand-made stores:
mean/CI against hand-computed Student-t values, diverged and failed runs, epochs to target,
labels from the varying axes, per-factor means, a self-contained HTML file, regression studies,
and the CLI. Paired tests and ties: test_study_stats_paired.py; time to target:
test_study_stats_targets.py."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import actlab.cli.report_cmd  # noqa: F401  (registers `actlab report`)
from actlab.cli._app import app
from actlab.errors import ActlabError
from actlab.report.study_report import render, report_study, rows, study_summaries
from actlab.report.study_tables import factor_rows, target_rows
from actlab.study import Store, run_key
from actlab.study.factors import factor_summaries
from actlab.study.stats import clip_to_range, mean_ci, summarize, variant_label, varying_axes

T975_2 = 4.302653  # scipy.stats.t.ppf(0.975, 2): two-sided 95% quantile for n = 3
T975_1 = 12.706205  # scipy.stats.t.ppf(0.975, 1): n = 2
PNG = b"\x89PNG\r\n\x1a\n"


def cfg(activation="relu", lr=0.002, seed=0, **changes) -> dict:
    c = {
        "dataset": "mnist1d",
        "dataset_params": {},
        "model": "mlp",
        "depth": 2,
        "width": 100,
        "activation": activation,
        "activation_params": {},
        "optimizer": "adam",
        "optimizer_params": {"lr": lr, "betas": [0.9, 0.999]},
        "init": "auto",
        "init_params": {},
        "loss": "cross_entropy",
        "loss_params": {},
        "epochs": 3,
        "seed": seed,
    }
    c.update(changes)
    return c


def add(store, config, accs, *, status="done", losses=None, step=None, error=None, wall=2.0):
    """Store a run whose test accuracy per epoch is ``accs`` (``losses``: a regression run)."""
    if losses is not None:
        metrics = [{"train_loss": v * 1.5, "test_loss": v} for v in losses]
    else:
        metrics = [
            {"train_loss": 2.0 - a, "train_acc": a, "test_loss": 2.1 - a, "test_acc": a}
            if a is not None
            else {}
            for a in accs
        ]
    key = run_key(config)
    store.complete_run(
        key,
        config,
        seed=config["seed"],
        metrics=metrics,
        status=status,
        diverged_step=step,
        wall_s=wall,
        error=error,
    )


def study(name="demo", target=None) -> dict:
    return {"name": name, "target": target, "seeds": [0, 1, 2], "epochs": 3}


@pytest.fixture
def store(tmp_path: Path):
    """Three variants x 3 seeds: gelu best, relu middle (one seed diverged), tanh all diverged,
    and one failed relu lr=0.01 run next to two done ones."""
    with Store.open(tmp_path / "out", study()) as s:
        for seed, final in enumerate((0.90, 0.92, 0.94)):
            add(s, cfg("gelu", seed=seed), [0.1, 0.5, 0.8, final])
        for seed, final in enumerate((0.80, 0.84)):
            add(s, cfg("relu", seed=seed), [0.1, 0.4, 0.7, final], wall=4.0)
        add(s, cfg("relu", seed=2), [0.1, 0.85], status="diverged", step=150)
        for seed in range(3):
            add(s, cfg("tanh", seed=seed), [0.1, 0.2], status="diverged", step=90 + seed)
        add(s, cfg("relu", 0.01, seed=0), [0.1, 0.6, 0.7, 0.75])
        add(s, cfg("relu", 0.01, seed=1), [0.1, 0.6, 0.7, 0.77])
        add(s, cfg("relu", 0.01, seed=2), [], status="failed", error="CUDA <oom> & more")
        yield s


def by_label(summaries):
    return {s.label: s for s in summaries}


# ---------------------------------------------------------------------------- statistics


def test_mean_ci_matches_student_t():
    mean, half = mean_ci([0.90, 0.92, 0.94])
    assert mean == pytest.approx(0.92)
    assert half == pytest.approx(T975_2 * 0.02 / math.sqrt(3), rel=1e-6)  # s = 0.02
    mean, half = mean_ci([1.0, 3.0])
    assert (mean, half) == pytest.approx((2.0, T975_1 * math.sqrt(2) / math.sqrt(2)), rel=1e-6)
    _, half90 = mean_ci([0.90, 0.92, 0.94], confidence=0.90)
    assert half90 == pytest.approx(2.919986 * 0.02 / math.sqrt(3), rel=1e-6)


def test_mean_ci_edges():
    mean, half = mean_ci([0.7])
    assert mean == 0.7 and math.isnan(half)  # one seed: no spread, no interval
    assert all(math.isnan(v) for v in mean_ci([]))
    assert math.isnan(mean_ci([1.0, float("nan")])[0])  # the caller filters missing values
    with pytest.raises(ActlabError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=1.5)
    with pytest.raises(ActlabError, match="None"):
        mean_ci([1.0, None])


def test_labels_from_varying_axes():
    a = cfg("relu", 0.002)
    b = cfg("leaky_relu", 0.01, activation_params={"negative_slope": 0.1})
    c = cfg("relu", 0.002, seed=5, width=200)
    # a parameter only one activation has is not an axis; it is one when two variants differ in it
    assert varying_axes([a, b]) == ("activation", "optimizer.lr")
    axes = varying_axes([a, b])
    assert variant_label(a, axes) == "relu · adam lr=0.002"
    assert variant_label(b, axes) == "leaky_relu · adam lr=0.01"
    b2 = cfg("leaky_relu", 0.01, activation_params={"negative_slope": 0.2})
    axes = varying_axes([a, b, b2])
    assert axes == ("activation", "activation.negative_slope", "optimizer.lr")
    assert variant_label(b, axes) == "leaky_relu(negative_slope=0.1) · adam lr=0.01"
    assert varying_axes([a, c]) == ("width",)  # the seed is never an axis
    assert variant_label(c, ("width",)) == "width=200"
    assert varying_axes([a, cfg("relu", seed=1)]) == ()
    assert variant_label(a, ()) == "relu · adam"
    sgd = cfg(optimizer="sgd", optimizer_params={"lr": 0.1, "momentum": 0.9})
    axes = varying_axes([a, sgd])
    assert axes == ("optimizer", "optimizer.lr")  # betas: adam's alone, momentum: sgd's alone
    assert variant_label(sgd, axes) == "sgd lr=0.1"
    assert variant_label(a, axes) == "adam lr=0.002"


def test_ranking_means_and_counts(store):
    summaries = summarize(store.runs(), store.metrics(), target=0.85)
    assert [s.label for s in summaries] == [
        "gelu · adam lr=0.002",
        "relu · adam lr=0.002",
        "relu · adam lr=0.01",
        "tanh · adam lr=0.002",  # every run diverged: ranks last
    ]
    gelu, relu, relu01, tanh = summaries
    assert gelu.metric == "test_acc" and gelu.target == 0.85
    assert gelu.final_mean == pytest.approx(0.92)
    assert gelu.final_ci == pytest.approx(T975_2 * 0.02 / math.sqrt(3), rel=1e-6)
    assert gelu.best == pytest.approx(0.94)
    assert [v for _, v in gelu.finals] == pytest.approx([0.90, 0.92, 0.94])
    assert "seed" not in gelu.config
    # relu: the diverged seed is counted, not averaged (mean of 0.80, 0.84 only)
    assert (relu.n_runs, relu.n_diverged, relu.n_failed, relu.n_done) == (3, 1, 0, 2)
    assert relu.final_mean == pytest.approx(0.82)
    assert relu.final_ci == pytest.approx(T975_1 * 0.02 * math.sqrt(2) / math.sqrt(2), rel=1e-6)
    assert relu.diverged == ((2, 150, 1),)  # seed, step, last epoch stored
    assert relu.wall_s == pytest.approx(10.0 / 3)  # 4, 4 and the diverged run's 2
    assert (relu01.n_failed, relu01.errors) == (1, ((2, "CUDA <oom> & more"),))
    assert (tanh.n_diverged, tanh.finals) == (3, ())
    assert math.isnan(tanh.final_mean) and math.isnan(tanh.best)
    assert tanh.curve_mean == pytest.approx((0.1, 0.2))  # curves fall back to diverged runs


def test_epochs_to_target(store):
    s = by_label(summarize(store.runs(), store.metrics(), target=0.85))
    gelu, relu = s["gelu · adam lr=0.002"], s["relu · adam lr=0.002"]
    assert (gelu.epochs_to_target, gelu.n_reached) == (3.0, 3)
    # only the diverged seed got to 0.85 (at epoch 1) before it diverged
    assert (relu.epochs_to_target, relu.n_reached) == (1.0, 1)
    assert math.isnan(s["tanh · adam lr=0.002"].epochs_to_target)


def test_time_to_target_table(store, tmp_path):
    """The report's time-to-target table: medians over seeds, a run that never reached the
    target counting as infinitely slow (relu: only the diverged seed got there)."""
    summaries = summarize(store.runs(), store.metrics(), target=0.85)
    from actlab.study.targets import target_times

    times = target_times(
        summaries, store.runs(), store.metrics(), metric="test_acc", target=0.85,
        sizes=lambda config: 4000,
    )  # fmt: skip
    header, body = target_rows(times)
    assert header[:3] == ("variant", "reached", "epochs")
    assert [r[:3] for r in body] == [
        ("gelu · adam lr=0.002", "3/3", "3 [3, 3]"),
        ("relu · adam lr=0.002", "1/3", "not reached"),
        ("relu · adam lr=0.01", "0/2", "not reached"),  # the failed run is left out
        ("tanh · adam lr=0.002", "0/3", "not reached"),
    ]
    assert body[0][-1] == "fastest"


def test_default_target_is_90_percent_of_the_best_mean(store):
    summaries = summarize(store.runs(), store.metrics())
    assert summaries[0].target == 0.83  # round(0.9 * 0.92, 2)
    assert summaries[0].n_reached == 3


def test_table_rows(store):
    header, body = rows(study_summaries(store))
    assert header[2] == "final test accuracy % (mean ± 95% CI)" and "failed" in header
    gelu = body[0]
    half = 100 * T975_2 * 0.02 / math.sqrt(3)
    # relu (seeds 0, 1: 10 and 8 points below gelu) is not separated from it by 2 pairs: 1=
    assert gelu[:4] == ("1=", "gelu · adam lr=0.002", f"92.0 ± {half:.1f}", "best")
    assert body[1][:4] == (
        "1=",
        "relu · adam lr=0.002",
        f"82.0 +18.0 −{100 * T975_1 * 0.02:.1f}",
        "-9.0",
    )
    assert body[1][6:] == ("1/3", "0/3", "3.3")  # diverged, failed, wall s/run
    assert body[2][0] == "3" and body[2][3] == "-15.0"  # 15 points below on both seeds
    assert body[3][:5] == ("4", "tanh · adam lr=0.002", "diverged", "-", "-")


def test_regression_ranks_lowest_loss_first(tmp_path):
    with Store.open(tmp_path, study("reg", target=0.2)) as s:
        for seed in range(2):
            add(s, cfg("relu", seed=seed), None, losses=[1.0, 0.5, 0.30 + seed * 0.02])
            add(s, cfg("gelu", seed=seed), None, losses=[1.0, 0.15, 0.10 + seed * 0.02])
        summaries = study_summaries(s)
        assert summaries[0].metric == "test_loss"
        assert [x.label for x in summaries] == ["gelu", "relu"]
        assert summaries[0].final_mean == pytest.approx(0.11)
        assert summaries[0].best == pytest.approx(0.10)  # the lowest loss
        header, body = rows(summaries)
        assert header[2:4] == ("final test loss (mean ± 95% CI)", "vs best")
        assert body[0][3] == "best" and body[1][3] == "+0.2"  # relu's loss is 0.2 higher
        paths = render(s, tmp_path / "report")
        assert "Time to test loss ≤ 0.2" in paths["report"].read_text(encoding="utf-8")
    assert all(p.is_file() for p in paths.values())


def test_ci_of_an_accuracy_is_cut_at_100_percent(tmp_path):
    """Three seeds at 100, 100 and 50%: mean 83.3, Student-t half-width 71.7 -- an interval to
    155% that no run can reach; the summary, the table and the figures stop at 100%."""
    with Store.open(tmp_path / "out", study()) as s:
        for seed, final in enumerate((1.0, 1.0, 0.5)):
            add(s, cfg("relu", seed=seed), [0.2, final])
        summaries = study_summaries(s)
        drawn = capture_figures(s, tmp_path / "out", summaries)
    relu = summaries[0]
    half = T975_2 * math.sqrt(1 / 12) / math.sqrt(3)
    assert relu.final_ci == pytest.approx(half)  # the interval itself is unchanged
    assert relu.final_interval == pytest.approx((5 / 6 - half, 1.0))
    assert rows(summaries)[1][0][2] == f"83.3 +16.7 −{100 * half:.1f}"
    assert clip_to_range(0.5, 0.7, "test_acc") == pytest.approx((0.0, 1.0))
    assert clip_to_range(0.5, 0.7, "test_loss") == pytest.approx((-0.2, 1.2))
    for ax in drawn["curves"].axes:
        if ax.get_title().startswith(("test accuracy", "train accuracy")):
            assert ax.get_ylim()[1] <= 100
            for band in ax.collections:
                assert band.get_paths()[0].vertices[:, 1].max() <= 100 + 1e-9
    (ax,) = drawn["comparison"].axes
    assert ax.get_xlim()[1] <= 100
    (bar,) = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    assert bar.get_segments()[0][:, 0].max() == pytest.approx(100)


def capture_figures(store, out, summaries) -> dict:
    """Draw each figure maker and keep its matplotlib figure open for inspection."""
    import matplotlib.pyplot as plt

    from actlab.report import study_figures

    kept = {}

    def keep(fig, path):
        kept[Path(path).stem] = fig

    original = study_figures.save_figure
    study_figures.save_figure = keep
    try:
        study_figures.plot_curves(summaries, store, out)
        study_figures.plot_comparison(summaries, store, out)
    finally:
        study_figures.save_figure = original
    for fig in kept.values():
        plt.close(fig)
    return kept


def test_curves_encode_activation_by_colour_and_optimizer_by_style(tmp_path):
    """7 activations x 3 optimizers: 7 colours and 3 line styles (no colour repeats across
    activations), and one panel per stored metric: test/train accuracy, test/train loss."""
    acts = ["relu", "leaky_relu", "elu", "silu", "gelu", "tanh", "sigmoid"]
    opts = ["sgd", "momentum", "adam"]
    with Store.open(tmp_path / "out", study()) as s:
        for i, act in enumerate(acts):
            for j, opt in enumerate(opts):
                for seed in range(2):
                    acc = 0.3 + 0.02 * i + 0.05 * j + 0.01 * seed
                    add(s, cfg(act, optimizer=opt, seed=seed), [0.1, acc - 0.1, acc])
        summaries = study_summaries(s)
        fig = capture_figures(s, tmp_path / "out", summaries)["curves"]
    titles = [ax.get_title() for ax in fig.axes]
    for panel in ("test accuracy", "train accuracy", "test loss", "train loss"):
        assert any(t.startswith(panel) for t in titles), titles
    ax = next(a for a in fig.axes if a.get_title().startswith("test accuracy"))
    assert len(ax.lines) == 21
    looks = {}
    for s_, line in zip(summaries, ax.lines):
        act, opt = s_.config["activation"], s_.config["optimizer"]
        looks[act, opt] = (tuple(line.get_color()), line.get_linestyle())
    for act in acts:  # one colour per activation, a different one for each
        assert len({looks[act, o][0] for o in opts}) == 1
    assert len({looks[a, "sgd"][0] for a in acts}) == 7
    for opt in opts:  # one line style per optimizer, a different one for each
        assert len({looks[a, opt][1] for a in acts}) == 1
    assert len({looks["relu", o][1] for o in opts}) == 3
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "relu" in legend and "adam" in legend and len(legend) == 10


def test_per_factor_means(tmp_path):
    """2 activations x 2 learning rates x 3 seeds: the activation's mean over the two rates is,
    per seed, the average of its two variants; mean ± Student-t over the 3 seeds."""
    finals = {  # (activation, lr) -> final accuracy per seed
        ("relu", 0.01): (0.80, 0.82, 0.84),
        ("relu", 0.1): (0.70, 0.76, 0.79),
        ("tanh", 0.01): (0.60, 0.66, 0.62),
        ("tanh", 0.1): (0.72, 0.70, 0.74),
    }
    with Store.open(tmp_path / "out", study()) as s:
        for (act, lr), values in finals.items():
            for seed, v in enumerate(values):
                add(s, cfg(act, lr, seed=seed), [0.1, v])
        add(s, cfg("gelu", 0.01, seed=0), [0.1], status="diverged", step=3)
        summaries = study_summaries(s)
        page = render(s, tmp_path / "report")["report"].read_text(encoding="utf-8")
    levels = {(f.axis, f.text): f for f in factor_summaries(summaries)}
    assert list(levels) == [
        ("activation", "relu"), ("activation", "tanh"), ("activation", "gelu"),
        ("optimizer.lr", "0.01"), ("optimizer.lr", "0.1"),
    ]  # fmt: skip
    relu = [(a + b) / 2 for a, b in zip(finals["relu", 0.01], finals["relu", 0.1])]
    mean, sd = sum(relu) / 3, float(np.std(relu, ddof=1))
    f = levels["activation", "relu"]
    assert (f.mean, f.n_variants, f.seeds) == (pytest.approx(mean), 2, (0, 1, 2))
    assert f.ci == pytest.approx(T975_2 * sd / math.sqrt(3), rel=1e-6)
    lr01 = [np.mean([finals[a, 0.01][k] for a in ("relu", "tanh")]) for k in range(3)]
    assert levels["optimizer.lr", "0.01"].mean == pytest.approx(np.mean(lr01))
    assert levels["optimizer.lr", "0.01"].n_unfinished == 1  # gelu: every run diverged
    gelu = levels["activation", "gelu"]
    assert gelu.n_variants == 0 and math.isnan(gelu.mean)
    header, body = factor_rows(list(levels.values()))
    assert header[2] == "mean final test accuracy % (± 95% CI)"
    assert body[0] == ("activation", "relu", f"{100 * mean:.1f} ± {100 * f.ci:.1f}", "2")
    assert body[2] == ("activation", "gelu", "-", "0 (+1 unfinished)")
    assert "<h2>Per-factor means</h2>" in page


def test_no_factor_table_with_one_axis(store, tmp_path):
    page = render(store, tmp_path / "r")["report"].read_text(encoding="utf-8")
    assert "Per-factor means" in page  # activation and lr vary in the fixture
    with Store.open(tmp_path / "one", study()) as s:
        for seed in range(2):
            add(s, cfg("relu", seed=seed), [0.1, 0.8 + seed / 100])
            add(s, cfg("gelu", seed=seed), [0.1, 0.7 + seed / 100])
        page = render(s, tmp_path / "one")["report"].read_text(encoding="utf-8")
    assert "Per-factor means" not in page  # one axis: the ranking already says it


# ---------------------------------------------------------------------------- report files


def test_render_writes_a_self_contained_report(tmp_path):
    out = tmp_path / "out"
    with Store.open(out, study(name="<script>alert(1)</script> & co")) as s:
        add(s, cfg("gelu", seed=0), [0.1, 0.9])
        add(s, cfg("gelu", seed=1), [0.1, 0.7])
        add(s, cfg("relu", seed=0), [0.1, 0.3], status="diverged", step=12)
        add(s, cfg("selu", seed=0), [], status="failed", error="boom <b>here</b>")
        paths = render(s, out)
    assert set(paths) == {"curves", "comparison", "report"}
    for name in ("curves", "comparison"):
        assert paths[name] == out / f"{name}.png" and paths[name].read_bytes()[:8] == PNG
    page = paths["report"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", page)
    assert "<script" not in page and "<link" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "boom &lt;b&gt;here&lt;/b&gt;" in page
    assert "diverged at step 12" in page
    assert "default: 90% of the best variant" in page  # 0.9 * 0.8:
    assert "<b>72% test accuracy</b>" in page


def test_many_variants_single_seed(tmp_path):
    names = [f"act{i:02d}" for i in range(23)]
    with Store.open(tmp_path, study()) as s:
        for i, name in enumerate(names):
            add(s, cfg(name), [0.1, 0.2 + i / 40, 0.3 + i / 40])
        summaries = study_summaries(s)
        assert [x.label for x in summaries] == names[::-1]
        assert all(math.isnan(x.final_ci) for x in summaries)
        body = rows(summaries)[1]
        assert body[0][2] == f"{100 * (0.3 + 22 / 40):.1f} (n=1)"
        paths = render(s, tmp_path)
    page = paths["report"].read_text(encoding="utf-8")
    assert page.count("<section>") == 23 and "(n=1)" in page


def test_all_runs_diverged_at_epoch_one(tmp_path):
    with Store.open(tmp_path, study()) as s:
        for seed in range(2):
            add(s, cfg("relu", seed=seed), [0.1, None], status="diverged", step=1)
        summaries = study_summaries(s)
        assert summaries[0].target is None and rows(summaries)[1][0][2] == "diverged"
        paths = render(s, tmp_path)
    assert paths["curves"].is_file() and paths["comparison"].is_file()


def test_report_study_prints_table_and_paths(store, tmp_path):
    console = Console(record=True, width=200)
    paths = report_study(store, tmp_path / "r", console)
    text = console.export_text()
    assert "gelu · adam lr=0.002" in text and "target (default): 83%" in text
    assert all(f"wrote {p}" in text for p in paths.values())


def test_empty_store_is_bad_input(tmp_path):
    with Store.open(tmp_path, study()) as s, pytest.raises(ActlabError, match="no finished runs"):
        render(s, tmp_path)


# ---------------------------------------------------------------------------- CLI


def test_cli_report(store):
    out = store.path.parent
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "gelu · adam lr=0.002" in result.output and "report.html" in result.output
    assert (out / "report.html").is_file() and not (out / "runs.csv").exists()


def test_cli_export_csv(store):
    out = store.path.parent
    result = CliRunner().invoke(app, ["report", str(out), "--export", "csv"])
    assert result.exit_code == 0, result.output
    for name in ("runs", "metrics", "diagnostics"):
        assert (out / f"{name}.csv").is_file()


@pytest.mark.parametrize("args", [["missing"], ["empty"], ["store", "--export", "xlsx"]])
def test_cli_bad_input_is_one_line(tmp_path, store, args):
    (tmp_path / "empty").mkdir()
    where = {"missing": tmp_path / "nope", "empty": tmp_path / "empty"}
    args = [str(where.get(args[0], store.path.parent)), *args[1:]]
    result = CliRunner().invoke(app, ["report", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
