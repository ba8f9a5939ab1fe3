"""How fast the command line answers, against ``python -c "import torch"`` in the same run.

Each command is started as a fresh process, in turn with the others (so machine load hits all
alike), and timed from its start to its first line of output (``--version``, ``--help``, ``list
activations``, ``inspect relu``: the first line is what a person waits for; the rest of
``inspect``'s output is stopped there) or to its exit (the baselines). Prints the median and the
fastest of the repeats, and each median's ratio to importing torch.

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
import time

PY = sys.executable
ACTLAB = [shutil.which("actlab") or ""] if shutil.which("actlab") else [PY, "-m", "actlab"]
COMMANDS = {
    "python -c pass": ([PY, "-c", "pass"], False),
    'python -c "import torch"': ([PY, "-c", "import torch"], False),
    "actlab --version": ([*ACTLAB, "--version"], True),
    "actlab --help": ([*ACTLAB, "--help"], True),
    "actlab list activations": ([*ACTLAB, "list", "activations"], True),
    "actlab inspect relu": ([*ACTLAB, "inspect", "relu"], True),
}
TARGETS = {  # seconds
    "actlab --version": 0.3,
    "actlab --help": 0.3,
    "actlab list activations": 2.0,
    "actlab inspect relu": 2.0,
}


def seconds(argv: list[str], first_line: bool) -> float:
    """Wall seconds from the start to the first line of output (or to the exit)."""
    env = {**os.environ, "COLUMNS": "160"}
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}; {' '.join(ACTLAB)}"
    )
    for argv, first in COMMANDS.values():  # warm the file-system cache
        seconds(argv, first)
    times: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.repeats):
        for name, (argv, first) in COMMANDS.items():
            times[name].append(seconds(argv, first))
    torch_s = statistics.median(times['python -c "import torch"'])
    print("| command | timed to | median s | fastest s | median / import torch | target s |")
    print("|---|---|---|---|---|---|")
    for name, (_, first) in COMMANDS.items():
        med, best = statistics.median(times[name]), min(times[name])
        target = f"{TARGETS[name]:g}" if name in TARGETS else "-"
        to = "first line" if first else "exit"
        print(f"| {name} | {to} | {med:.3f} | {best:.3f} | {med / torch_s:.2f} | {target} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
