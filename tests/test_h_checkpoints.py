"""At most one epoch lost: a unit in training is checkpointed after every epoch (and inside long
ones), a kill or Ctrl-C resumes from there to the very numbers of an uninterrupted run, the
progress counts stored member-epochs, and one process at a time runs a study directory.

Sizes follow tests/test_e_reproducible.py (width 16, batches of 16), where a member is bit for bit
itself in any stack.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import torch
from typer.testing import CliRunner

from actlab.cli import app
from actlab.data import load
from actlab.diagnostics import StackRecorder
from actlab.errors import ActlabError
from actlab.models import ModelSpec
from actlab.study import Store, lock
from actlab.study import checkpoints as ckpt
from actlab.study.runner import plan, run_study
from actlab.study.spec import Study
from actlab.train import Member, train


@pytest.fixture(scope="module")
def data():
    return load("spiral", n=256, seed=3)


def _members(data, dropout: float = 0.0):
    spec = ModelSpec.for_data(data, depth=2, width=16, dropout=dropout)
    return [
        Member(spec.replace(activation="relu"), 0, "adam", {"lr": 0.01}),
        Member(spec.replace(activation="tanh"), 1, "nag", {"lr": 0.05}),
        Member(spec.replace(activation="prelu"), 2, "adagrad", {"lr": 0.05}),
        Member(spec.replace(activation="elu"), 3, "rmsprop", {"lr": 0.01}),
        Member(spec, 4, "sgd", {"lr": 300.0}),  # diverges: frozen mid-training
        Member(spec, 5, "momentum", {"lr": 0.02}, "multiclass_hinge"),
    ]


class _Every:
    """Checkpoints that save (serialized, as the store does) at every offered point."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.saved: list[tuple[int, int, bytes]] = []
        self.stop_after = stop_after

    def due(self, epoch, batch, end_of_epoch):
        return True

    def save(self, state, epoch, batch):
        self.saved.append((epoch, batch, ckpt.serialize(state)))

    def stopping(self):
        return self.stop_after is not None and len(self.saved) >= self.stop_after


def _same(a, b) -> bool:
    if [(m.metrics, m.status, m.diverged_step) for m in a.members] != [
        (m.metrics, m.status, m.diverged_step) for m in b.members
    ]:
        return False
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _recorder(members, data):
    return StackRecorder([m.spec for m in members], [m.optimizer for m in members], data=data)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_resuming_from_any_checkpoint_gives_the_uninterrupted_numbers(data, dtype):
    members = _members(data)
    kw = {"epochs": 3, "batch_size": 16, "dtype": dtype}
    whole_rec = _recorder(members, data)
    whole = train(data, members, recorder=whole_rec, **kw)
    saver = _Every()
    saved_run = train(data, members, checkpoints=saver, recorder=_recorder(members, data), **kw)
    assert _same(whole, saved_run)  # saving changes nothing
    if dtype == torch.float32:  # a frozen member is part of the state (float64 holds out)
        assert whole.members[4].status == "diverged"
    points = [(e, b) for e, b, _ in saver.saved]
    assert (2, 0) in points and (3, 0) in points and (1, 5) in points
    assert (4, 0) not in points  # the last epoch is stored as results, not checkpointed
    picks = [0, 4, 15, 16, 17, len(saver.saved) - 1]  # mid-epoch, epoch ends, the last one
    for i in picks:
        epoch, batch, blob = saver.saved[i]
        rec = _recorder(members, data)
        resumed = train(data, members, recorder=rec, resume=ckpt.deserialize(blob), **kw)
        assert _same(resumed, whole), (epoch, batch)
        for k in range(len(members)):
            assert repr(rec.rows_of(k)) == repr(whole_rec.rows_of(k)), (epoch, batch, k)


def _curves(result) -> list[list[dict]]:
    """Each member's rows at step resolution without their (timed) seconds."""
    return [
        [{k: v for k, v in r.items() if k != "seconds"} for r in m.curve] for m in result.members
    ]


