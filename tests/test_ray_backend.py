"""The Ray backend: a study's units as tasks on a local Ray cluster (started here, 2 CPUs) give
the local backend's numbers bit for bit; a worker killed mid-unit is retried with nothing lost or
stored twice; a driver killed mid-study resumes on rerun; without Ray, one line and exit 2.

Every study here trains with one intra-op thread on both sides (the workers use the driver's
count, :mod:`actlab.study.backends`). Sizes follow tests/test_h_checkpoints.py.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.errors import ActlabError
from actlab.study import Store
from actlab.study.runner import plan, run_study
from actlab.study.spec import Study

try:
    import ray
except ImportError:
    if os.environ.get("CI"):  # CI installs actlab[test], which brings Ray: never skip there
        raise
    ray = None

needs_ray = pytest.mark.skipif(ray is None, reason='Ray missing: pip install "actlab[ray]"')


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for this module, its workers warmed up (torch and actlab
    imported), shut down at the end; this process trains with one thread meanwhile."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ray.init(num_cpus=2, log_to_driver=False, logging_level=logging.WARNING)
    try:
        ray.get([_warm.remote() for _ in range(2)])
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        torch.set_num_threads(threads)
    assert not ray.is_initialized()


if ray is not None:

    @ray.remote(num_cpus=1)
    def _warm() -> int:
        import actlab.study.runner  # noqa: F401

        time.sleep(0.5)  # hold the CPU so that the other call starts the second worker
        return os.getpid()


def _study(**kw) -> Study:
    base = dict(
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        optimizers=("adam", "sgd"),
        lrs={"adam": 0.01, "sgd": 300.0},  # sgd diverges: a frozen member, a diverged step
        seeds=(0, 1),
        epochs=6,
        batch_size=16,
    )
    return Study(**{**base, **kw})


def _numbers(out):
    with Store.open(out) as store:
        runs = sorted((r.key, r.status, r.diverged_step) for r in store.runs())
        metrics = sorted(tuple(sorted(row.items())) for row in store.metrics())
    return runs, metrics


def _everything(out):
    """Stored runs, metrics, diagnostics and final weights (tensors as lists: exact)."""
    runs, metrics = _numbers(out)
    with Store.open(out) as store:
        diagnostics = sorted(tuple(sorted(row.items())) for row in store.diagnostics())
        weights = {}
        for key, *_ in runs:
            ((step, state),) = store.weights(key)
            weights[key] = (step, {n: t.tolist() for n, t in state.items()})
    return runs, metrics, diagnostics, weights


class _Bar:
    """A progress factory recording the plan and every advance."""

    def __init__(self) -> None:
        self.plans, self.steps = [], []

    def __call__(self, work):
        self.plans.append(work)
        bar = self

        class _cm:
            def __enter__(self):
                return bar.steps.append

            def __exit__(self, *exc):
                return None

        return _cm()


@needs_ray
def test_ray_gives_the_local_numbers_bit_for_bit(cluster, tmp_path):
    study = _study(diagnostics=True)
    run_study(study, tmp_path / "local", max_members=2).close()
    bar, live = _Bar(), []
    run_study(
        study, tmp_path / "ray", max_members=2, backend="ray", progress=bar, on_epoch=live.append
    ).close()
    local, remote = _everything(tmp_path / "local"), _everything(tmp_path / "ray")
    runs, metrics, diagnostics, _ = remote
    assert len(runs) == 8 and len(metrics) > 8 * 4 and diagnostics
    assert {status for _, status, _ in runs} == {"done", "diverged"}, runs
    assert remote == local
    work = bar.plans[0]
    # Progress is fed by the units' checkpoints (relayed to the driver) and finished units.
    assert len(work.units) == 4 and len(bar.steps) > 4
    assert sum(bar.steps) == work.member_epochs
    # The live view gets each relayed checkpoint's latest metrics of the unit's runs.
    assert live and all(len(rows) == 2 and rows[0]["epoch"] is not None for rows in live)
    assert ray.is_initialized()  # the caller's cluster is left to the caller


def _ancestors(pid: int) -> set[int]:
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return seen


def _unit_tasks() -> list[int]:
    """Processes of this test's cluster running a unit (Ray titles them ray::_unit_task)."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::_unit_task") and me in _ancestors(int(entry.name)):
            found.append(int(entry.name))
    return found


class _Killer(threading.Thread):
    """Waits for a unit's task to train for ``after`` seconds and for the driver to have
    stored a checkpoint in ``out`` (when given), SIGKILLs a unit's worker, then records the
    workers that run units after that (the retry among them)."""

    def __init__(self, after: float, out: Path | None = None) -> None:
        super().__init__(daemon=True)
        self.after, self.out, self.killed, self.later = after, out, None, set()
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while self.killed is None and time.monotonic() < deadline and not self.done.is_set():
            if self.out is not None and not _count(self.out, "checkpoints"):
                time.sleep(0.02)
                continue
            if pids := _unit_tasks():
                time.sleep(self.after)
                if pids[0] in _unit_tasks():  # still training that unit
                    os.kill(pids[0], signal.SIGKILL)
                    self.killed = pids[0]
            time.sleep(0.02)
        while not self.done.is_set():
            self.later.update(_unit_tasks())
            time.sleep(0.02)


