"""Watching and exporting a study: ``actlab report --export csv|json|parquet`` read back and
compared with the store; ``actlab watch`` during and after training; TensorBoard event files
read back with tensorboard's own reader; the default output folder of ad-hoc studies; the live
table's bounded rows and the plain progress lines of a non-terminal."""

from __future__ import annotations

import csv
import json
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.cli._live import LiveRows, progress, shown, table
from actlab.study import Store, Study
from actlab.study.outdir import default_out, settings_hash
from actlab.study.runner import run_study

TINY = [
    "--dataset", "gauss", "--width", "8", "--depth", "2",
    "--activations", "relu,tanh", "--optimizers", "sgd", "--lr", "0.1",
    "--seeds", "2", "--epochs", "3", "--batch-size", "50",
]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    """A tiny study with diagnostics, trained through the CLI, with TensorBoard event files."""
    root = tmp_path_factory.mktemp("studied")
    out, board = root / "study", root / "tb"
    result = invoke("compare", *TINY, "--diagnostics", "--out", out, "--tensorboard", board)
    assert result.exit_code == 0, result.output
    return out, board


def close(a, b) -> bool:
    """Equal, or both missing (None, NaN) -- a float written as text read back exactly."""
    if a is None or b is None:
        return a is None and b is None
    return a == b


