"""The generated docs are what the registries produce now, and the README's commands are CI's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from actlab.report.docs import main as docs_main

ROOT = Path(__file__).resolve().parents[1]


def test_generated_docs_are_up_to_date():
    # Fails when a registry changed and `python -m actlab.report.docs` was not re-run.
    assert docs_main([str(ROOT / "docs"), "--check"]) == 0


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


@pytest.mark.parametrize("guide", ["diagnostics.md", "studies.md"])
def test_guide_python_examples_run(guide, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / guide).read_text()
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        exec(compile(block, guide, "exec"), {})