@needs_ray
def test_a_worker_killed_mid_unit_is_retried_with_nothing_lost_or_doubled(cluster, tmp_path):
    study = _study(dataset_params={"n": 1024}, activations=("relu",), epochs=20)
    work = plan(study, max_members=2)
    assert len(work.units) == 2 and work.steps(work.units[0]) == 640  # 32 steps an epoch
    run_study(study, tmp_path / "local", max_members=2).close()
    killer = _Killer(after=0.0, out=tmp_path / "ray")  # once a checkpoint is stored
    killer.start()
    said = []
    try:
        run_study(study, tmp_path / "ray", max_members=2, backend="ray", notify=said.append).close()
    finally:
        killer.done.set()
        killer.join()
    assert killer.killed is not None, "no unit was seen training; nothing was killed"
    assert killer.later - {killer.killed}, "the killed unit did not run again"
    # The retry resumed from the unit's last relayed checkpoint, not from the start.
    resumed = [line for line in said if "its retry resumed from the checkpoint at epoch" in line]
    assert len(resumed) == 1 and int(resumed[0].rsplit(" ", 1)[1]) >= 1, said
    runs, metrics = _numbers(tmp_path / "ray")
    assert len(runs) == 4 and len({key for key, *_ in runs}) == 4
    rows = [sum(dict(m)["run"] == key for m in metrics) for key, *_ in runs]
    assert rows == [21 if status == "done" else step for _, status, step in runs]  # each once
    assert (runs, metrics) == _numbers(tmp_path / "local")


def _stored(out: Path) -> int:
    return _count(out, "runs")


def _count(out: Path, table: str) -> int:
    """Rows of ``table`` in ``out`` 's store, read while another process writes it."""
    try:
        conn = sqlite3.connect(f"file:{out / 'study.db'}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


CLI = ["compare", "--dataset", "spiral", "-a", "relu,tanh,elu", "-o", "adam,sgd", "--seeds", "2",
       "--epochs", "8", "--batch-size", "16", "--max-members", "2", "--backend", "ray"]  # fmt: skip


@needs_ray
def test_a_killed_driver_resumes_on_rerun_with_the_uninterrupted_numbers(cluster, tmp_path):
    out = tmp_path / "s"
    args = [*CLI, "--out", str(out), "--address", cluster]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as this process trains
    driver = subprocess.Popen(
        [sys.executable, "-m", "actlab", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None and not _stored(out):
            time.sleep(0.02)
    finally:
        driver.kill()
        driver.wait()
    assert driver.returncode == -signal.SIGKILL, "the driver ended before it could be killed"
    kept = _stored(out)
    assert 0 < kept < 12, kept  # killed mid-study: some units stored, not all
    result = CliRunner().invoke(app, args)  # the same command, here (this process's cluster)
    assert result.exit_code == 0, result.output
    assert f"12 runs (3 activations × 2 optimizers × 2 seeds), {12 - kept} to train" in (
        result.output
    )
    with Store.open(out) as store:
        study = Study.from_dict(store.study)
    assert _numbers(out) == _numbers(_local(study, tmp_path / "whole"))
    again = _Bar()  # a rerun of the finished study submits nothing
    run_study(study, out, max_members=2, backend="ray", progress=again).close()
    assert again.plans[0].units == () and again.steps == []


@needs_ray
def test_the_rerun_submits_only_the_units_not_stored(cluster, tmp_path):
    study = _study()
    out = tmp_path / "s"
    run_study(_study(seeds=(0,)), out, max_members=2).close()
    bar = _Bar()
    run_study(study, out, max_members=2, backend="ray", progress=bar, force=True).close()
    units = bar.plans[0].units
    assert [len(u) for u in units] == [2, 2] and {r.seed for u in units for r in u} == {1}
    assert _numbers(out) == _numbers(_local(study, tmp_path / "whole"))


def _local(study, out):
    run_study(study, out, max_members=2).close()
    return out


# -- without Ray --------------------------------------------------------------------------------


ARGS = ["compare", "--dataset", "spiral", "-a", "relu", "-o", "adam", "--seeds", "1",
        "--epochs", "1", "--batch-size", "16"]  # fmt: skip


def test_without_ray_the_ray_backend_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    out = tmp_path / "s"
    result = CliRunner().invoke(app, [*ARGS, "--out", str(out), "--backend", "ray"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and 'pip install "actlab[ray]"' in lines[0], lines
    assert not out.exists()  # nothing stored, not even the directory
    with pytest.raises(ActlabError, match=r"actlab\[ray\]"):
        run_study(_study(), out, backend="ray")
    assert not out.exists()
    local = CliRunner().invoke(app, [*ARGS, "--out", str(out)])  # the default needs no Ray
    assert local.exit_code == 0, local.output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backend", "spark"], "unknown backend 'spark'; choose one of local, ray"),
        (["--address", "auto"], "--address and --gpus-per-unit apply to --backend ray only"),
        (["--gpus-per-unit", "1"], "--address and --gpus-per-unit apply to --backend ray only"),
    ],
)
def test_bad_backend_flags_are_one_line(tmp_path, flags, message):
    out = tmp_path / "s"
    result = CliRunner().invoke(app, [*ARGS, "--out", str(out), *flags])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not out.exists()


@needs_ray
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"device": "cuda"}, "needs --gpus-per-unit"),
        ({"gpus_per_unit": 1}, "reserves GPUs that device 'cpu' leaves idle"),
        ({"gpus_per_unit": -1}, "must be 0 or more"),
        ({"device": "mps"}, "trains on cpu or cuda"),
        ({"address": "127.0.0.1:1"}, "no Ray cluster answers at 127.0.0.1:1"),  # not minutes
        ({"address": "headnode"}, "give HOST:PORT"),
    ],
)
def test_ray_devices_and_addresses_are_checked_before_anything_is_stored(tmp_path, kw, message):
    with pytest.raises(ActlabError, match=message):
        run_study(_study(), tmp_path / "s", backend="ray", **kw)
    assert not (tmp_path / "s").exists()
