"""Speed of a loss plane, measured side by side on this machine.

A ``steps x steps`` plane (default 51 x 51) through a 40-100-100-10 ReLU MLP on the 4,000
MNIST-1D training examples, cross-entropy loss, two filter-normalized random directions:

- *batched*: :func:`actlab.landscape.plane` (chunks of grid points as one batched model:
  ``torch.vmap`` over ``torch.func.functional_call``);
- *one by one*: a plain ``torch.nn`` model whose weights are overwritten in place for each grid
  point, then one forward pass and the loss (the usual loop of a landscape script).

Both sides compute the same numbers (checked); the sides alternate over ``--repeats`` and the
median is reported with the ratio one-by-one / batched. A smaller data set (``--rows``) shows
where batching pays: the fewer rows, the more a single point's pass is overhead, not arithmetic.

    python bench/landscape.py                 # 51 x 51, all 4,000 rows
    python bench/landscape.py --steps 21 --rows 256 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from actlab.data import load
from actlab.landscape import filter_normalized_direction, plane


def plain_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10)
    )


def one_by_one(model: nn.Module, x, y, d1, d2, alphas) -> torch.Tensor:
    """The loop a plain script would write: set the weights, run the model, take the loss."""
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = dict(model.named_parameters())
    out = torch.empty(len(alphas), len(alphas), dtype=torch.float64)
    with torch.no_grad():
        for i, a in enumerate(alphas.tolist()):
            for j, b in enumerate(alphas.tolist()):
                for n, p in params.items():
                    p.copy_(theta[n] + a * d1[n] + b * d2[n])
                out[i, j] = float(F.cross_entropy(model(x), y))
        for n, p in params.items():
            p.copy_(theta[n])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=51)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    ds = load("mnist1d")
    x, y = ds.x_train[: args.rows], ds.y_train[: args.rows]
    model = plain_mlp()
    gen = torch.Generator().manual_seed(0)
    d1, d2 = (filter_normalized_direction(model, gen) for _ in range(2))
    alphas = torch.linspace(-1, 1, args.steps, dtype=torch.float64)
    times: dict[str, list[float]] = {"batched": [], "one by one": []}
    for _ in range(args.repeats):
        t = time.perf_counter()
        batched = plane(model, F.cross_entropy, x, y, (d1, d2), steps=args.steps).loss
        times["batched"].append(time.perf_counter() - t)
        t = time.perf_counter()
        looped = one_by_one(model, x, y, d1, d2, alphas)
        times["one by one"].append(time.perf_counter() - t)
        torch.testing.assert_close(batched, looped, rtol=1e-4, atol=1e-5)
    points = args.steps**2
    print(
        f"plane {args.steps}x{args.steps} = {points} points, MLP 40-100-100-10, {len(x)} rows, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}"
    )
    median = {k: statistics.median(v) for k, v in times.items()}
    for k, v in median.items():
        print(f"  {k:<11} {v:8.2f} s   {1e3 * v / points:7.2f} ms/point")
    print(f"  ratio one-by-one / batched: {median['one by one'] / median['batched']:.2f}x")


if __name__ == "__main__":
    main()