def test_resuming_with_eval_every_and_a_step_budget_gives_the_same_rows(data):
    members = _members(data)
    kw = {"steps": 21, "batch_size": 16, "eval_every": 3}  # 8 steps per epoch: ends mid-epoch
    whole = train(data, members, **kw)
    saver = _Every()
    assert _same(train(data, members, checkpoints=saver, **kw), whole)
    points = [(e, b) for e, b, _ in saver.saved]
    assert (3, 4) in points and (3, 5) not in points  # step 21 is stored as results
    for i in range(0, len(saver.saved), 3):
        epoch, batch, blob = saver.saved[i]
        resumed = train(data, members, resume=ckpt.deserialize(blob), **kw)
        assert _same(resumed, whole), (epoch, batch)
        assert _curves(resumed) == _curves(whole), (epoch, batch)
        for m in resumed.members:
            seconds = [r["seconds"] for r in m.curve]
            assert seconds == sorted(seconds)  # training time goes on from the saved state
    steps = [r["step"] for r in whole.members[0].curve]
    assert steps == [0, 3, 6, 8, 9, 12, 15, 16, 18, 21]


def test_dropout_is_seeded_and_resumes_exactly(data):
    members = _members(data, dropout=0.3)[:3]
    kw = {"epochs": 2, "batch_size": 16}
    torch.manual_seed(123)
    first = train(data, members, **kw)
    torch.manual_seed(456)  # the global generator's state before the call does not matter
    second = train(data, members, **kw)
    assert _same(first, second)
    saver = _Every()
    train(data, members, checkpoints=saver, **kw)
    resumed = train(data, members, resume=ckpt.deserialize(saver.saved[7][2]), **kw)
    assert _same(resumed, first)
    without = train(data, _members(data)[:3], **kw)
    assert not _same(without, first)  # dropout really acted


def test_stopping_raises_after_the_save(data):
    saver = _Every(stop_after=3)
    with pytest.raises(KeyboardInterrupt):
        train(data, _members(data)[:2], epochs=2, batch_size=16, checkpoints=saver)
    assert [(e, b) for e, b, _ in saver.saved] == [(1, 1), (1, 2), (1, 3)]


def test_a_state_from_another_stack_is_refused(data):
    saver = _Every(stop_after=1)
    with pytest.raises(KeyboardInterrupt):
        train(data, _members(data)[:2], epochs=2, batch_size=16, checkpoints=saver)
    state = ckpt.deserialize(saver.saved[0][2])
    with pytest.raises(ActlabError, match="has 2 members; this stack has 3"):
        train(data, _members(data)[:3], epochs=2, batch_size=16, resume=state)
    with pytest.raises(ActlabError, match="not one this actlab saves"):
        train(data, _members(data)[:2], epochs=2, batch_size=16, resume={"version": 99})


# -- the runner and the store ------------------------------------------------------------------


