"""The study store: schema and roundtrip, refusing a different study, all-or-nothing runs, and
resuming a study whose process was SIGKILLed in the middle of writing a run."""

from __future__ import annotations

import csv
import json
import math
import os
import runpy
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actlab.errors import ActlabError
from actlab.study import METRICS, Store, canonical_json, run_key

STUDY = {"name": "demo", "grid": {"activation": ["relu", "tanh"], "seed": [0, 1]}, "epochs": 3}


def config(activation: str = "relu", seed: int = 0) -> dict:
    return {"activation": activation, "seed": seed, "optimizer": {"name": "adam", "lr": 1e-3}}


def epochs(n: int = 3, start: float = 1.0) -> list[dict]:
    return [
        {"train_loss": start / (e + 1), "train_acc": 0.5 + e / 10, "test_loss": start / (e + 2)}
        for e in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "out", STUDY) as s:
        yield s


def test_run_key_is_stable_and_canonical() -> None:
    a = {"x": 1, "y": {"b": 2.5, "a": [1, 2]}}
    b = {"y": {"a": [1, 2], "b": 2.5}, "x": 1}
    assert run_key(a) == run_key(b) and len(run_key(a)) == 16
    assert run_key(a) != run_key({**a, "x": 2})
    assert canonical_json(b) == '{"x":1,"y":{"a":[1,2],"b":2.5}}'
    with pytest.raises(ActlabError, match="not storable as JSON"):
        run_key({"lr": float("nan")})
    with pytest.raises(ActlabError, match="not storable as JSON"):
        run_key({"fn": object()})


