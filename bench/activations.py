"""Activation speed and memory against torch, side by side in one run.

For every catalog entry (at its defaults) and a few variants (Swish with beta, RReLU training,
learned PReLU slopes): forward+backward time of actlab's fast path (``activate``'s default), of
its reference path (``impl="reference"``: the entry's formula and analytic derivative) and of
torch -- its built-in where the entry names one (``info.torch_fn``), else the fastest of a few
plain torch expressions of the same function -- timed in turn on the same tensor, and the bytes
each saves for backward. Ratios > 1 mean actlab is slower / saves more.

    python bench/activations.py [--sizes 20,24] [--dtypes float32,bfloat16] [--repeats R]
        [--stat min|median] [--malloc steady|system] [--only ROW,ROW]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from actlab.activations import ACTIVATIONS, activate

Fn = Callable[[torch.Tensor], torch.Tensor]
# glibc malloc: never mmap (so never page-fault freshly mapped memory), never give memory back.
STEADY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**31 - 1)}


def _slope_tensor(x: torch.Tensor) -> torch.Tensor:
    return torch.full((x.shape[1],), 0.25, dtype=x.dtype, requires_grad=True)


# Entries torch lacks (or variants its built-in does not cover): plain torch expressions of the
# same function; the fastest of them is the yardstick.
EXPRESSIONS: dict[str, list[Callable[..., torch.Tensor]]] = {
    "identity": [lambda x: x.clone()],
    # (x >= 0) has no gradient; floor's is zero (NaN stays NaN, unlike (x >= 0) + 0 * x at inf)
    "binary_step": [lambda x: torch.floor(x).clamp(-1, 0) + 1],
    "leaky_relu6": [
        lambda x, negative_slope, cap, cap_slope: torch.clamp(
            F.leaky_relu(x, negative_slope), max=cap
        ),
        lambda x, negative_slope, cap, cap_slope: F.hardtanh(
            F.leaky_relu(x, negative_slope), -math.inf, cap
        ),
    ],
    "maxout": [
        lambda x, pieces, dim: x.unflatten(dim, (-1, pieces)).amax(dim),
        lambda x, pieces, dim: x.unflatten(dim, (-1, pieces)).max(dim).values,
    ],
    "silu(beta=1.5)": [
        lambda x, beta: x * torch.sigmoid(beta * x),
        lambda x, beta: F.silu(beta * x) / beta,
    ],
    "rrelu(training)": [lambda x, lower, upper, training: F.rrelu(x, lower, upper, True)],
}
# Where the catalog's torch_fn does more than the plain built-in at the defaults (divides by the
# temperature 1; wraps a fixed slope in a tensor), the plain call competes too.
PLAIN = {
    "softmax": lambda x, temperature, dim: F.softmax(x, dim),
    "log_softmax": lambda x, temperature, dim: F.log_softmax(x, dim),
    "prelu": lambda x, weight: F.leaky_relu(x, weight),
}
VARIANTS = {
    "silu(beta=1.5)": ("silu", {"beta": 1.5}),
    "rrelu(training)": ("rrelu", {"training": True}),
}


def cases() -> list[tuple[str, str, dict, list[Callable[..., torch.Tensor]], bool]]:
    """(label, entry, params, torch candidates, whether torch has it built in)."""
    out = []
    for info in ACTIVATIONS:
        if info.torch_fn is not None:
            plain = [PLAIN[info.name]] if info.name in PLAIN else []
            out.append((info.name, info.name, info.bind(), [info.torch_fn, *plain], True))
        else:
            out.append((info.name, info.name, info.bind(), EXPRESSIONS[info.name], False))
    for label, (name, params) in VARIANTS.items():
        p = ACTIVATIONS.get(name).bind(params)
        out.append((label, name, p, EXPRESSIONS[label], False))
    # a learned per-channel slope (nn.PReLU's case); the weight is made per tensor below
    out.append(("prelu(learned)", "prelu", {"weight": _slope_tensor}, [F.prelu], True))
    return out


def saved_bytes(fn: Fn, x: torch.Tensor) -> int:
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return total


def fwd_bwd_seconds(fn: Fn, x: torch.Tensor) -> float:
    if x.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    y = fn(x)
    y.backward(torch.ones_like(y))
    if x.is_cuda:
        torch.cuda.synchronize()
    x.grad = None
    return time.perf_counter() - start


def bind(fn: Callable[..., torch.Tensor], params: dict, x: torch.Tensor) -> Fn:
    p = {k: v(x) if callable(v) else v for k, v in params.items()}
    return lambda t: fn(t, **p)


def run(size: int, dtype: torch.dtype, args: argparse.Namespace) -> list[dict]:
    torch.manual_seed(0)
    x = torch.randn(size // 256, 256, device=args.device, dtype=dtype).requires_grad_(True)
    stat = min if args.stat == "min" else statistics.median
    repeats, rows = args.repeats, []
    for label, name, params, candidates, builtin in cases():
        if args.only and label not in args.only.split(","):
            continue
        info = ACTIVATIONS.get(name)
        impls = {
            impl: bind(lambda t, i=info, m=impl, **p: activate(t, i, impl=m, **p), params, x)
            for impl in ("fast", "reference")
        }
        for i, c in enumerate(candidates):
            impls[f"torch{i}"] = bind(c, params, x)
        times: dict[str, list[float]] = {k: [] for k in impls}
        for fn in impls.values():  # warm up
            fwd_bwd_seconds(fn, x)
        order = list(impls)
        for i in range(repeats):  # in turn, each first in some rounds: load hits all alike
            for k in order[i % len(order) :] + order[: i % len(order)]:
                times[k].append(fwd_bwd_seconds(impls[k], x))
        med = {k: stat(v) for k, v in times.items()}
        best = min((k for k in med if k.startswith("torch")), key=med.get)
        rows.append(
            dict(
                label=label,
                builtin=builtin,
                fast=med["fast"],
                reference=med["reference"],
                torch=med[best],
                mem=saved_bytes(impls["fast"], x) / (saved_bytes(impls[best], x) or math.nan),
                mem_x=saved_bytes(impls["fast"], x) / (x.numel() * x.element_size()),
            )
        )
    return rows


def report(rows: list[dict], size: int, dtype: torch.dtype) -> dict:
    print(f"\n### 2^{int(math.log2(size))} = {size} {str(dtype).removeprefix('torch.')} elements")
    print(
        "| activation | torch | fast ms | reference ms | torch ms | fast / torch | "
        "reference / torch | saved: fast / torch | saved: fast / input |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        kind = "built-in" if r["builtin"] else "expression"
        print(
            f"| {r['label']} | {kind} | {r['fast'] * 1e3:.2f} | {r['reference'] * 1e3:.2f} | "
            f"{r['torch'] * 1e3:.2f} | {r['fast'] / r['torch']:.2f} | "
            f"{r['reference'] / r['torch']:.2f} | {r['mem']:.2f} | {r['mem_x']:.2f} |"
        )
    fast = [r["fast"] / r["torch"] for r in rows]
    ref = [r["reference"] / r["torch"] for r in rows]
    worst = max(rows, key=lambda r: r["fast"] / r["torch"])["label"]
    summary = dict(
        fast_median=statistics.median(fast),
        fast_max=max(fast),
        worst=worst,
        ref_median=statistics.median(ref),
        ref_max=max(ref),
        mem_max=max(r["mem_x"] for r in rows),
    )
    print(
        f"\nover {len(rows)} entries: fast / torch median {summary['fast_median']:.2f}, max "
        f"{summary['fast_max']:.2f} ({worst}); reference / torch median "
        f"{summary['ref_median']:.2f}, max {summary['ref_max']:.2f}"
    )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20,24", help="log2 of the element counts")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--stat",
        choices=("min", "median"),
        default="min",
        help="per implementation: the fastest of the repeats (the least disturbed by other "
        "processes; the default) or their median",
    )
    ap.add_argument("--only", default="", help="comma-separated rows to run (default: all)")
    ap.add_argument(
        "--malloc",
        choices=("steady", "system"),
        default="steady",
        help="steady (the default): glibc keeps freed memory and never maps fresh pages, so the "
        "timings are the kernels'; system: glibc's own policy, whose moving mmap threshold "
        "makes the same kernel cost 1-4x depending on what ran before it (tensors near 32 MB)",
    )
    args = ap.parse_args()
    if args.malloc == "steady" and STEADY.items() - os.environ.items():
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **STEADY})
    torch.set_num_threads(args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads, {args.device}, load average "
        f"{os.getloadavg()[0]:.2f}; {args.stat} of {args.repeats} in-turn timings; malloc "
        f"{args.malloc}"
    )
    summaries = []
    for dtype in (getattr(torch, d) for d in args.dtypes.split(",")):
        for size in (1 << int(s) for s in args.sizes.split(",")):
            summaries.append(
                (
                    size,
                    dtype,
                    report(run(size, dtype, args), size, dtype),
                )
            )
    print(
        "\n| dtype | elements | fast / torch: median | max | reference / torch: median | max "
        "| most saved by fast / input |"
    )
    print("|---|---|---|---|---|---|---|")
    for size, dtype, s in summaries:
        print(
            f"| {str(dtype).removeprefix('torch.')} | 2^{int(math.log2(size))} | "
            f"{s['fast_median']:.2f} | {s['fast_max']:.2f} ({s['worst']}) | "
            f"{s['ref_median']:.2f} | {s['ref_max']:.2f} | {s['mem_max']:.2f} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
