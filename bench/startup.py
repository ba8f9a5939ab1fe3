"""How fast the command line answers, against ``python -c "import torch"`` in the same run.

Each command is started as a fresh process, in turn with the others (so machine load hits all
alike), and timed from its start to its first line of output (``--version``, ``--help``, ``list
activations``, ``inspect relu``: the first line is what a person waits for; the rest of
``inspect``'s output is stopped there) or to its exit (the baselines). Prints the median and the
fastest of the repeats, and each median's ratio to importing torch.

``list`` and ``inspect`` run with a warm cache (``ACTLAB_CACHE_DIR``: a temporary directory the
first, untimed round fills), as every run after the first does, and once more each with a cold
one (an empty directory every time), as the first run after installing or editing actlab does.

    python bench/startup.py [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PY = sys.executable
ACTLAB = [shutil.which("actlab") or ""] if shutil.which("actlab") else [PY, "-m", "actlab"]
# name -> (argv, timed to the first line (else to the exit), cache: None, "warm" or "cold")
COMMANDS = {
    "python -c pass": ([PY, "-c", "pass"], False, None),
    'python -c "import torch"': ([PY, "-c", "import torch"], False, None),
    "actlab --version": ([*ACTLAB, "--version"], True, None),
    "actlab --help": ([*ACTLAB, "--help"], True, None),
    "actlab list activations": ([*ACTLAB, "list", "activations"], True, "warm"),
    "actlab inspect relu": ([*ACTLAB, "inspect", "relu"], True, "warm"),
    "actlab list activations, cold cache": ([*ACTLAB, "list", "activations"], True, "cold"),
    "actlab inspect relu, cold cache": ([*ACTLAB, "inspect", "relu"], True, "cold"),
}
TARGETS = {  # seconds
    "actlab --version": 0.3,
    "actlab --help": 0.3,
    "actlab list activations": 2.0,
    "actlab inspect relu": 2.0,
}


def seconds(argv: list[str], first_line: bool, cache_dir: str | None = None) -> float:
    """Wall seconds from the start to the first line of output (or to the exit)."""
    env = {**os.environ, "COLUMNS": "160"}
    if cache_dir is not None:
        env["ACTLAB_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) as p:
        if first_line:
            line = p.stdout.readline()
            elapsed = time.perf_counter() - start
            if not line:
                raise RuntimeError(f"{' '.join(argv)} printed nothing")
            p.kill()
            return elapsed
        p.wait()
    return time.perf_counter() - start


def timed(argv: list[str], first_line: bool, cache: str | None, warm_dir: str) -> float:
    """:func:`seconds` with the warm cache directory, or a new empty one for a cold cache."""
    if cache != "cold":
        return seconds(argv, first_line, warm_dir if cache == "warm" else None)
    with tempfile.TemporaryDirectory() as empty:
        return seconds(argv, first_line, empty)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}; {' '.join(ACTLAB)}"
    )
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    with tempfile.TemporaryDirectory() as warm_dir:
        for argv, first, cache in COMMANDS.values():  # warm the file-system cache and warm_dir
            timed(argv, first, cache, warm_dir)
        for _ in range(args.repeats):
            for name, (argv, first, cache) in COMMANDS.items():
                times[name].append(timed(argv, first, cache, warm_dir))
    torch_s = statistics.median(times['python -c "import torch"'])
    print("| command | timed to | median s | fastest s | median / import torch | target s |")
    print("|---|---|---|---|---|---|")
    for name, (_, first, _) in COMMANDS.items():
        med, best = statistics.median(times[name]), min(times[name])
        target = f"{TARGETS[name]:g}" if name in TARGETS else "-"
        to = "first line" if first else "exit"
        print(f"| {name} | {to} | {med:.3f} | {best:.3f} | {med / torch_s:.2f} | {target} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