def test_schema_is_sqlite_in_wal_mode(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {
            "meta",
            "runs",
            "metrics",
            "step_metrics",
            "diagnostics",
            "checksums",
            "checkpoints",
            "weights",
        }
        columns = [r[1] for r in conn.execute("PRAGMA table_info(metrics)")]
        assert columns == ["run", "epoch", *METRICS]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(diagnostics)")]
        assert columns == ["run", "step", "layer", "metric", "value"]
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        assert json.loads(meta["study"]) == STUDY and meta["schema"] == "1"
    finally:
        conn.close()
    assert store.path.name == "study.db" and store.study == STUDY


def test_roundtrip(store: Store, tmp_path: Path) -> None:
    c1, c2 = config("relu"), config("tanh", 1)
    k1, k2 = run_key(c1), run_key(c2)
    assert store.pending([k1, k2, k1]) == [k1, k2] and len(store) == 0
    metrics = epochs()
    metrics[2]["test_acc"] = float("nan")
    store.complete_run(
        k1,
        c1,
        seed=0,
        metrics=metrics,
        wall_s=1.5,
        diagnostics=[
            (0, "fc1", "dead_frac", 0.25),
            {"step": 10, "layer": "fc2", "metric": "grad", "value": 2.0},
        ],
    )
    store.complete_run(
        k2, c2, seed=1, metrics=epochs(2, 9.0), status="diverged", diverged_step=17, wall_s=0.5
    )
    assert store.pending([k1, k2, "other"]) == ["other"] and len(store) == 2

    with Store.open(tmp_path / "out") as again:  # reopened read-as-is, as a report would
        r1, r2 = again.runs()
        assert (r1.key, r1.config, r1.seed, r1.status, r1.wall_s) == (k1, c1, 0, "done", 1.5)
        assert (r2.status, r2.diverged_step, r2.error) == ("diverged", 17, None)
        assert again.runs(status="diverged") == [r2]
        rows = again.metrics(k1)
        assert [r["epoch"] for r in rows] == [0, 1, 2]
        assert [r["train_loss"] for r in rows] == [m["train_loss"] for m in metrics]
        assert rows[2]["test_acc"] is None and rows[0]["test_acc"] is None  # NaN / missing
        assert len(again.metrics()) == 5
        assert again.diagnostics(k1, metric="grad") == [
            {"run": k1, "step": 10, "layer": "fc2", "metric": "grad", "value": 2.0}
        ]
        assert again.diagnostics(k2) == []


def test_export_csv(store: Store, tmp_path: Path) -> None:
    c = config("tanh")
    store.complete_run(run_key(c), c, seed=0, metrics=epochs(), diagnostics=[(1, "fc", "m", 3.0)])
    paths = store.export_csv(tmp_path / "csv")
    with open(paths["runs"], newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["key"] == run_key(c) and row["config.activation"] == "tanh"
    assert row["config.optimizer.lr"] == "0.001" and row["status"] == "done"
    with open(paths["metrics"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["train_loss"]) for r in rows] == [m["train_loss"] for m in epochs()]
    with open(paths["diagnostics"], newline="") as f:
        assert next(csv.DictReader(f))["value"] == "3.0"


def test_a_different_study_is_refused_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    c = config()
    with Store.open(out, STUDY) as s:
        s.complete_run(run_key(c), c, seed=0, metrics=epochs())
    with pytest.raises(ActlabError) as err:
        Store.open(out, {**STUDY, "epochs": 4})
    assert "holds a different study" in str(err.value) and "--force" in str(err.value)
    with Store.open(out, STUDY) as s:  # same study: resumes, results kept
        assert len(s) == 1 and s.pending([run_key(c)]) == []
    with Store.open(out, {**STUDY, "epochs": 4}, force=True) as s:
        assert len(s) == 0 and s.study["epochs"] == 4 and s.metrics() == []
    with Store.open(out) as s:
        assert s.study["epochs"] == 4


def test_files_that_are_not_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ActlabError, match="holds no study results"):
        Store.open(tmp_path / "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "study.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ActlabError, match="not a readable actlab study store"):
        Store.open(tmp_path / "junk", STUDY)
    assert (tmp_path / "junk" / "study.db").read_bytes().startswith(b"this is not")


def table_counts(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("runs", "metrics", "diagnostics")
        )
    finally:
        conn.close()


def test_a_failure_mid_write_leaves_no_partial_run(store: Store) -> None:
    good, bad = config("relu"), config("tanh")
    store.complete_run(
        run_key(good), good, seed=0, metrics=epochs(), diagnostics=[(0, "a", "m", 1)]
    )
    before = table_counts(store.path)

    def diagnostics():
        yield (0, "fc1", "grad", 1.0)
        yield (1, "fc1", "grad", 2.0)
        raise RuntimeError("the probe crashed")

    with pytest.raises(RuntimeError, match="probe crashed"):
        store.complete_run(run_key(bad), bad, seed=0, metrics=epochs(), diagnostics=diagnostics())
    assert table_counts(store.path) == before  # metrics were inserted, then rolled back
    assert store.pending([run_key(bad)]) == [run_key(bad)]

    for broken in (
        {"metrics": [{"train_loss": 1.0}, {"trian_loss": 0.5}]},
        {"metrics": [{"train_loss": "low"}]},
        {"metrics": epochs(), "diagnostics": [(0, "fc1", "grad", 1.0), (1, "fc1")]},
        {"metrics": epochs(), "status": "crashed"},
    ):
        with pytest.raises(ActlabError):
            store.complete_run(run_key(bad), bad, seed=0, **broken)
        assert table_counts(store.path) == before
    store.complete_run(run_key(bad), bad, seed=0, metrics=epochs())
    assert store.pending([run_key(bad)]) == []


def test_nothing_is_duplicated(store: Store) -> None:
    c = config()
    k = run_key(c)
    store.complete_run(k, c, seed=0, metrics=epochs(3), diagnostics=[(0, "a", "m", 1.0)])
    with pytest.raises(ActlabError, match="already stored"):
        store.complete_run(k, c, seed=0, metrics=epochs(5))
    assert table_counts(store.path) == (1, 3, 1)
    with pytest.raises(ActlabError, match=r"UNIQUE constraint failed: metrics\.run"):
        store.complete_run("x", c, seed=0, metrics=[{"epoch": 1}, {"epoch": 1}])
    with pytest.raises(ActlabError, match="given twice"):
        store.complete_run("x", c, seed=0, metrics=[], diagnostics=[(0, "a", "m", 1)] * 2)
    assert table_counts(store.path) == (1, 3, 1)
    store.complete_run(k, c, seed=0, metrics=epochs(2), replace=True)
    assert table_counts(store.path) == (1, 2, 0)  # the old rows went with the old run


def test_failed_runs_are_retried_only_when_asked(store: Store) -> None:
    c = config()
    k = run_key(c)
    store.complete_run(k, c, seed=0, metrics=[], status="failed", error="CUDA out of memory")
    assert store.pending([k]) == [] and store.pending([k], retry_failed=True) == [k]
    assert store.runs()[0].error == "CUDA out of memory"
    store.complete_run(k, c, seed=0, metrics=epochs())  # a failed run may be replaced
    assert [r.status for r in store.runs()] == ["done"] and len(store.metrics()) == 3


def test_add_diagnostics_is_all_or_nothing(store: Store) -> None:
    c = config()
    k = run_key(c)
    with pytest.raises(ActlabError, match="no stored run"):
        store.add_diagnostics(k, [(0, "a", "m", 1.0)])
    store.complete_run(k, c, seed=0, metrics=epochs())
    with pytest.raises(ActlabError):
        store.add_diagnostics(k, [(0, "a", "m", 1.0), ("late", "a", "m", 2.0)])
    assert store.diagnostics() == []
    store.add_diagnostics(k, [(0, "a", "m", 1.0), (5, "a", "m", math.inf)])
    assert [d["value"] for d in store.diagnostics()] == [1.0, math.inf]


# A study script: completes 12 runs one by one. Run STALL stops inside its write transaction
# (after its metrics are inserted, while its diagnostics are being consumed), announces that
# with a marker file and waits there to be killed.
STUDY_SCRIPT = """
import pathlib, sys, time
from actlab.study import Store, run_key

out, stall = sys.argv[1], int(sys.argv[2])
configs = [{"activation": a, "seed": s} for a in ("relu", "tanh", "gelu") for s in range(4)]
by_key = {run_key(c): c for c in configs}

def diagnostics(index, c):
    for step in range(4):
        if index == stall and step == 2:
            pathlib.Path(out, "stalled").write_text(str(index))
            time.sleep(60)
        yield (step, "fc1", "grad_norm", c["seed"] + step / 8)

with Store.open(out, {"name": "crash-test", "runs": len(configs)}) as store:
    for key in store.pending(by_key):
        c = by_key[key]
        print("run", key, flush=True)
        metrics = [{"train_loss": 1 / (e + 1 + c["seed"]), "test_acc": e / 5} for e in range(5)]
        store.complete_run(key, c, seed=c["seed"], metrics=metrics, wall_s=time.time() % 1,
                           diagnostics=diagnostics(configs.index(c), c))
        time.sleep(0.01)
"""


def content(out: Path) -> tuple[list, list, list]:
    """Everything stored except timings, in a canonical order."""
    with Store.open(out) as s:
        runs = sorted(
            (r.key, canonical_json(r.config), r.seed, r.status, r.diverged_step) for r in s.runs()
        )
        return runs, s.metrics(), s.diagnostics()


def test_a_killed_study_resumes_with_nothing_lost_or_duplicated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    script = tmp_path / "study.py"
    script.write_text(STUDY_SCRIPT)
    out = tmp_path / "killed"
    child = subprocess.Popen(
        [sys.executable, str(script), str(out), "5"], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / "stalled").exists():
            assert child.poll() is None, "the study script ended before it stalled"
            assert time.monotonic() < deadline, "the study script never stalled"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        stdout = child.communicate()[0]
    assert child.returncode == -signal.SIGKILL
    started = [line.split()[1] for line in stdout.splitlines()]
    assert len(started) == 6  # five whole runs, the sixth killed half-way through its write

    assert table_counts(out / "study.db") == (5, 25, 20)  # only whole runs; none of run six
    with Store.open(out) as s:
        assert [r.key for r in s.runs()] == started[:5]
        assert all(len(s.metrics(r.key)) == 5 and len(s.diagnostics(r.key)) == 4 for r in s.runs())

    resumed = subprocess.run(
        [sys.executable, str(script), str(out), "-1"], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    redone = [line.split()[1] for line in resumed.stdout.splitlines()]
    assert redone[0] == started[5] and len(redone) == 7 and not set(redone) & set(started[:5])

    reference = tmp_path / "uninterrupted"  # the same script, never killed (run in-process)
    monkeypatch.setattr(sys, "argv", [str(script), str(reference), "-1"])
    runpy.run_path(str(script), run_name="__main__")
    assert len(capsys.readouterr().out.splitlines()) == 12

    assert table_counts(out / "study.db") == table_counts(reference / "study.db") == (12, 60, 48)
    assert content(out) == content(reference)
