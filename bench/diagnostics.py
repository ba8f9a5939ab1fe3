"""Diagnostics overhead, measured side by side in one run.

1. The batched trainer on one study unit -- the quickstart grid's 21 members (7 activations x 3
   optimizers, seed 0) on MNIST-1D, 40-100-100-10 MLPs, batch 100 -- without and with a
   :class:`~actlab.diagnostics.StackRecorder` recording once per epoch (and step 1), on a
   probe batch (the first ``PROBE_SIZE`` training examples) as ``compare --diagnostics`` does.
2. One plain torch model (the first member alone, the trainer's reference loop) without and
   with a :class:`~actlab.diagnostics.Monitor` recording at the same steps.

Runs alternate (plain, recorded, plain, ...) so machine load hits both alike. Reported: the
ratio of the fastest runs (least disturbed by other processes) and of the medians, and the time
spent inside the recorder's own methods as a share of the plain run (the overhead free of noise).
Prints a markdown table.

    python bench/diagnostics.py [--epochs 3] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import statistics
import time

import torch

from actlab.data import load
from actlab.diagnostics import Monitor, StackRecorder
from actlab.diagnostics.stacked import PROBE_SIZE
from actlab.losses import loss as loss_fn
from actlab.models import build
from actlab.optim import create
from actlab.study import PRESETS
from actlab.train import Member, train


def members(data) -> list[Member]:
    runs = [r for r in PRESETS.get("quickstart").study.runs() if r.seed == 0]
    return [Member(r.model_spec(data), r.seed, r.optimizer, dict(r.optimizer_params)) for r in runs]


class TimedRecorder(StackRecorder):
    """A StackRecorder that adds up the time spent in its own methods."""

    spent = 0.0

    @contextlib.contextmanager
    def capture(self):
        start = time.perf_counter()
        inner = super().capture()
        inner.__enter__()
        TimedRecorder.spent += time.perf_counter() - start
        yield
        start = time.perf_counter()
        inner.__exit__(None, None, None)
        TimedRecorder.spent += time.perf_counter() - start

    def after_step(self, *args) -> None:
        start = time.perf_counter()
        super().after_step(*args)
        TimedRecorder.spent += time.perf_counter() - start


def stack_seconds(data, unit, epochs: int, recorded: bool) -> float:
    recorder = None
    if recorded:
        recorder = TimedRecorder([m.spec for m in unit], [m.optimizer for m in unit], data=data)
    start = time.perf_counter()
    train(data, unit, epochs=epochs, batch_size=100, recorder=recorder)
    return time.perf_counter() - start


def alone_seconds(data, member: Member, epochs: int, recorded: bool) -> float:
    """The trainer's reference loop on the plain model; a Monitor records step 1 and the last
    step of each epoch (on the same probe)."""
    model = build(member.spec, seed=member.seed)
    opt = create(member.optimizer, model.parameters(), **member.optimizer_params)
    order = torch.Generator().manual_seed(member.seed)
    x, y = data.x_train, data.y_train
    monitor = Monitor(model, optimizer=opt, probe=x[:PROBE_SIZE]) if recorded else None
    per_epoch = -(-len(x) // 100)
    step = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for i, batch in enumerate(torch.randperm(len(x), generator=order).split(100)):
            step += 1
            watch = monitor is not None and (step == 1 or i == per_epoch - 1)
            if watch:
                with monitor.record(step):
                    loss_fn(model(x[batch]), y[batch], member.loss).backward()
            else:
                loss_fn(model(x[batch]), y[batch], member.loss).backward()
            opt.step()
            opt.zero_grad()
    elapsed = time.perf_counter() - start
    if monitor is not None:
        monitor.close()
    return elapsed


def side_by_side(fn, repeats: int) -> tuple[list[float], list[float]]:
    fn(False), fn(True)  # warm up
    plain, recorded = [], []
    for _ in range(repeats):
        plain.append(fn(False))
        recorded.append(fn(True))
    return plain, recorded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    data = load("mnist1d")
    unit = members(data)
    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}; MNIST-1D ({len(data.x_train)} train), batch 100, "
        f"{args.epochs} epochs, median of {args.repeats} alternating runs"
    )
    print(
        "| what | plain s (min / median) | recorded s (min / median) | ratio of min | ratio of "
        "median | inside the recorder |"
    )
    print("|---|---|---|---|---|---|")
    rows = [
        (
            f"batched trainer, {len(unit)} MLP members, StackRecorder",
            lambda rec: stack_seconds(data, unit, args.epochs, rec),
        ),
        (
            f"one plain model ({unit[0].spec.activation}, {unit[0].optimizer}), Monitor",
            lambda rec: alone_seconds(data, unit[0], args.epochs, rec),
        ),
    ]
    for what, fn in rows:
        TimedRecorder.spent = 0.0
        plain, recorded = side_by_side(fn, args.repeats)
        a, b = statistics.median(plain), statistics.median(recorded)
        inside = TimedRecorder.spent / (args.repeats + 1)  # per recorded run (warm-up included)
        share = f"{inside:.3f} s = {inside / a:.1%}" if inside else "-"
        print(
            f"| {what} | {min(plain):.3f} / {a:.3f} | {min(recorded):.3f} / {b:.3f} | "
            f"{min(recorded) / min(plain):.3f} | {b / a:.3f} | {share} |"
        )


if __name__ == "__main__":
    main()