def _study(**kw) -> Study:
    base = dict(
        dataset="spiral",
        dataset_params={"n": 256},
        width=16,
        depth=2,
        activations=("relu", "tanh"),
        optimizers=("adam", "sgd"),
        lr=(0.01,),
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


def _checkpoints(out):
    conn = sqlite3.connect(out / "study.db")
    try:
        return conn.execute("SELECT unit, epoch, batch FROM checkpoints").fetchall()
    finally:
        conn.close()


class _Bar:
    """A progress factory recording the plan and every advance."""

    def __init__(self, on_advance=None) -> None:
        self.plans, self.steps, self.on_advance = [], [], on_advance

    def __call__(self, work):
        self.plans.append(work)
        bar = self

        class _cm:
            def __enter__(self):
                def advance(n):
                    bar.steps.append(n)
                    if bar.on_advance is not None:
                        bar.on_advance(len(bar.steps))

                return advance

            def __exit__(self, *exc):
                return None

        return _cm()


def test_ctrl_c_checkpoints_and_a_rerun_finishes_with_the_same_numbers(tmp_path):
    study = _study()
    run_study(study, tmp_path / "whole").close()

    def interrupt(count):  # Ctrl-C once the second epoch is stored
        if count == 2:
            os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "stopped"
    bar = _Bar(interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, progress=bar)
    assert bar.steps == [8, 8]  # two epochs of the one 8-member unit, stored
    (_unit, epoch, batch), *more = _checkpoints(out)
    assert not more and (epoch, batch) >= (3, 0)  # the state at the Ctrl-C
    with Store.open(out) as store:
        assert len(store) == 0
        (live,) = store.live()  # what `actlab watch` shows: each run's last stored epoch
    assert live["epoch"] == epoch and len(live["summary"]) == 8
    assert {row["epoch"] for row in live["summary"]} == {epoch - 1}
    assert [row["run"] for row in live["summary"]] == [r.key for r in study.runs()]
    bar = _Bar()
    run_study(study, out, progress=bar).close()
    work = bar.plans[0]
    assert work.member_epochs == 8 * 6 and work.resumed == 8 * (epoch - 1)
    assert sum(bar.steps) == work.member_epochs - work.resumed
    assert _checkpoints(out) == []
    assert _numbers(out) == _numbers(tmp_path / "whole")


def test_inside_a_long_epoch_a_timed_checkpoint_resumes_mid_epoch(tmp_path):
    study = _study(epochs=3, batch_size=4)  # 32 steps an epoch
    out = tmp_path / "s"
    saved: list[tuple[int, int]] = []
    real = Store.save_checkpoint

    def spy(self, unit, runs, epoch, batch, *rest):
        saved.append((epoch, batch))
        if len(saved) == 5:  # Ctrl-C in the middle of the first epoch
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, unit, runs, epoch, batch, *rest)

    Store.save_checkpoint = spy
    try:
        with pytest.raises(KeyboardInterrupt):
            run_study(study, out, checkpoint_every=1e-9)  # every step
    finally:
        Store.save_checkpoint = real
    assert saved == [(1, b) for b in range(1, 6)], saved  # stopped right after that save
    assert [row[1:] for row in _checkpoints(out)] == [(1, 5)]
    run_study(study, out).close()
    assert _numbers(out) == _numbers(_fresh(study, tmp_path / "whole"))


def test_a_damaged_checkpoint_is_reported_and_the_unit_starts_over(tmp_path):
    study = _study(epochs=3)
    out = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, progress=_Bar(lambda n: os.kill(os.getpid(), signal.SIGINT)))
    conn = sqlite3.connect(out / "study.db")
    conn.execute("UPDATE checkpoints SET state = zeroblob(length(state))")
    conn.commit()
    conn.close()
    notes: list[str] = []
    bar = _Bar()
    run_study(study, out, progress=bar, notify=notes.append).close()
    assert len(notes) == 1 and "checkpoint" in notes[0] and "damaged" in notes[0], notes
    run_study(study, tmp_path / "whole").close()
    assert _numbers(out) == _numbers(tmp_path / "whole")


def test_a_different_unit_does_not_resume_a_checkpoint_and_force_clears_them(tmp_path):
    study = _study(epochs=3)
    out = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out, progress=_Bar(lambda n: os.kill(os.getpid(), signal.SIGINT)))
    assert len(_checkpoints(out)) == 1
    bar = _Bar()  # other units (2 members each): the 8-member checkpoint does not apply ...
    run_study(study, out, progress=bar, max_members=2).close()
    assert bar.plans[0].resumed == 0
    assert _checkpoints(out) == []  # ... and goes once its runs are stored
    assert _numbers(out) == _numbers(_fresh(study, tmp_path / "whole"))
    other = _study(epochs=3, seeds=(5,))
    with pytest.raises(KeyboardInterrupt):
        run_study(other, out, force=True, progress=_Bar(lambda n: os.kill(os.getpid(), 2)))
    assert len(_checkpoints(out)) == 1
    run_study(study, out, force=True).close()  # another study replaces it: its state goes
    assert _checkpoints(out) == []


def _fresh(study, out):
    run_study(study, out).close()
    return out


