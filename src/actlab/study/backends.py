"""Where a study's units train: here (``"local"``, the default) or as tasks on a Ray cluster.

With ``backend="ray"`` (:func:`actlab.study.run_study`, ``actlab compare --backend ray``) each
unit -- one stack of runs -- is one Ray task that calls the same pure function the local backend
calls, :func:`actlab.study.runner.train_unit`, and returns its runs' records. The dataset is put
in Ray's object store once and every task reads it from there. Only the driver (the process that
called ``run_study``) writes the store: one transaction per finished unit, exactly as the local
backend does, so the store's guarantees are unchanged.

- Units checkpoint as they do locally, after every epoch and every ``checkpoint_every`` seconds
  inside one: the task hands each checkpoint to a relay actor (:class:`_Relay`, in the driver's
  cluster), and the driver takes them from it and saves them in the store, with the progress
  they mean. A task whose worker dies (killed, out of memory, a lost node) is retried by Ray, up
  to :data:`MAX_RETRIES` times, and the retry resumes from the unit's latest checkpoint (bit for
  bit, as a local resume), so at most the epoch in progress is trained again.
- A killed driver is rerun with the same command: the store says which units are done and only
  the others are submitted again.
- The numbers are those of the local backend, bit for bit on CPU: a task trains with the driver's
  intra-op thread count (``torch.get_num_threads()`` where ``run_study`` is called), as the local
  run would. Each task reserves ``num_cpus=1``: to run one unit per core on a cluster, start the
  driver with one thread (``OMP_NUM_THREADS=1 actlab compare ... --backend ray``); its local
  twin for comparison is then ``OMP_NUM_THREADS=1 actlab compare ...``.

Ray is an optional extra (``pip install "actlab[ray]"``), imported only when asked for.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actlab.errors import ActlabError

__all__ = ["BACKENDS", "MAX_RETRIES", "RayBackend", "backend_for"]

BACKENDS = ("local", "ray")
MAX_RETRIES = 3  # times Ray resubmits a unit whose worker died
POLL_S = 0.25  # how often the driver looks for Ctrl-C while it waits for units
EXTRA = 'pip install "actlab[ray]"'


def backend_for(
    backend: str, *, device: str, address: str | None = None, gpus_per_unit: float = 0
) -> RayBackend | None:
    """The backend named ``backend``, checked before anything is stored: ``None`` for the
    local one, a :class:`RayBackend` for ``"ray"`` (Ray must be importable).

    Raises:
        ActlabError: an unknown backend, Ray options without Ray, Ray not installed, a device
            the Ray backend cannot give its tasks, a negative ``gpus_per_unit``.
    """
    if backend not in BACKENDS:
        raise ActlabError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "local":
        if address is not None or gpus_per_unit:
            raise ActlabError("--address and --gpus-per-unit apply to --backend ray only")
        return None
    _ray()
    if not gpus_per_unit >= 0:
        raise ActlabError(f"gpus_per_unit={gpus_per_unit} must be 0 or more")
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ActlabError(f"the Ray backend trains on cpu or cuda, not {device!r}")
    if kind == "cuda" and not gpus_per_unit:
        raise ActlabError(f"device {device!r} on Ray needs --gpus-per-unit 1 (or a fraction)")
    if kind == "cpu" and gpus_per_unit:
        raise ActlabError(
            f"--gpus-per-unit {gpus_per_unit} reserves GPUs that device 'cpu' leaves idle; "
            "give --device cuda"
        )
    if address not in (None, "auto"):
        _reachable(address)
    return RayBackend(device=device, address=address, gpus_per_unit=gpus_per_unit)


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` that nothing answers on at once (Ray itself would retry for
    minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ActlabError(f"--address {address!r}: give HOST:PORT (e.g. 10.0.0.1:6379) or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ActlabError(
            f"no Ray cluster answers at {address} ({e.strerror or e}); start one there with "
            f"'ray start --head', or give its address"
        ) from None


def _ray():
    """The ``ray`` module, or one line naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ActlabError(f"the Ray backend needs Ray, which is not installed: {EXTRA}") from None
    return ray