def test_export_csv_json_parquet_read_back_equal_the_store(studied, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out, _ = studied
    with Store.open(out) as store:
        runs, metrics, diagnostics = store.runs(), store.metrics(), store.diagnostics()
    assert diagnostics, "the study records diagnostics"
    for fmt in ("csv", "json", "parquet"):
        result = invoke("report", out, "--export", fmt)
        assert result.exit_code == 0, result.output
        for name in ("runs", "metrics", "ranking", "diagnostics"):
            assert f"{name}.{fmt}" in result.output
    as_json = {n: json.loads((out / f"{n}.json").read_text()) for n in ("runs", "metrics")}
    as_json["diagnostics"] = json.loads((out / "diagnostics.json").read_text())
    as_json["ranking"] = json.loads((out / "ranking.json").read_text())
    as_csv, as_parquet = {}, {}
    for name in ("runs", "metrics", "ranking", "diagnostics"):
        with open(out / f"{name}.csv", newline="") as f:
            as_csv[name] = list(csv.DictReader(f))
        as_parquet[name] = pq.read_table(out / f"{name}.parquet").to_pylist()

    # runs: key, status, seed, config (nested in JSON, flattened in CSV and Parquet)
    for r, j, c, p in zip(runs, as_json["runs"], as_csv["runs"], as_parquet["runs"], strict=True):
        assert j["key"] == c["key"] == p["key"] == r.key
        assert j["status"] == c["status"] == p["status"] == r.status
        assert j["config"] == r.config
        assert c["config.activation"] == p["config.activation"] == r.config["activation"]
        lr = r.config["optimizer_params"]["lr"]
        assert float(c["config.optimizer_params.lr"]) == p["config.optimizer_params.lr"] == lr
        assert j["wall_s"] == p["wall_s"] == float(c["wall_s"]) == r.wall_s

    # per-epoch metrics: every value exactly (floats written as their shortest repr)
    assert len(metrics) == len(as_json["metrics"]) == len(as_csv["metrics"]) == 2 * 2 * 4
    for m, j, c, p in zip(metrics, as_json["metrics"], as_csv["metrics"], as_parquet["metrics"]):
        assert (j["run"], j["epoch"]) == (c["run"], int(c["epoch"])) == (m["run"], m["epoch"])
        for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
            text = c[name]
            assert close(j[name], m[name]) and close(p[name], m[name]), (name, m)
            assert (float(text) if text else None) == m[name]

    # diagnostics
    assert len(as_json["diagnostics"]) == len(as_parquet["diagnostics"]) == len(diagnostics)
    for d, j, p in zip(diagnostics, as_json["diagnostics"], as_parquet["diagnostics"]):
        assert j == {k: (None if v != v else v) for k, v in d.items()}
        assert p["layer"] == d["layer"] and close(p["value"], d["value"])

    # ranking: the report's order and statistics over the seeds' final accuracies
    finals: dict[str, list[float]] = {}
    last = {m["run"]: m["test_acc"] for m in metrics}
    for r in runs:
        finals.setdefault(r.config["activation"], []).append(last[r.key])
    assert [row["rank"] for row in as_json["ranking"]] == [1, 2]
    for j, c, p in zip(as_json["ranking"], as_csv["ranking"], as_parquet["ranking"]):
        values = finals[j["config"]["activation"]]
        assert j["final_mean"] == pytest.approx(sum(values) / len(values), abs=1e-12)
        assert float(c["final_mean"]) == p["final_mean"] == j["final_mean"]
        assert j["label"] == c["label"] == p["label"]
        assert j["n_runs"] == p["n_runs"] == int(c["n_runs"]) == 2
    assert as_json["ranking"][0]["final_mean"] >= as_json["ranking"][1]["final_mean"]
    leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_export_bad_format_and_missing_pyarrow_are_one_line(studied, monkeypatch):
    out, _ = studied
    one_line_error(invoke("report", out, "--export", "xlsx"), "csv, json, parquet")
    (out / "runs.parquet").unlink(missing_ok=True)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    one_line_error(invoke("report", out, "--export", "parquet"), "actlab[parquet]")
    assert not (out / "runs.parquet").exists()


TAGS = {"train_loss": "train/loss", "train_acc": "train/accuracy",
        "test_loss": "test/loss", "test_acc": "test/accuracy"}  # fmt: skip


def test_tensorboard_scalars_equal_the_stored_metrics(studied):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, board = studied
    with Store.open(out) as store:
        runs = store.runs()
        dirs = sorted(p.parent for p in board.rglob("events.out.tfevents.*"))
        assert len(dirs) == len(runs) == 4
        for run in runs:
            where = board / run.config["activation"] / f"seed{run.seed}"
            assert where in dirs
            events = EventAccumulator(str(where), size_guidance={"scalars": 0})
            events.Reload()
            scalars = events.Tags()["scalars"]
            metrics = store.metrics(run.key)
            for metric, tag in TAGS.items():
                read = [(e.step, e.value) for e in events.Scalars(tag)]
                assert [s for s, _ in read] == [m["epoch"] for m in metrics] == [0, 1, 2, 3]
                for (_, value), m in zip(read, metrics):
                    assert value == pytest.approx(m[metric], rel=2**-23, abs=1e-30), (tag, m)
            grad = [t for t in scalars if t.startswith("diagnostics/") and t.endswith("/grad_norm")]
            assert grad, scalars
            layer = grad[0].split("/")[1]
            stored = store.diagnostics(run.key, metric="grad_norm")
            stored = [d for d in stored if d["layer"] == layer]
            read = events.Scalars(grad[0])
            assert [e.step for e in read] == [d["step"] for d in stored]
            assert read[-1].value == pytest.approx(stored[-1]["value"], rel=2**-23)


def test_tensorboard_histograms_are_the_stored_quantiles(studied):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from actlab.diagnostics import rows

    out, board = studied
    with Store.open(out) as store:
        run = store.runs()[0]
        events = EventAccumulator(str(board / run.config["activation"] / f"seed{run.seed}"),
                                  size_guidance={"histograms": 0})  # fmt: skip
        events.Reload()
        histograms = events.Tags()["histograms"]
        assert {"weights/layer1", "gradients/layer1", "gradients/output"} <= set(histograms)
        for kind, tag in (("weight", "weights/layer1"), ("grad", "gradients/layer1")):
            stored = {}
            for name in rows.DISTRIBUTIONS[kind]:
                for d in store.diagnostics(run.key, metric=name):
                    if d["layer"] == "layer1":
                        stored.setdefault(d["step"], []).append(d["value"])
            read = events.Histograms(tag)
            assert [e.step for e in read] == sorted(stored)
            for event in read:
                edges = stored[event.step]
                value = event.histogram_value
                assert value.min == pytest.approx(edges[0]) and value.max == pytest.approx(
                    edges[-1]
                )
                assert value.num == 100 and sum(value.bucket) == pytest.approx(100)
                # Each bucket's right edge is a stored quantile; the median splits the mass.
                for limit in value.bucket_limit:
                    assert min(abs(limit - e) for e in edges) <= 1e-6 * (1 + abs(limit))
                below = sum(
                    c for c, lim in zip(value.bucket, value.bucket_limit) if lim <= edges[5]
                )
                assert below == pytest.approx(50)


def test_tensorboard_rerun_writes_nothing_twice_and_missing_package_is_refused(
    studied, tmp_path, monkeypatch
):
    pytest.importorskip("tensorboard")
    out, board = studied
    before = sorted(board.rglob("events.out.tfevents.*"))
    again = invoke("compare", *TINY, "--diagnostics", "--out", out, "--tensorboard", board)
    assert again.exit_code == 0, again.output
    assert sorted(board.rglob("events.out.tfevents.*")) == before
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    fresh = tmp_path / "fresh"
    refused = invoke("compare", *TINY, "--out", fresh, "--tensorboard", tmp_path / "tb")
    one_line_error(refused, "actlab[tensorboard]")
    assert not fresh.exists()  # refused before training


def test_watch_during_training_shows_the_unit_and_its_runs(tmp_path):
    """A watcher reading the store while a unit trains sees what on_epoch was given."""
    study = Study(name="watched", dataset="gauss", width=8, depth=1, activations=["relu", "tanh"],
                  optimizers=["sgd"], lr=[0.1], seeds=2, epochs=3, batch_size=50)  # fmt: skip
    out = tmp_path / "out"
    seen = []

    def on_epoch(rows):
        result = invoke("watch", out, "--once", "--json")
        assert result.exit_code == 0, result.output
        seen.append((rows, json.loads(result.stdout)))

    run_study(study, out, on_epoch=on_epoch).close()
    assert len(seen) == 2  # after epochs 1 and 2 (the last epoch ends the unit)
    for epoch, (rows, snap) in enumerate(seen, 1):
        assert snap["stored"] == 0 and snap["total"] == 4 and not snap["complete"]
        (unit,) = snap["units"]
        assert unit["epoch"] == epoch and unit["epochs"] == 3
        assert [r["run"] for r in unit["runs"]] == [r["run"] for r in rows]
        for shown_row, given in zip(unit["runs"], rows):
            assert {k: shown_row[k] for k in given} == given
        assert {r["label"] for r in unit["runs"]} == {
            "relu · seed 0", "relu · seed 1", "tanh · seed 0", "tanh · seed 1"
        }  # fmt: skip
    done = invoke("watch", out)  # a complete study: one snapshot, then exit
    assert done.exit_code == 0, done.output
    assert "4/4 runs stored (4 done, 0 diverged, 0 failed)" in done.output
    assert "complete" in done.output


def test_watch_without_a_study_is_one_line(tmp_path):
    one_line_error(invoke("watch", tmp_path), "no study results")
    one_line_error(invoke("watch", tmp_path / "missing"), "does not exist")
    one_line_error(invoke("watch", tmp_path, "--json"), "--once")


def test_ad_hoc_studies_get_a_folder_of_their_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = invoke("compare", *TINY)
    assert first.exit_code == 0, first.output
    other = [*TINY[:-2], "--batch-size", "25"]  # would collide in actlab-runs/compare before
    second = invoke("compare", *other)
    assert second.exit_code == 0, second.output
    folders = sorted(p.name for p in (tmp_path / "actlab-runs").iterdir())
    assert len(folders) == 2 and all(f.startswith("compare-") for f in folders), folders
    for folder in folders:
        assert f"actlab-runs/{folder}/report.html" in first.output + second.output
    again = invoke("compare", *TINY)  # the same command finds its folder: nothing to train
    assert again.exit_code == 0 and "0 to train" in again.output, again.output
    named = invoke("compare", *TINY, "--name", "mine")
    assert named.exit_code == 0 and (tmp_path / "actlab-runs" / "mine" / "study.db").is_file()


def test_default_out_rule():
    a = Study(name="s", dataset="moons", seeds=2, epochs=1)
    assert default_out(a, as_named=True).as_posix() == "actlab-runs/s"
    hashed = default_out(a, as_named=False).as_posix()
    assert hashed == f"actlab-runs/s-{settings_hash(a)}" and len(settings_hash(a)) == 6
    # the name, the target and list order do not count; any run setting and diagnostics do
    assert settings_hash(a.replace(name="t", target=0.5)) == settings_hash(a)
    assert settings_hash(a.replace(epochs=2)) != settings_hash(a)
    assert settings_hash(a.replace(diagnostics=True)) != settings_hash(a)
    two = a.replace(activations=["relu", "tanh"])
    assert settings_hash(two) == settings_hash(two.replace(activations=["tanh", "relu"]))


def test_live_table_keeps_the_best_and_worst_of_a_large_unit():
    rows = [
        {"run": f"r{i}", "status": "done", "epoch": 3, "train_loss": 1.0 / (i + 1),
         "train_acc": None, "test_loss": None, "test_acc": i / 100}
        for i in range(30)
    ]  # fmt: skip
    rows[7]["status"] = "diverged"
    rows[7]["test_acc"] = None
    kept, left_out = shown(rows, limit=6)
    assert left_out == 24
    assert [r["run"] for r in kept] == ["r29", "r28", "r27", "r1", "r0", "r7"]
    console = Console(width=100, record=True, color_system=None)
    console.print(table(rows, {"r29": "best one"}, limit=6))
    text = console.export_text()
    assert "best one" in text and "... 24 more" in text and "yes" in text
    assert "r15" not in text and text.count("\n") < 14
    live = LiveRows({"r0": "zero"})
    assert live.__rich__().plain == ""  # nothing before the first epoch
    live.update(rows[:2])
    console.print(live)
    assert "zero" in console.export_text()


def test_progress_is_plain_lines_when_not_a_terminal():
    console = Console(width=100, record=True, force_terminal=False)
    with progress(console, (), "demo: training", total=40, completed=4) as advance:
        for _ in range(9):
            advance(4)
    lines = console.export_text().splitlines()
    assert lines == [f"demo: training: {n}/40 member-epochs stored ({n * 100 // 40}%)"
                     for n in range(8, 41, 4)]  # fmt: skip
    assert "\x1b" not in console.export_text(styles=True)
