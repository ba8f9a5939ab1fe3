"""The command line's cache (``actlab.cli._cache``): ``actlab list`` and the header of ``actlab
inspect`` print the same bytes from a cold cache, a warm one and the live registries, for every
catalog and output mode; a stale, unreadable or unwritable cache changes nothing but the time.
(That a warm cache prints without torch is checked in a fresh interpreter, in
test_f_cli_startup.py.)"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from actlab.cli import _cache, app, inspect_cmd, list_cmd
from actlab.cli.list_cmd import CATALOGS

runner = CliRunner()


def _output(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def _three_ways(monkeypatch, cache_dir, *args: str) -> list[tuple[int, str, str]]:
    """``actlab ARGS`` from the live registries, a cold cache in ``cache_dir``, then the warm
    one (with the registries out of reach: the warm run must not compute)."""
    monkeypatch.setenv(_cache.ENV, str(cache_dir))
    monkeypatch.setattr(_cache, "_imported", lambda module: True)  # as once a registry is loaded
    live = _output(*args)
    assert not list(cache_dir.iterdir())
    monkeypatch.setattr(_cache, "_imported", lambda module: False)
    cold = _output(*args)

    def unreachable(*_):
        raise AssertionError("computed despite a warm cache")

    monkeypatch.setattr(list_cmd, "listing", unreachable)
    monkeypatch.setattr(inspect_cmd, "headers", unreachable)
    warm = _output(*args)
    return [live, cold, warm]


@pytest.mark.parametrize("mode", [(), ("--plain",), ("--json",)], ids=["table", "plain", "json"])
@pytest.mark.parametrize("catalog", list(CATALOGS))
def test_list_prints_the_same_from_a_cold_and_a_warm_cache(monkeypatch, tmp_path, catalog, mode):
    live, cold, warm = _three_ways(monkeypatch, tmp_path, "list", catalog, *mode)
    assert live[0] == 0 and live[1].count("\n") > 2, live
    assert len(list(tmp_path.glob("catalogs-*.json"))) == 1
    assert cold == live and warm == live


@pytest.mark.parametrize(
    "args",
    [
        ("relu",),
        ("swish",),  # an alias: the header names silu
        ("Leaky-ReLU6",),  # found as leaky_relu6
        ("leaky_relu6", "--param", "cap=3"),  # parameters: the header comes from the registry
        ("rleu",),  # unknown: the closest names, from the cache
        ("nosuch",),
    ],
)
def test_inspect_prints_the_same_from_a_cold_and_a_warm_cache(monkeypatch, tmp_path, args):
    live, cold, warm = _three_ways(monkeypatch, tmp_path, "inspect", *args, "--no-cost")
    assert cold == live and warm == live
    assert len(list(tmp_path.glob("catalogs-*.json"))) == (0 if "--param" in args else 1)
    if args[0] in ("rleu", "nosuch"):
        assert live[0] == 2 and live[2].startswith(f"error: unknown activation {args[0]!r}")
    else:
        assert live[0] == 0 and "\nf:  " in live[1] and "\nreference: " in live[1]


def test_a_source_edit_makes_a_new_cache_file_and_removes_the_old(monkeypatch, tmp_path):
    monkeypatch.setenv(_cache.ENV, str(tmp_path))
    monkeypatch.setattr(_cache, "_imported", lambda module: False)
    assert _output("list", "losses", "--plain")[0] == 0
    (before,) = tmp_path.glob("catalogs-*.json")
    monkeypatch.setattr(_cache, "_fingerprint", lambda package: "0123456789abcdef")
    assert _output("list", "losses", "--plain")[0] == 0
    (after,) = tmp_path.glob("catalogs-*.json")
    assert after.name.endswith("-0123456789abcdef.json") and after != before
    other = tmp_path / "catalogs-00000000-0123456789abcdef.json"  # another installation's
    other.write_text("{}")
    monkeypatch.setattr(_cache, "_fingerprint", lambda package: "fedcba9876543210")
    assert _output("list", "losses", "--plain")[0] == 0
    assert sorted(p.name[-22:] for p in tmp_path.glob("catalogs-*.json")) == [
        "-0123456789abcdef.json",
        "-fedcba9876543210.json",
    ]
    assert other.exists()


def test_a_broken_or_unwritable_cache_changes_nothing_but_the_time(monkeypatch, tmp_path):
    monkeypatch.setattr(_cache, "_imported", lambda module: True)
    expected = _output("list", "models", "--plain")  # live: the cache is not consulted
    monkeypatch.setattr(_cache, "_imported", lambda module: False)
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("")
    monkeypatch.setenv(_cache.ENV, str(blocked))
    assert _output("list", "models", "--plain") == expected
    monkeypatch.setenv(_cache.ENV, str(tmp_path / "cache"))
    assert _output("list", "models", "--plain") == expected
    (stored,) = (tmp_path / "cache").glob("catalogs-*.json")
    stored.write_text('{"list models": {"entr')  # cut short, as by a full disk
    assert _output("list", "models", "--plain") == expected
    assert "list models" in json.loads(stored.read_text())  # and written whole again
