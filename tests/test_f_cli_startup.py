"""The command line starts without torch: ``import actlab`` and ``actlab --version`` / ``--help``
import no heavy module (checked in a fresh interpreter; timings are bench/startup.py's job)."""

from __future__ import annotations

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