@dataclass(frozen=True)
class RayBackend:
    """Units as Ray tasks: ``address`` of the cluster (``None``: the one this process is
    connected to, else the one ``ray.init()`` finds or starts; ``"auto"``: a running cluster
    on this machine; ``"HOST:PORT"``), GPUs each unit reserves, the device units train on."""

    device: str = "cpu"
    address: str | None = None
    gpus_per_unit: float = 0

    def run(self, store, work, saver: Callable[[Any], Any], say: Callable[[str], None]) -> None:
        """Train ``work.units`` on the cluster and store each as it finishes; ``saver(unit)``
        is the unit's :class:`actlab.study.runner._Saver` (its checkpoint to resume from, its
        key, the progress it reports, Ctrl-C). Raises KeyboardInterrupt after Ctrl-C, with the
        finished units stored and the others cancelled."""
        import torch

        if not work.units:
            return
        ray = _ray()
        started = self._connect(ray)
        pending: dict[Any, tuple[Sequence[Any], Any]] = {}
        try:
            task = ray.remote(_unit_task).options(
                num_cpus=1, num_gpus=self.gpus_per_unit, max_retries=MAX_RETRIES
            )
            relay = ray.remote(_Relay).options(num_cpus=0).remote()
            distinct = {id(d): d for d in [work.data, *work.datasets.values()]}
            put = {k: ray.put(d) for k, d in distinct.items()}  # once each; tasks get references
            threads = torch.get_num_threads()
            savers = {}
            for unit in work.units:
                unit_saver = saver(unit)
                savers[unit_saver.unit] = unit_saver
                resume = unit_saver.resume(say)
                data = put[id(work.data_of(unit[0]))]  # a reference
                where = (relay, unit_saver.unit, unit_saver.every)
                ref = task.remote(work.study, data, unit, self.device, threads, resume, where)
                pending[ref] = (unit, unit_saver)
            said: set[str] = set()
            stored: set[str] = set()
            while pending:
                if unit_saver.stopping():
                    raise KeyboardInterrupt
                refs = list(pending)  # all that finished within POLL_S, not one per call
                done, _ = ray.wait(refs, num_returns=len(refs), timeout=POLL_S)
                self._checkpoints(ray, relay, savers, stored)  # before the units they precede
                for ref in done:
                    unit, done_saver = pending.pop(ref)
                    records, notes = self._result(ray, ref, unit)
                    for line in notes:
                        if line not in said:
                            said.add(line)
                            say(line)
                    store.complete_runs(records, unit=done_saver.unit)
                    stored.add(done_saver.unit)
                    done_saver.finished(work.epochs(unit))
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    @staticmethod
    def _checkpoints(ray, relay, savers: dict[str, Any], stored: set[str]) -> None:
        """Save the checkpoints the tasks handed to the relay since the last look (the latest
        of each unit; none of a unit already stored), as the local backend saves its own."""
        for unit, (epoch, batch, blob, summary) in ray.get(relay.take.remote()).items():
            if unit not in stored:
                savers[unit].store_checkpoint(blob, epoch, batch, summary)

    def _connect(self, ray) -> bool:
        """Connect to the cluster; True when this call did (and so must disconnect)."""
        if ray.is_initialized():
            return False
        try:
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = self.address or "the local machine"
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ActlabError(f"cannot connect to a Ray cluster at {where}: {first}") from None
        return True

    @staticmethod
    def _result(ray, ref, unit) -> tuple[list[dict[str, Any]], list[str]]:
        """The records of a finished task; a unit that failed on Ray itself in one line."""
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            if isinstance(e.cause, ActlabError):
                raise e.cause from None
            raise
        except ray.exceptions.RayError as e:
            first = str(e).strip().splitlines()[0]
            raise ActlabError(
                f"a unit of {len(unit)} run(s) failed on Ray after {MAX_RETRIES} retries "
                f"({type(e).__name__}: {first}); finished units are stored, rerun to resume"
            ) from None


def _unit_task(study, data, unit, device, threads: int, resume, relayed):
    """One unit, in a Ray worker: :func:`train_unit` with the driver's thread count, from the
    unit's latest relayed checkpoint when an earlier attempt left one (a retry), else from
    ``resume``; its records and the lines it had for the user."""
    import torch

    from actlab.study import checkpoints as ckpt
    from actlab.study.runner import train_unit

    torch.set_num_threads(threads)
    notes: list[str] = []
    relayed = _Relayed(unit, *relayed)
    latest = relayed.latest()
    if latest is not None:
        epoch, blob = latest
        resume = ckpt.deserialize(blob)
        notes.append(
            f"note: a unit of {len(unit)} run(s) lost its worker; its retry resumed from the "
            f"checkpoint at epoch {epoch}"
        )
    records = train_unit(
        study, data, unit, device, checkpoints=relayed, resume=resume, say=notes.append
    )
    return records, notes


class _Relay:
    """The driver's post box for checkpoints (a Ray actor): tasks :meth:`put` each unit's
    checkpoints; the driver :meth:`take` s what is new; a retried task asks for the
    :meth:`latest` of its unit. Only the newest checkpoint of a unit is kept."""

    def __init__(self) -> None:
        self.newest: dict[str, tuple[int, int, bytes, list[dict[str, Any]]]] = {}
        self.fresh: set[str] = set()

    def put(self, unit: str, epoch: int, batch: int, blob: bytes, summary: list) -> None:
        self.newest[unit] = (epoch, batch, blob, summary)
        self.fresh.add(unit)

    def take(self) -> dict[str, tuple[int, int, bytes, list[dict[str, Any]]]]:
        out = {unit: self.newest[unit] for unit in sorted(self.fresh)}
        self.fresh.clear()
        return out

    def latest(self, unit: str) -> tuple[int, bytes] | None:
        found = self.newest.get(unit)
        return None if found is None else (found[0], found[2])


class _Relayed:
    """A task's :class:`actlab.train.Checkpoints`: due when the local one would be (every epoch,
    every ``every`` seconds inside one), saved by handing them to the relay (and waiting for it,
    so a checkpoint is there before the unit's result)."""

    def __init__(self, unit, relay, key: str, every: float) -> None:
        import time

        self.clock = time.monotonic
        self.runs = [r.key for r in unit]
        self.relay, self.key, self.every = relay, key, every
        self.last = self.clock()

    def latest(self) -> tuple[int, bytes] | None:
        import ray

        return ray.get(self.relay.latest.remote(self.key))

    def due(self, epoch: int, batch: int, end_of_epoch: bool) -> bool:
        return end_of_epoch or self.clock() - self.last >= self.every

    def save(self, state: dict[str, Any], epoch: int, batch: int) -> None:
        import ray

        from actlab.study import checkpoints as ckpt
        from actlab.study.runner import _summary

        summary = _summary(self.runs, state)
        ray.get(self.relay.put.remote(self.key, epoch, batch, ckpt.serialize(state), summary))
        self.last = self.clock()

    def stopping(self) -> bool:
        return False  # the driver cancels the task on Ctrl-C
