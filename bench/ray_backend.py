"""What the Ray backend costs against the local one, and how it scales, measured on this machine.

One study -- spiral (``--n`` points), a ``--width`` x 3 MLP, 4 activations x 2 optimizers x 4 seeds
= 32 runs in 8 units of ``--members`` runs, batch 32, ``--epochs`` epochs -- run into a fresh
store by ``run_study``:

1. ``local``: the local backend, one intra-op thread (a unit after another), which also saves
   a checkpoint of the unit in training after every epoch.
2. ``local, no checkpoints``: the bare work: ``train_unit`` for each unit and
   ``Store.complete_runs``, no checkpoints (what the checkpoints cost = 1 / 2 - 1).
3. ``ray 1 CPU``: ``backend="ray"`` on a local cluster of 1 CPU (``ray.init(num_cpus=1)``): the
   same work through tasks, the object store, a checkpoint after every epoch relayed to the
   driver, and the driver's writes. Ray's overhead = 3 / 1 - 1 (against the bare work: 3 / 2 - 1).
4. ``ray 2 CPUs``: the same on ``ray.init(num_cpus=2)``: scaling = 3 / 4.

Each side runs in a fresh Python process (as ``actlab compare`` would), the sides alternating
over the repeats. Each cluster is started and its workers warmed (torch and actlab imported by a
first task) before the clock starts: those one-time costs are reported apart. Every run is
checked to store the numbers of the local one bit for bit. Also reported, for the estimate in
docs/scaling.md: the dataset's size in the object store, the records one unit sends back
(pickled bytes), and the driver's time to store one unit (``Store.complete_runs``). Load
average before and after.

    python bench/ray_backend.py                      # units of a few seconds
    python bench/ray_backend.py --epochs 4 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ray
import torch

from actlab.study import Store
from actlab.study.runner import plan, run_study, train_unit, unit_key
from actlab.study.spec import Study


def study(args) -> Study:
    return Study(
        name="ray-bench",
        dataset="spiral",
        dataset_params={"n": args.n},
        width=args.width,
        depth=3,
        activations=("relu", "tanh", "elu", "gelu"),
        optimizers=("adam", "sgd"),
        lrs={"adam": 0.003, "sgd": 0.05},
        seeds=(0, 1, 2, 3),
        epochs=args.epochs,
        batch_size=32,
    )


def numbers(out: Path):
    with Store.open(out) as store:
        runs = sorted((r.key, r.status, r.diverged_step) for r in store.runs())
        metrics = sorted(tuple(sorted(row.items())) for row in store.metrics())
    return runs, metrics


class _Timed:
    """``Store.complete_runs`` timed: the driver's cost of storing one unit."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.real = Store.complete_runs

    def __enter__(self) -> _Timed:
        timed = self

        def complete_runs(store, records, **kw):
            start = time.perf_counter()
            timed.real(store, records, **kw)
            timed.seconds.append(time.perf_counter() - start)

        Store.complete_runs = complete_runs
        return self

    def __exit__(self, *exc: object) -> None:
        Store.complete_runs = self.real


def timed_run(s: Study, root: Path, name: str, members: int, **kw) -> tuple[float, Path, list]:
    out = root / name
    with _Timed() as writes:
        start = time.perf_counter()
        run_study(s, out, max_members=members, **kw).close()
        wall = time.perf_counter() - start
    return wall, out, writes.seconds


def bare_run(s: Study, root: Path, name: str, members: int) -> tuple[float, Path, list]:
    """The Ray task's work done here: each unit by ``train_unit``, stored in one transaction."""
    out = root / name
    seconds = []
    start = time.perf_counter()
    work = plan(s, max_members=members)
    with Store.open(out, s.to_dict(), identity=work.identity) as store:
        for unit in work.units:
            records = train_unit(s, work.data, unit)
            t = time.perf_counter()
            store.complete_runs(records, unit=unit_key(unit))
            seconds.append(time.perf_counter() - t)
    return time.perf_counter() - start, out, seconds


@ray.remote(num_cpus=1)
def _warm() -> int:
    import actlab.study.runner  # noqa: F401

    time.sleep(0.5)  # hold the CPU so that a second call starts a second worker
    return os.getpid()


def start_cluster(cpus: int) -> tuple[float, float]:
    """Seconds to start a local cluster, and to warm its workers (their first import)."""
    start = time.perf_counter()
    ray.init(num_cpus=cpus, log_to_driver=False, logging_level=logging.WARNING)
    started = time.perf_counter() - start
    start = time.perf_counter()
    ray.get([_warm.remote() for _ in range(cpus)])
    return started, time.perf_counter() - start


