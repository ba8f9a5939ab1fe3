"""Running a study: its grid, trained in stacks by the batched trainer, stored run by run.

:func:`run_study` expands the study into runs (:meth:`Study.runs`), skips those the store already
holds, groups the rest into *units* -- runs that share everything but activation, optimizer,
initializer, loss and seed (``RunConfig.stack_key``), at most ``max_members`` at a time -- and
trains each unit as one stack (:func:`actlab.train.train`). Each run of a finished unit is then
written to ``OUT/study.db`` in its own transaction, so a study killed at any moment resumes, when
the same command is run again, with every finished run kept and nothing duplicated.

Everything that can be checked before training is checked before the store is touched: names and
values (by :class:`Study`), that the model fits the data, that the device exists. A run's
recorded ``wall_s`` is its unit's wall time divided by the unit's size (the cost per run).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from actlab.data import Dataset, load
from actlab.errors import ActlabError
from actlab.study.identity import data_fingerprint, study_identity
from actlab.study.spec import RunConfig, Study
from actlab.study.store import Store
from actlab.train import Member, train

__all__ = ["DATA_SEED", "MAX_MEMBERS", "Plan", "plan", "run_study"]

MAX_MEMBERS = 64
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

    @property
    def identity(self) -> dict[str, Any]:
        """What determines the results (:mod:`actlab.study.identity`): the runs and the data."""
        d = self.data
        fingerprint = data_fingerprint((d.x_train, d.y_train, d.x_test, d.y_test))
        return study_identity((r.key for r in self.runs), fingerprint, self.study.diagnostics)

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
        n = len(self.data.x_train)
        per_epoch = 1 if run.batch_size is None else -(-n // min(run.batch_size, n))
        return run.epochs * per_epoch

    @property
    def member_steps(self) -> int:
        """Total work left, in member-steps (for a progress bar)."""
        return sum(len(u) * self.steps(u) for u in self.units)


def load_data(study: Study, device: str | torch.device = "cpu") -> Dataset:
    """The study's dataset, on ``device``."""
    return load(study.dataset, seed=DATA_SEED, device=device, **dict(study.dataset_params))


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
    data = load_data(study, device) if data is None else data
    runs = tuple(dict.fromkeys(study.runs()))
    for run in runs:
        run.model_spec(data)  # raises on a model that does not fit the data
    work = Plan(study, data, runs, _units(runs, max_members), max_members)
    return work if store is None else work.left(store)


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
            callable (a progress bar); ``None`` for none.

    Raises:
        ActlabError: bad input, found before anything is stored.
    """
    dev = check_device(device)
    work = plan(study, device=dev, max_members=max_members)  # every check, before the store
    store = Store.open(out, study.to_dict(), force=force, identity=work.identity)
    try:
        work = dataclasses.replace(work.left(store), replaced=store.replaced)
        with _progress(progress, work) as advance:
            for unit in work.units:
                _run_unit(store, work, unit, dev, advance)
    except BaseException:
        store.close()
        raise
    return store


def _run_unit(store: Store, work: Plan, unit: Sequence[RunConfig], device, advance) -> None:
    first = unit[0]
    members = [
        Member(
            spec=r.model_spec(work.data),
            seed=r.seed,
            optimizer=r.optimizer,
            optimizer_params=dict(r.optimizer_params),
            loss=r.loss,
            loss_params=dict(r.loss_params),
        )
        for r in unit
    ]
    recorder = None
    if work.study.diagnostics:
        from actlab.diagnostics import StackRecorder

        recorder = StackRecorder(
            [m.spec for m in members], [m.optimizer for m in members], data=work.data
        )
    try:
        result = train(
            work.data,
            members,
            epochs=first.epochs,
            batch_size=first.batch_size,
            dtype=getattr(torch, first.dtype),
            device=device,
            on_step=advance,
            recorder=recorder,
        )
    except (RuntimeError, FloatingPointError, MemoryError) as e:
        message = f"{type(e).__name__}: {e}".splitlines()[0]
        for run in unit:
            store.complete_run(
                run.key, run.to_dict(), seed=run.seed, metrics=[], status="failed", error=message
            )
        advance(len(unit) * work.steps(unit))
        return
    per_run = result.wall_s / len(unit)
    for k, (run, member) in enumerate(zip(unit, result.members, strict=True)):
        store.complete_run(
            run.key,
            run.to_dict(),
            seed=run.seed,
            metrics=member.metrics,
            status=member.status,
            diverged_step=member.diverged_step,
            wall_s=per_run,
            diagnostics=() if recorder is None else recorder.rows_of(k),
        )


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
