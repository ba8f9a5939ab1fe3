"""Speed of the study engine, measured side by side on this machine.

1. Batched training of N MLP members (MNIST-1D, 40-100-100-10, batch 100) with
   ``actlab.train.train`` against training the same N networks one after another with plain
   ``torch.nn`` + ``torch.optim`` (torch's own activations and optimizers, the same batch loop,
   the same metrics as the trainer records: train and test sets evaluated before the first step,
   running train loss and accuracy, the test set evaluated after every epoch).
   Two member sets: *uniform* (ReLU + Adam, N seeds) and *mixed* (the quickstart grid:
   7 activations x 3 optimizers x seeds). Reported: milliseconds per member-epoch and the ratio
   sequential / batched (targets at N = 64, issue #15: >= 5x uniform, >= 3x mixed).
2. The ``quickstart`` preset end to end (``run_study``, store and report included): wall time
   (target: under 60 s on 2 CPU cores).

Runs alternate between the two sides so that machine load affects both; the median of the
repeats is reported, with the load average (other processes' work) before and after. Besides
wall time, the process's CPU time (``time.process_time``) is reported: with one thread
(``--threads 1``) it is the work done, and on a machine shared with other processes it moves
far less with their load than wall time does (the wall-time ratio then flatters the batched
side: the one-by-one run's many small steps lose more to being descheduled).

    python bench/study.py                       # both parts
    python bench/study.py --skip-quickstart --members 64 --epochs 2 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from actlab.data import load
from actlab.models import ModelSpec
from actlab.train import Member, train

TORCH_ACTS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}
MIXED_OPT = {"sgd": 0.1, "momentum": 0.02, "adam": 0.002}


def members(kind: str, n: int, spec: ModelSpec) -> list[Member]:
    if kind == "uniform":
        return [Member(spec, seed, "adam", {"lr": 1e-3}) for seed in range(n)]
    grid = [(a, o) for a in TORCH_ACTS for o in MIXED_OPT]
    out = []
    for i in range(n):
        act, opt = grid[i % len(grid)]
        lr = {"lr": MIXED_OPT[opt]}
        out.append(Member(spec.replace(activation=act), i // len(grid), opt, lr))
    return out


def torch_model(act: str, depth: int, width: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    n_in = 40
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), TORCH_ACTS[act]()]
        n_in = width
    layers.append(nn.Linear(n_in, 10))
    return nn.Sequential(*layers)


def torch_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.9 if name == "momentum" else 0.0)


def sequential(data, group: list[Member], epochs: int, batch: int) -> tuple[float, float]:
    """Wall and CPU seconds to train every member alone with torch.nn + torch.optim."""
    start, cpu = time.perf_counter(), time.process_time()
    x, y, n = data.x_train, data.y_train, len(data.x_train)
    for m in group:
        torch.manual_seed(m.seed)
        model = torch_model(m.spec.activation, m.spec.depth, m.spec.width)
        opt = torch_optimizer(m.optimizer, model.parameters(), m.optimizer_params["lr"])
        order = torch.Generator().manual_seed(m.seed)
        evaluate(model, data.x_train, data.y_train)  # epoch 0, as the trainer records it
        evaluate(model, data.x_test, data.y_test)
        for _ in range(epochs):
            model.train()
            seen, hits = 0.0, 0
            for index in torch.randperm(n, generator=order).split(batch):
                out = model(x[index])
                loss = F.cross_entropy(out, y[index])
                seen += loss.item() * len(index)
                hits += int((out.argmax(-1) == y[index]).sum())
                loss.backward()
                opt.step()
                opt.zero_grad()
            evaluate(model, data.x_test, data.y_test)
    return time.perf_counter() - start, time.process_time() - cpu


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Loss and accuracy over a whole split, in eval mode."""
    model.eval()
    with torch.no_grad():
        out = model(x)
        loss = F.cross_entropy(out, y).item()
        acc = (out.argmax(-1) == y).float().mean().item()
    model.train()
    return loss, acc


def batched(data, group: list[Member], epochs: int, batch: int) -> tuple[float, float]:
    """Wall and CPU seconds to train the members as one stack (building it included)."""
    start, cpu = time.perf_counter(), time.process_time()
    train(data, group, epochs=epochs, batch_size=batch)
    return time.perf_counter() - start, time.process_time() - cpu


def compare(args) -> None:
    data = load("mnist1d", seed=0)
    spec = ModelSpec.for_data(data, depth=2, width=100)
    load_before = os.getloadavg()[0]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu")
    print(
        f"{'members':>8} {'set':>8} {'batched ms/member-epoch':>24} {'torch ms/member-epoch':>22} "
        f"{'speed-up':>9} {'cpu: batched':>13} {'torch':>7} {'speed-up':>9}"
    )
    for kind in ("uniform", "mixed"):
        group = members(kind, args.members, spec)
        b_times, s_times = [], []
        for _ in range(args.repeats):  # alternating, so that the machine's load hits both
            b_times.append(batched(data, group, args.epochs, 100))
            s_times.append(sequential(data, group, args.epochs, 100))
        per = args.members * args.epochs
        b, s = (statistics.median(t[0] for t in times) / per for times in (b_times, s_times))
        bc, sc = (statistics.median(t[1] for t in times) / per for times in (b_times, s_times))
        print(
            f"{args.members:>8} {kind:>8} {1e3 * b:>24.2f} {1e3 * s:>22.2f} {s / b:>8.2f}x "
            f"{1e3 * bc:>13.2f} {1e3 * sc:>7.2f} {sc / bc:>8.2f}x"
        )
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")


def quickstart() -> None:
    from actlab.report.study_report import render
    from actlab.study.presets import PRESETS
    from actlab.study.runner import run_study

    study = PRESETS.get("quickstart").study
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store = run_study(study, Path(tmp) / "out")
        trained = time.perf_counter() - start
        with store:
            render(store, Path(tmp) / "out")
        total = time.perf_counter() - start
    print(
        f"quickstart: {len(study.runs())} runs, {study.epochs} epochs: "
        f"training {trained:.1f} s, with report {total:.1f} s (target < 60 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-quickstart", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--threads", type=int, help="torch's intra-op threads (default: its own)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if not args.skip_compare:
        compare(args)
    if not args.skip_quickstart:
        quickstart()


if __name__ == "__main__":
    main()
