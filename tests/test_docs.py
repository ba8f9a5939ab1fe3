"""The generated docs are what the registries produce now, and the README's commands are CI's."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from actlab._numerics import format_number
from actlab.report.docs import main as docs_main

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_up_to_date():
    # Fails when a registry changed and `python -m actlab.report.docs` was not re-run.
    assert docs_main([str(ROOT / "docs"), "--check"]) == 0


RENDER = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from pathlib import Path
from actlab.report.docs import render_all
pages = render_all(Path(sys.argv[2]), figures=False)
sys.stdout.write("".join(f"=== {name}\\n{text}" for name, text in sorted(pages.items())))
"""


def test_generated_docs_do_not_depend_on_the_thread_count(tmp_path):
    # The pages print quadrature results whose last bits vary with BLAS and torch threading;
    # formatting (4 significant digits, |mean| < 1e-12 rms shown as 0) must hide that.
    runs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        runs.append(
            subprocess.Popen(
                [sys.executable, "-c", RENDER, threads, str(tmp_path)],
                stdout=subprocess.PIPE,
                env=env,
            )
        )
    one, two = (run.communicate(timeout=300)[0] for run in runs)
    assert all(run.returncode == 0 for run in runs)
    assert b"=== activations.md" in one and one == two


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (-6.939e-18, {"scale": 0.6}, "0"),  # quadrature noise in E[tanh(z)]
        (2.085e-123, {"scale": 0.6}, "0"),
        (6e-13, {"scale": 1.0}, "0"),  # at most 1e-12 of the scale: noise
        (2e-12, {"scale": 1.0}, "2e-12"),  # above it: a real value, shown
        (-0.0, {}, "0"),  # never "-0"
        (1e-300, {}, "1e-300"),  # without a scale only an exact zero is 0
        (0.398942280401, {}, "0.3989"),  # 4 significant digits
        (-0.80606, {"scale": 0.9}, "-0.8061"),
        (1.6765324703, {"digits": 6}, "1.67653"),
        (math.inf, {}, "inf"),
        (-math.inf, {"scale": 1.0}, "-inf"),
    ],
)
def test_format_number_rounds_and_snaps_noise_to_zero(value, kwargs, text):
    assert format_number(value, **kwargs) == text


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    test_lines = [ln for b in blocks for ln in b.splitlines() if "pytest" in ln]
    assert len(test_lines) == 1, "the README must show one test command"
    command = test_lines[0].removeprefix("python3 -m pip install torch==2.13.0 && ").strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


GUIDES = ["diagnostics.md", "studies.md", "landscapes.md", "playground.md"]


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_python_examples_run(guide, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / guide).read_text()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        exec(compile(block, guide, "exec"), {})
