"""What the per-epoch checkpoints of a study cost, measured side by side on this machine.

The quickstart's one unit (63 members: 7 activations x sgd/momentum/adam x 3 seeds, a
40-100-100-10 MLP on MNIST-1D, batch 100) trained by ``actlab.train.train`` for ``--epochs``
epochs (a) without checkpoints and (b) saving a checkpoint into a real study store after every
epoch but the last, exactly as ``run_study`` does (serialize the trainer's state with
``torch.save``, write it in one SQLite transaction with ``synchronous=FULL``). Runs alternate
between the two sides; the median of the repeats is reported, with the checkpoint's size and
the time of one save measured alone.

    python bench/checkpoints.py --epochs 5 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

from actlab.study import Store
from actlab.study import checkpoints as ckpt
from actlab.study.presets import PRESETS
from actlab.study.runner import load_data
from actlab.train import Member, train


class _Store:
    """Checkpoints into a store, every epoch, timing each save."""

    def __init__(self, store: Store, runs: list[str]) -> None:
        self.store, self.runs, self.seconds, self.size = store, runs, [], 0

    def due(self, epoch, batch, end_of_epoch):
        return end_of_epoch

    def save(self, state, epoch, batch):
        start = time.perf_counter()
        blob = ckpt.serialize(state)
        self.store.save_checkpoint("bench", self.runs, epoch, batch, blob)
        self.seconds.append(time.perf_counter() - start)
        self.size = len(blob)

    def stopping(self):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    study = PRESETS.get("quickstart").study
    data = load_data(study)
    runs = study.runs()
    members = [
        Member(r.model_spec(data), r.seed, r.optimizer, dict(r.optimizer_params)) for r in runs
    ]
    kw = {"epochs": args.epochs, "batch_size": study.batch_size}
    plain, saved, saves = [], [], []
    size = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(tmp, study.to_dict())
        for _ in range(args.repeats):
            start = time.perf_counter()
            train(data, members, **kw)
            plain.append(time.perf_counter() - start)
            saver = _Store(store, [r.key for r in runs])
            start = time.perf_counter()
            train(data, members, checkpoints=saver, **kw)
            saved.append(time.perf_counter() - start)
            saves += saver.seconds
            size = saver.size
        store.close()
    a, b = statistics.median(plain), statistics.median(saved)
    load = os.getloadavg()[0]
    k, e = len(members), args.epochs
    print(f"{k} members, {e} epochs, {args.threads} thread(s), load average {load:.1f}")
    print(f"without checkpoints: {a:.2f} s   with a checkpoint every epoch: {b:.2f} s")
    print(f"overhead: {100 * (b - a) / a:+.1f}%  ({args.epochs - 1} checkpoints per run)")
    one = 1000 * statistics.median(saves)
    print(f"one checkpoint: {size / 2**20:.2f} MiB, serialized and saved in {one:.0f} ms")
    print(f"one epoch: {1000 * a / args.epochs:.0f} ms")


if __name__ == "__main__":
    main()