KILLABLE = """
import sys, torch
torch.set_num_threads(1)
import actlab.study.runner as runner
from actlab.study.spec import Study
log = open(sys.argv[2], "a", buffering=1)
real = runner.train
def logged(*a, **kw):
    kw["on_step"] = lambda k: log.write("s\\n")
    return real(*a, **kw)
runner.train = logged
runner.run_study(Study.from_dict({study!r}), sys.argv[1]).close()
"""


def test_ten_random_kills_lose_at_most_an_epoch_and_change_no_number(tmp_path):
    """SIGKILL at 10 random points of a multi-epoch unit (steps, checkpoint writes, evaluation),
    each time rerun: every kill lost at most the epoch in progress, and the finished study
    equals an uninterrupted one bit for bit, each run stored once."""
    study = _study(epochs=12)
    work = plan(study)
    steps_per_epoch = work.steps(work.units[0]) // study.epochs
    total = steps_per_epoch * study.epochs
    script = tmp_path / "run.py"
    script.write_text(KILLABLE.format(study=study.to_dict()))
    out = tmp_path / "killed"
    rng = random.Random(11)
    targets = sorted(rng.sample(range(steps_per_epoch, total - 2), 10))
    kills = 0
    for target in targets:
        log = tmp_path / f"steps{kills}.log"
        log.write_text("")
        child = subprocess.Popen([sys.executable, str(script), str(out), str(log)])
        try:
            deadline = time.monotonic() + 120
            start_epochs = _stored_epochs(out)
            while time.monotonic() < deadline and child.poll() is None:
                if start_epochs * steps_per_epoch + _lines(log) >= target:
                    break
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.05))
        finally:
            child.kill()
            child.wait()
        if child.returncode == 0:
            break  # finished before this kill: the remaining targets are behind it
        kills += 1
        done = start_epochs + _lines(log) // steps_per_epoch  # whole epochs trained by then
        assert done - _stored_epochs(out) <= 1, (target, done, _stored_epochs(out))
    assert kills >= 8, "the study finished before it could be killed; make it longer"
    subprocess.run([sys.executable, str(script), str(out), str(tmp_path / "last.log")], check=True)
    run_study(study, tmp_path / "whole").close()
    assert _numbers(out) == _numbers(tmp_path / "whole")
    assert len(_numbers(out)[0]) == 8 and len(_numbers(out)[1]) == 8 * 13


def _lines(path) -> int:
    return path.read_text().count("\n")


def _stored_epochs(out) -> int:
    """Whole epochs the study directory holds for its one unit (checkpoint or results)."""
    if not (out / "study.db").exists():
        return 0
    try:
        with Store.open(out) as store:
            if len(store):
                return 10**6
            return max(store.checkpointed_units().values(), default=0)
    except ActlabError:
        return 0


# -- one process per study directory -----------------------------------------------------------


ARGS = ["compare", "--dataset", "spiral", "-a", "relu", "-o", "adam", "--seeds", "1",
        "--epochs", "1", "--batch-size", "16"]  # fmt: skip


def test_a_second_process_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "s"
    with lock.hold(out):
        result = CliRunner().invoke(app, [*ARGS, "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"pid {os.getpid()}" in lines[0] and "--wait" in lines[0], lines
    assert not (out / "study.db").exists()
    run_study(_study(epochs=1), out).close()  # released: the directory is usable again


def test_wait_starts_when_the_first_process_is_done(tmp_path):
    out = tmp_path / "s"
    held = threading.Event()

    def holder():
        with lock.hold(out):
            held.set()
            time.sleep(1.5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait()
    started = time.monotonic()
    result = CliRunner().invoke(app, [*ARGS, "--out", str(out), "--wait"])
    thread.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0
    assert "waiting for the other actlab process" in result.output
    with Store.open(out) as store:
        assert len(store) == 1


def test_the_lock_dies_with_its_process(tmp_path):
    out = tmp_path / "s"
    code = (
        "import sys, time; from actlab.study import lock\n"
        "with lock.hold(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == b"held"
        with pytest.raises(ActlabError, match=f"pid {child.pid}"), lock.hold(out):
            pass
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    with lock.hold(out):  # SIGKILL released it
        pass
