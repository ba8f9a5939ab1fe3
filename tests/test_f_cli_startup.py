"""The command line starts without torch: ``import actlab`` and ``actlab --version`` / ``--help``
import no heavy module, nor do ``actlab list`` and ``inspect`` before their first line once the
cache holds what they print (checked in a fresh interpreter; timings are bench/startup.py's
job)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import actlab

HEAVY = ("torch", "numpy", "scipy", "matplotlib")


def _heavy_after(code: str) -> tuple[list[str], str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter, and its output."""
    probe = f"{code}\nimport sys\nprint(*(m for m in {HEAVY!r} if m in sys.modules), sep=',')"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    *out, last = run.stdout.removesuffix("\n").split("\n")  # the list may be empty
    return [m for m in last.split(",") if m], "\n".join(out)


def test_import_actlab_is_light_and_subpackages_load_on_use():
    assert _heavy_after("import actlab")[0] == []
    heavy, out = _heavy_after("import actlab\nprint(actlab.nn.Activation('relu'))")
    assert out == "Activation('relu')" and "torch" in heavy
    heavy, _ = _heavy_after("from actlab import activations\nactivations.names()")
    assert "torch" in heavy and "matplotlib" not in heavy and "scipy" not in heavy


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_no_heavy_module(flag):
    code = (
        "import sys\nimport actlab.cli\nsys.argv = ['actlab', " + repr(flag) + "]\n"
        "try:\n    actlab.cli.main()\nexcept SystemExit:\n    pass"
    )
    heavy, out = _heavy_after(code)
    assert heavy == []
    assert out.startswith(f"actlab {actlab.__version__}") if flag == "--version" else "list" in out


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], []])
def test_help_is_typers_own_without_markdown_it(args):
    """``--help`` loads typer's renderer without rich.markdown (markdown_it) and rich.traceback
    (actlab.cli._typer_help), and prints what typer prints with them."""
    code = (
        f"import sys\nimport actlab.cli\nsys.argv = ['actlab', *{args!r}]\n"
        "try:\n    actlab.cli.main()\nexcept SystemExit:\n    pass\n"
        "print(*(m for m in ('markdown_it', 'rich.traceback') if m in sys.modules))"
    )
    env = {**os.environ, "COLUMNS": "120", "FORCE_COLOR": "1"}

    def help_and_loaded(before: str) -> tuple[str, str]:
        run = subprocess.run([sys.executable, "-c", before + code], capture_output=True,
                             text=True, env=env, timeout=60)  # fmt: skip
        page, _, loaded = run.stdout.removesuffix("\n").rpartition("\n")
        return page, loaded

    light, full = help_and_loaded(""), help_and_loaded("import rich.markdown, rich.traceback\n")
    assert "Usage" in light[0] and "\x1b[" in light[0] and light[0] == full[0]
    assert light[1] == "" and full[1] == "markdown_it rich.traceback"


# Runs the command line, and at its first line of output prints the heavy modules loaded by then
# (after a "\0") and exits.
_FIRST_LINE = """
import os, sys
import actlab.cli

class FirstLine:
    def __init__(self, out):
        self.out = out
    def write(self, text):  # click writes bytes to a stream that takes them
        if not text:
            return 0
        text = text.decode() if isinstance(text, bytes) else text
        heavy = [m for m in {heavy!r} if m in sys.modules]
        self.out.write(text + "\\0" + ",".join(heavy) + "\\n")
        self.out.flush()
        os._exit(0)
    def __getattr__(self, name):
        return getattr(self.out, name)

sys.stdout = FirstLine(sys.stdout)
sys.argv = ["actlab", *{args!r}]
actlab.cli.main()
"""


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["list", "activations", "--plain"], "identity (linear)\t"),
        (["list", "presets", "--json"], "{"),
        (["inspect", "relu"], "relu()"),
    ],
)
def test_list_and_inspect_print_their_first_line_without_torch_from_a_warm_cache(
    tmp_path, monkeypatch, args, first
):
    from actlab.cli import _cache

    monkeypatch.setenv(_cache.ENV, str(tmp_path))
    code = _FIRST_LINE.format(heavy=HEAVY, args=args)
    for run in ("cold", "warm"):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        line, heavy = out.stdout.split("\0")
        assert line.startswith(first)
        # cold: computed from the registries (torch); warm: from the cache, nothing heavy
        assert ("torch" in heavy) if run == "cold" else heavy == "\n"


def test_surfaces_are_listed_where_race_help_points():
    import typer
    from typer.testing import CliRunner

    from actlab.cli import app
    from actlab.optim.surfaces import SURFACES

    runner = CliRunner()
    listed = runner.invoke(app, ["list", "surfaces", "--plain"])
    assert listed.exit_code == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == list(SURFACES.names())
    race = typer.main.get_command(app).commands["race"]
    (surface,) = [p for p in race.params if p.name == "surface"]
    assert "actlab list surfaces" in surface.help