SIDES = {"local": 0, "local, no checkpoints": 0, "ray 1 CPU": 1, "ray 2 CPUs": 2}  # Ray CPUs


def side(args) -> None:
    """One side, in this (fresh) process: prints its wall time, store writes and Ray start."""
    torch.set_num_threads(1)
    s, root, cpus = study(args), Path(args.out).parent, SIDES[args.side]
    start = warm = 0.0
    if args.side == "local, no checkpoints":
        wall, _, writes = bare_run(s, root, Path(args.out).name, args.members)
    elif cpus == 0:
        wall, _, writes = timed_run(s, root, Path(args.out).name, args.members)
    else:
        start, warm = start_cluster(cpus)
        try:
            wall, _, writes = timed_run(s, root, Path(args.out).name, args.members, backend="ray")
        finally:
            ray.shutdown()
    print(json.dumps({"wall": wall, "writes": writes, "start": start, "warm": warm}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side is not None:
        return side(args)
    torch.set_num_threads(1)
    s = study(args)
    work = plan(s, max_members=args.members)
    load_before = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, ray {ray.__version__}, "
        f"1 intra-op thread; load average before {load_before[0]:.2f}"
    )
    print(
        f"study: {len(work.runs)} runs in {len(work.units)} units of {args.members}, "
        f"{work.steps(work.units[0])} steps each"
    )
    data_bytes = len(pickle.dumps(work.data))
    unit = train_unit(s, work.data, work.units[0])
    unit_bytes = len(pickle.dumps(unit))
    print(
        f"dataset pickled: {data_bytes / 1e3:.1f} kB; one unit's records: {unit_bytes / 1e3:.1f} kB"
    )

    walls: dict[str, list[float]] = {name: [] for name in SIDES}
    writes: dict[str, list[float]] = {name: [] for name in SIDES}
    starts: dict[str, tuple[float, float]] = {}
    sizes = [f"--{k}={getattr(args, k)}" for k in ("epochs", "n", "width", "members")]
    with tempfile.TemporaryDirectory() as tmp:
        reference = None
        for r in range(args.repeats):
            for i, name in enumerate(SIDES):
                out = Path(tmp) / f"side{i}-{r}"
                cmd = [sys.executable, __file__, *sizes, "--side", name, "--out", str(out)]
                run = subprocess.run(cmd, capture_output=True, text=True, check=True)
                got = json.loads(run.stdout.strip().splitlines()[-1])
                walls[name].append(got["wall"])
                writes[name] += got["writes"]
                starts[name] = (got["start"], got["warm"])
                reference = reference or numbers(out)
                assert numbers(out) == reference, f"{name}: numbers differ from local"
    load_after = os.getloadavg()

    local = statistics.median(walls["local"])
    per_unit = local / len(work.units)
    print(f"\nmedian of {args.repeats}; every run stored the local numbers bit for bit")
    print(
        "| backend | wall s (runs) | s per unit | vs local | store write ms/unit "
        "| cluster start s | warm-up s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, ws in walls.items():
        med = statistics.median(ws)
        start, warm = starts.get(name, (0.0, 0.0))
        cs = "-" if name.startswith("local") else f"{start:.1f}"
        wu = "-" if name.startswith("local") else f"{warm:.1f}"
        each = ", ".join(f"{w:.2f}" for w in ws)
        print(
            f"| {name} | {med:.2f} ({each}) | {med / len(work.units):.2f} | "
            f"{med / local:.3f} | {1e3 * statistics.median(writes[name]):.1f} | {cs} | {wu} |"
        )
    one, two = statistics.median(walls["ray 1 CPU"]), statistics.median(walls["ray 2 CPUs"])
    bare = statistics.median(walls["local, no checkpoints"])
    print(
        f"\noverhead of Ray (1 CPU) vs the local backend, both checkpointing every epoch: "
        f"{100 * (one / local - 1):+.1f}% "
        f"({(one - local) / len(work.units):.3f} s per unit of {per_unit:.2f} s)"
    )
    print(
        f"Ray (1 CPU) vs the bare work here (no checkpoints): {100 * (one / bare - 1):+.1f}%; "
        f"the local checkpoints alone: {100 * (local / bare - 1):+.1f}%"
    )
    print(f"scaling 1 -> 2 CPUs: {one / two:.2f}x")
    print(f"load average after {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()
