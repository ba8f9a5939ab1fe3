"""The MNIST-1D paper's recipes as written, over seeds, beside the published numbers, and an
ablation of the MLP recipe: which ingredient accounts for the gap to today's `mnist1d-mlp` preset.

Each study runs through ``run_study`` (the same engine as ``actlab compare``) into a temporary
store; the final test accuracy of every seed is read back, and the mean with its 95% Student-t
interval is printed beside the paper's number (Greydanus & Kobak's benchmark table: logistic
regression 32%, MLP 68%, CNN 94%).

    python bench/recipes.py                 # the three recipes and the MLP ablation
    python bench/recipes.py --only mlp      # one of: logreg, mlp, cnn, ablation
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from scipy import stats

from actlab.study.presets import PRESETS, PUBLISHED
from actlab.study.runner import run_study


def finals(study) -> tuple[list[float], list[float]]:
    """Each run's final test accuracy, and its best over the epochs (trained now, in a
    temporary store)."""
    with tempfile.TemporaryDirectory() as tmp, run_study(study, tmp) as store:
        last, best = {}, {}
        for row in store.metrics():
            last[row["run"]] = row["test_acc"]
            best[row["run"]] = max(best.get(row["run"], 0.0), row["test_acc"])
        keys = [r.key for r in store.runs()]
        return [last[k] for k in keys], [best[k] for k in keys]


def interval(values: list[float]) -> str:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return f"{100 * mean:.1f} ± {100 * half:.1f}"


def show(label: str, study, published: float | None = None) -> None:
    start = time.perf_counter()
    values, best = finals(study)
    took = time.perf_counter() - start
    paper = f"{100 * published:.0f}" if published is not None else "-"
    seeds = ", ".join(f"{100 * v:.1f}" for v in values)
    row = f"| {label} | {interval(values)} | {interval(best)} | {paper} | {seeds} | {took:.0f} s |"
    print(row, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("logreg", "mlp", "cnn", "ablation"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        "| recipe | final test accuracy % (mean ± 95% CI, 5 seeds) | best epoch's | paper "
        "| final, per seed | wall |"
    )
    print("|---|---|---|---|---|---|")
    for short in ("logreg", "mlp", "cnn"):
        if args.only in (None, short):
            name = f"mnist1d-paper-{short}"
            show(f"`{name}`", PRESETS.get(name).study, PUBLISHED[name])
    if args.only in (None, "ablation"):
        faithful = PRESETS.get("mnist1d-paper-mlp").study
        steps = [
            ("MLP as written", faithful),
            ("+ batches shuffled each epoch", faithful.replace(shuffle=True)),
            ("+ inputs standardized", faithful.replace(dataset_params={})),
            ("+ He (normal) init instead of PyTorch's", faithful.replace(inits=("he_normal",))),
            ("- the residual connection", faithful.replace(residual=False)),
            ("30 epochs instead of 150", faithful.replace(epochs=30)),
            ("256 hidden units (the repository's later train.py)", faithful.replace(width=256)),
            ("8000 steps (200 epochs, likewise)", faithful.replace(epochs=200)),
            ("256 hidden units and 8000 steps", faithful.replace(width=256, epochs=200)),
            (
                "today's `mnist1d-mlp`: shuffled, standardized, `auto` init, no residual, 30 ep.",
                PRESETS.get("mnist1d-mlp").study.replace(seeds=(0, 1, 2, 3, 4)),
            ),
        ]
        for label, study in steps:
            show(label, study)


if __name__ == "__main__":
    main()
