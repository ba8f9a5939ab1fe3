"""Running a study: its grid, trained in stacks by the batched trainer, stored run by run.

:func:`run_study` expands the study into runs (:meth:`Study.runs`), skips those the store already
holds, groups the rest into *units* -- runs that share everything but activation, optimizer,
initializer, loss and seed (``RunConfig.stack_key``), at most ``max_members`` at a time -- and
trains each unit as one stack (:func:`actlab.train.train`). A unit in training is checkpointed in
``OUT/study.db`` after every epoch (:mod:`actlab.study.checkpoints`; and every
``checkpoint_every`` seconds inside a long epoch); the runs of a finished unit are written in one
transaction that also deletes its checkpoint. A study killed at any moment resumes, when the same
command is run again, with every finished run kept, nothing duplicated, at most the current
epoch of one unit lost, and the same numbers as an uninterrupted run. Ctrl-C (SIGINT) saves a
checkpoint at the next step and stops; a second Ctrl-C stops at once. One process at a time runs
a study directory (:mod:`actlab.study.lock`).

Everything that can be checked before training is checked before the store is touched: names and
values (by :class:`Study`), that the model fits the data, that the device exists. A run's
recorded ``wall_s`` is its unit's wall time divided by the unit's size (the cost per run).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from actlab.data import Dataset, load
from actlab.data._core import hold_out
from actlab.errors import ActlabError
from actlab.study import backends, lock, tuning
from actlab.study import checkpoints as ckpt
from actlab.study.identity import data_fingerprint, model_fingerprint, study_identity
from actlab.study.integrity import StoreFileError
from actlab.study.spec import RunConfig, Study
from actlab.study.store import Store
from actlab.train import Member, train

__all__ = ["DATA_SEED", "MAX_MEMBERS", "Plan", "plan", "run_study", "train_unit", "unit_key"]

MAX_MEMBERS = 64
CHECKPOINT_EVERY = 120.0  # seconds between checkpoints inside one long epoch
DATA_SEED = 0  # the dataset's own seed (sampling, split) is fixed for a study; runs vary by seed

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Plan:
    """What a study will do: its data, all its runs, and the units of the runs still to do."""

    study: Study
    data: Dataset
    runs: tuple[RunConfig, ...]
    units: tuple[tuple[RunConfig, ...], ...]
    max_members: int = MAX_MEMBERS
    replaced: tuple[int, int] | None = None  # (kept, discarded) stored runs, after --force
    resumed: int = 0  # member-epochs the pending units' checkpoints hold
    phase: str = ""  # a tuned study's "tuning" runs, then its "final" ones
    # a study sweeping dataset parameters: each data set by its runs' dataset_params
    datasets: Mapping[Any, Dataset] = field(default_factory=dict)

    def data_of(self, run: RunConfig) -> Dataset:
        """The data ``run`` trains on (:attr:`data`, unless the study sweeps the dataset's
        parameters)."""
        return self.datasets[run.dataset_params] if self.datasets else self.data

    @property
    def identity(self) -> dict[str, Any]:
        """What determines the results (:mod:`actlab.study.identity`): the runs, the data (a
        validation split included, when there is one; every swept data set, in grid order) and
        your own model's source."""
        tensors = []
        for d in self.datasets.values() or [self.data]:
            tensors += [d.x_train, d.y_train, d.x_test, d.y_test]
            if getattr(d, "x_val", None) is not None:
                tensors += [d.x_val, d.y_val]
        model = model_fingerprint(r.model_spec(self.data_of(r)) for r in self.runs)
        out = study_identity(
            (r.key for r in self.runs), data_fingerprint(tensors), self.study.diagnostics, model
        )
        if self.study.tune_lr is not None:  # the runs are the tuning runs; the final ones
            out["tune"] = {"seeds": list(self.study.seeds)}  # follow from them and these seeds
        return out

    def left(self, store: Store) -> Plan:
        """The same plan without the runs ``store`` already holds (failed ones stay)."""
        left = set(store.pending([r.key for r in self.runs], retry_failed=True))
        todo = [r for r in self.runs if r.key in left]
        return dataclasses.replace(self, units=_units(todo, self.max_members))

    @property
    def pending(self) -> int:
        return sum(len(u) for u in self.units)

    def steps(self, unit: Sequence[RunConfig]) -> int:
        """Optimizer steps each member of ``unit`` takes."""
        run = unit[0]
        return run.steps if run.steps is not None else run.epochs * self._per_epoch(run)

    def epochs(self, unit: Sequence[RunConfig]) -> int:
        """Epochs each member of ``unit`` trains (the last one cut short by a step budget)."""
        run = unit[0]
        return run.epochs if run.epochs is not None else -(-run.steps // self._per_epoch(run))

    def _per_epoch(self, run: RunConfig) -> int:
        n = len(self.data_of(run).x_train)
        return 1 if run.batch_size is None else -(-n // min(run.batch_size, n))

    @property
    def member_epochs(self) -> int:
        """The pending units' work, in member-epochs (``resumed`` of them are checkpointed)."""
        return sum(len(u) * self.epochs(u) for u in self.units)

    def with_checkpoints(self, store: Store) -> Plan:
        """The same plan, its ``resumed`` work counted from ``store`` 's checkpoints."""
        saved = store.checkpointed_units()
        n = self.study.snapshots
        resumed = sum(len(u) * saved.get(unit_key(u, n), 0) for u in self.units)
        return dataclasses.replace(self, resumed=resumed)


def load_data(
    study: Study, device: str | torch.device = "cpu", *, dataset_params: Any = None
) -> Dataset:
    """The study's dataset, on ``device``, with its validation split (:func:`hold_out`).
    A study that sweeps the dataset's parameters needs ``dataset_params``: one of
    :meth:`Study.datasets` (a run's ``dataset_params``)."""
    if dataset_params is None:
        if study.data_sweeps():
            raise ActlabError(
                f"study {study.name!r} sweeps dataset parameters "
                f"({', '.join(study.data_sweeps())}); say which data set (dataset_params=)"
            )
        dataset_params = study.dataset_params
    data = load(study.dataset, seed=DATA_SEED, device=device, **dict(dataset_params))
    return hold_out(data, study.validation, DATA_SEED)


def plan(
    study: Study,
    store: Store | None = None,
    *,
    data: Dataset | None = None,
    device: str | torch.device = "cpu",
    max_members: int = MAX_MEMBERS,
) -> Plan:
    """Check the study against its data and split its runs into units -- those not yet in
    ``store``, if one is given (failed runs are tried again)."""
    if max_members < 1:
        raise ActlabError(f"max_members={max_members} must be at least 1")
    datasets = {}
    if study.data_sweeps():  # one data set per combination of the swept parameters
        datasets = {p: load_data(study, device, dataset_params=p) for p in study.datasets()}
        data = next(iter(datasets.values())) if data is None else data
    data = load_data(study, device) if data is None else data
    runs = tuple(dict.fromkeys(study.runs()))
    work = Plan(study, data, runs, _units(runs, max_members), max_members, datasets=datasets)
    for run in runs:
        run.model_spec(work.data_of(run))  # raises on a model that does not fit the data
    _check_target(study, [*datasets.values()] or [data])
    return work if store is None else work.left(store)


def _check_target(study: Study, datasets: Sequence[Dataset]) -> None:
    """A ``target_metric`` that no run would record is refused before anything is stored."""
    metric = study.target_metric
    for d in datasets if metric is not None else ():
        why = None
        if metric.startswith("val_") and d.x_val is None:
            why = "the study holds out no validation split: set validation, --validation 0.2"
        elif metric.endswith("_acc") and d.task != "classification":
            why = f"accuracy is recorded for classification only, and the data are {d.task}"
        if why is not None:
            raise ActlabError(f"target metric {metric!r}: no run records it ({why})")


def unit_key(unit: Sequence[RunConfig], snapshots: int = 0) -> str:
    """The key of a unit's checkpoint: its runs, in order (and the snapshots it keeps)."""
    keys = [r.key for r in unit]
    return ckpt.unit_key([*keys, f"snapshots={snapshots}"] if snapshots else keys)


def _units(runs: Sequence[RunConfig], max_members: int) -> tuple[tuple[RunConfig, ...], ...]:
    """Runs grouped by what they must share to be stacked, at most ``max_members`` a unit."""
    stacks: dict[tuple, list[RunConfig]] = {}
    for run in runs:
        stacks.setdefault(run.stack_key, []).append(run)
    return tuple(
        tuple(group[i : i + max_members])
        for group in stacks.values()
        for i in range(0, len(group), max_members)
    )


def check_device(device: str) -> torch.device:
    """``device`` as a torch device, refused in one line when this machine does not have it."""
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ActlabError(f"device {device!r} is not a torch device ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ActlabError(f"device {device!r}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ActlabError(f"device {device!r}: MPS is not available on this machine")
    return dev


def run_study(
    study: Study,
    out: str | os.PathLike,
    *,
    device: str = "cpu",
    force: bool = False,
    max_members: int = MAX_MEMBERS,
    progress: Callable[[Plan], Any] | None = None,
    wait: bool = False,
    notify: Callable[[str], None] | None = None,
    checkpoint_every: float = CHECKPOINT_EVERY,
    on_epoch: Callable[[list[dict[str, Any]]], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    gpus_per_unit: float = 0,
) -> Store:
    """Run what is left of ``study`` into ``out/study.db`` and return the (open) store.

    Args:
        study: the study.
        out: its output directory; one holding a different study -- other runs or other data;
            the name and the target are the report's -- is refused unless ``force``.
        device: where to train (``"cpu"``, ``"cuda"``, ...).
        force: replace a store holding a different study: the stored runs this study still
            contains are kept, the others discarded (``store.replaced``: how many of each).
        max_members: most runs trained together in one stack.
        progress: ``progress(plan)`` returns a context manager yielding an ``advance(n)``
            callable, called with each newly *stored* number of member-epochs (checkpoints and
            finished units; ``plan.resumed`` of ``plan.member_epochs`` were stored before);
            ``None`` for none.
        wait: when another process is running a study in ``out``, wait for it to finish
            instead of refusing.
        notify: called with a line for the user (waiting for another process, a damaged
            checkpoint deleted); ``None``: ignored.
        checkpoint_every: seconds between checkpoints inside one epoch (one is always saved
            after every epoch but the last).
        on_epoch: called after each checkpoint with the unit's runs' latest metrics, one dict
            per run (``run``, ``status``, ``epoch``, ``train_loss``, ``train_acc``,
            ``test_loss``, ``test_acc``): a live view. ``Store.live()`` reads the same rows
            from another process (``actlab watch``).
        backend: ``"local"`` (here, unit after unit) or ``"ray"`` (units as tasks on a Ray
            cluster, stored here as each finishes, no checkpoints mid-unit, so no ``on_epoch``:
            :mod:`actlab.study.backends`).
        address: the Ray cluster (``None``: the one connected to, or one ``ray.init()`` finds
            or starts; ``"auto"``; ``"HOST:PORT"``); Ray only.
        gpus_per_unit: GPUs each Ray task reserves (with ``device="cuda"``); Ray only.

    Raises:
        ActlabError: bad input, found before anything is stored; another process running a
            study in ``out`` (and not ``wait``).
        KeyboardInterrupt: Ctrl-C; the units' progress is checkpointed first.
    """
    cluster = backends.backend_for(
        backend, device=device, address=address, gpus_per_unit=gpus_per_unit
    )
    dev = check_device(device) if cluster is None else torch.device("cpu")  # Ray: tasks move it
    if not checkpoint_every > 0:
        raise ActlabError(f"checkpoint_every={checkpoint_every} must be positive (seconds)")
    work = plan(study, device=dev, max_members=max_members)  # every check, before the store
    say = notify or (lambda line: None)
    waiting = lambda pid: say(f"waiting for the other actlab process (pid {pid}) in {out}")  # noqa: E731
    with lock.hold(out, wait=wait, on_wait=waiting):
        store = Store.open(out, study.to_dict(), force=force, identity=work.identity)
        try:
            work = dataclasses.replace(work.left(store), replaced=store.replaced)
            phases = [work]
            if study.tune_lr is not None:  # then each variant at its chosen rate, all seeds
                phases.append(None)
            trained = False
            with _interrupts() as stop:
                for work in phases:
                    if work is None:
                        work = _final_plan(study, store, phases[0])
                    work = work.with_checkpoints(store)
                    trained |= bool(work.units)
                    with _progress(progress, work) as advance:
                        saver = lambda unit: _Saver(  # noqa: E731
                            store, unit, advance, stop, checkpoint_every, study.snapshots, on_epoch
                        )
                        if cluster is not None:  # units trained elsewhere, stored here
                            cluster.run(store, work, saver, say)
                        for unit in work.units if cluster is None else ():
                            if stop.is_set():  # Ctrl-C between two units
                                raise KeyboardInterrupt
                            _run_unit(store, work, unit, dev, advance, saver(unit), say)
                    if stop.is_set():
                        raise KeyboardInterrupt
            if trained:
                store.compact()
        except BaseException:
            store.close()
            raise
    return store


def _final_plan(study: Study, store: Store, tuned: Plan) -> Plan:
    """The plan of a tuned study's last step: each variant at the rate its tuning runs chose
    (:mod:`actlab.study.tuning`), over all seeds, without what is stored."""
    chosen = tuning.choose(study, store.runs(), store.metrics())
    runs = tuple(tuning.final_runs(study, chosen))
    final = dataclasses.replace(tuned, runs=runs, units=(), replaced=None, phase="final")
    return final.left(store)


def _run_unit(
    store: Store, work: Plan, unit: Sequence[RunConfig], device, advance, saver, say
) -> None:
    """Train one unit (from its checkpoint, if any) and store its runs in one transaction."""
    records = train_unit(
        work.study,
        work.data_of(unit[0]),
        unit,
        device,
        checkpoints=saver,
        resume=saver.resume(say),
        say=say,
    )
    store.complete_runs(records, unit=saver.unit)
    saver.finished(work.epochs(unit))


def train_unit(
    study: Study,
    data: Dataset,
    unit: Sequence[RunConfig],
    device: str | torch.device = "cpu",
    *,
    checkpoints: Any = None,
    resume: Any = None,
    say: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Train the runs of one unit together and return what the store keeps of each: one dict
    of :meth:`Store.complete_runs` 's record fields per run (plain Python values and bytes, so
    they travel between processes). A unit that fails (out of memory, a CUDA error) returns its
    runs as ``failed`` with the error. No store is touched: a backend that trains units
    elsewhere (:mod:`actlab.study.backends`) stores what this returns."""
    first = unit[0]
    members = [
        Member(
            spec=r.model_spec(data),
            seed=r.seed,
            optimizer=r.optimizer,
            optimizer_params=dict(r.optimizer_params),
            loss=r.loss,
            loss_params=dict(r.loss_params),
        )
        for r in unit
    ]
    recorder = None
    if study.diagnostics:
        from actlab.diagnostics import StackRecorder

        recorder = StackRecorder(
            [m.spec for m in members], [m.optimizer for m in members], data=data
        )
    try:
        with warnings.catch_warnings():  # said once, as a line for the user, below
            warnings.filterwarnings("ignore", message=".*vmap cannot run it")
            result = train(
                data,
                members,
                epochs=first.epochs,
                steps=first.steps,
                eval_every=first.eval_every,
                batch_size=first.batch_size,
                dtype=getattr(torch, first.dtype),
                device=device,
                recorder=recorder,
                checkpoints=checkpoints,
                resume=resume,
                snapshots=study.snapshots,
                shuffle=first.shuffle,
            )
    except (RuntimeError, FloatingPointError, MemoryError) as e:
        message = f"{type(e).__name__}: {e}".splitlines()[0]
        return [
            {"key": r.key, "config": r.to_dict(), "seed": r.seed, "metrics": [],
             "status": "failed", "error": message}
            for r in unit
        ]  # fmt: skip
    if say is not None and getattr(result.model, "fallback", None):
        say(f"note: {result.model.fallback}")
    per_run = result.wall_s / len(unit)
    fine = first.steps is not None or first.eval_every is not None  # rows at step resolution
    return [
        {
            "key": run.key,
            "config": run.to_dict(),
            "seed": run.seed,
            "metrics": member.metrics,
            "status": member.status,
            "diverged_step": member.diverged_step,
            "wall_s": per_run,
            "diagnostics": [] if recorder is None else recorder.rows_of(k),
            "weights": _weights(result, k),
            **({"curve": member.curve} if fine else {}),
        }
        for k, (run, member) in enumerate(zip(unit, result.members, strict=True))
    ]


def _summary(runs: Sequence[str], state: dict[str, Any]) -> list[dict[str, Any]]:
    """Each run's latest per-epoch metrics from a trainer state (in the unit's run order)."""
    out = []
    for position, k in enumerate(state["order"]):
        saved = state["results"][position]
        last = saved["metrics"][-1] if saved["metrics"] else {}
        row = {"run": runs[k], "status": saved["status"], "epoch": last.get("epoch")}
        for name in ("train_loss", "train_acc", "test_loss", "test_acc"):
            value = last.get(name)
            row[name] = (
                None if value is None or value != value or abs(value) == float("inf") else value
            )
        out.append(row)
    out.sort(key=lambda r: runs.index(r["run"]))
    return out


def _weights(result, k: int) -> list[tuple[int, bool, bytes]]:
    """Member ``k`` 's final parameters and buffers, and its snapshots, as stored bytes."""
    final = {n: t.detach().cpu() for n, t in result.network(k).state_dict().items()}
    kept = [(result.steps, True, ckpt.serialize(final))]
    for step, weights in result.snapshots[k] if result.snapshots else ():
        kept.append((step, False, ckpt.serialize({n: t.cpu() for n, t in weights.items()})))
    return kept


class _Saver:
    """A unit's :class:`actlab.train.Checkpoints`: saved in the store after every epoch and every
    ``every`` seconds inside one, and at once when Ctrl-C asked to stop; reports stored
    member-epochs to the progress bar."""

    def __init__(
        self,
        store: Store,
        unit,
        advance,
        stop: threading.Event,
        every: float,
        snapshots: int,
        on_epoch: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.on_epoch = on_epoch
        self.store, self.advance, self.stop, self.every = store, advance, stop, every
        self.runs = [r.key for r in unit]
        self.unit = unit_key(unit, snapshots)
        self.size = len(self.runs)
        self.epochs_stored = 0
        self.last = time.monotonic()

    def resume(self, say) -> dict[str, Any] | None:
        """The unit's checkpointed training state, if there is a usable one."""
        try:
            saved = self.store.checkpoint(self.unit)
        except StoreFileError as e:
            say(str(e))
            return None
        if saved is None or list(saved.runs) != self.runs:
            return None
        self.epochs_stored = saved.epochs_done
        return ckpt.deserialize(saved.state)

    def due(self, epoch: int, batch: int, end_of_epoch: bool) -> bool:
        if end_of_epoch or self.stop.is_set():
            return True
        return time.monotonic() - self.last >= self.every

    def save(self, state: dict[str, Any], epoch: int, batch: int) -> None:
        self.store_checkpoint(ckpt.serialize(state), epoch, batch, _summary(self.runs, state))

    def store_checkpoint(
        self, blob: bytes, epoch: int, batch: int, summary: list[dict[str, Any]]
    ) -> None:
        """Save a serialized checkpoint (made here, or by a unit on a cluster) and report the
        progress it means."""
        self.store.save_checkpoint(self.unit, self.runs, epoch, batch, blob, summary)
        self.last = time.monotonic()
        self._stored(epoch - 1)
        if self.on_epoch is not None:
            self.on_epoch(summary)

    def stopping(self) -> bool:
        return self.stop.is_set()

    def finished(self, epochs: int) -> None:
        self._stored(epochs)

    def _stored(self, epochs: int) -> None:
        if epochs > self.epochs_stored:
            self.advance(self.size * (epochs - self.epochs_stored))
            self.epochs_stored = epochs


class _interrupts:
    """While a study trains (in the main thread): the first Ctrl-C sets the event the units'
    checkpoints watch -- they save and stop at the next step -- and puts Python's handler back,
    so a second Ctrl-C interrupts at once."""

    def __enter__(self) -> threading.Event:
        self.event = threading.Event()
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT) or signal.default_int_handler
            signal.signal(signal.SIGINT, self._first)
        return self.event

    def _first(self, signum, frame) -> None:
        self.event.set()
        signal.signal(signal.SIGINT, self.previous)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class _progress:
    """The caller's progress bar around the study, or a no-op."""

    def __init__(self, factory, work: Plan) -> None:
        self.factory, self.work, self.cm = factory, work, None

    def __enter__(self) -> Progress:
        if self.factory is None:
            return lambda n: None
        self.cm = self.factory(self.work)
        return self.cm.__enter__()

    def __exit__(self, *exc: object) -> bool | None:
        return None if self.cm is None else self.cm.__exit__(*exc)
