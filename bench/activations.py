"""Activation speed and memory against torch.nn.functional, side by side in one run.

For every catalog entry that torch also has: forward+backward time of actlab's analytic path
(``activate``) and of torch's own kernel on the same float32 tensor, and the bytes each saves for
backward. Prints a markdown table (ratios > 1 mean actlab is slower / saves more).

    python bench/activations.py [--elements N] [--repeats R] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from actlab.activations import ACTIVATIONS, activate


def saved_bytes(fn, x: torch.Tensor) -> int:
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return total


def fwd_bwd_seconds(fn, x: torch.Tensor, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        y = fn(x)
        y.backward(torch.ones_like(y))
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        x.grad = None
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elements", type=int, default=1 << 22)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.elements // 256, 256, device=args.device).requires_grad_(True)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {args.device}, {x.numel()} float32 elements")
    print("| activation | actlab ms | torch ms | time ratio | saved bytes ratio |")
    print("|---|---|---|---|---|")
    ratios = []
    for info in ACTIVATIONS:
        if info.torch_fn is None:
            continue
        p = info.bind()
        ours = lambda t, info=info, p=p: activate(t, info, **p)  # noqa: E731
        ref = lambda t, info=info, p=p: info.torch_fn(t, **p)  # noqa: E731
        fwd_bwd_seconds(ours, x, 2), fwd_bwd_seconds(ref, x, 2)  # warm up
        a, b = [], []
        for _ in range(args.repeats):  # alternate, so machine load hits both alike
            a += fwd_bwd_seconds(ours, x, 1)
            b += fwd_bwd_seconds(ref, x, 1)
        ta, tb = statistics.median(a), statistics.median(b)
        ratio = ta / tb
        ratios.append(ratio)
        mem = saved_bytes(ours, x) / max(saved_bytes(ref, x), 1)
        print(f"| {info.name} | {ta * 1e3:.2f} | {tb * 1e3:.2f} | {ratio:.2f} | {mem:.2f} |")
    print(f"\nmedian time ratio over {len(ratios)} activations: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
