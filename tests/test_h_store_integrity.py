"""A damaged store, a changed stored value, a read-only store and a full disk each give one line
naming the file, what happened and what to do (issue #11, point 6); a store being created is
never seen half made."""

from __future__ import annotations

import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.errors import ActlabError
from actlab.study import Store
from actlab.study import store as store_module
from actlab.study.integrity import StoreFileError

TINY = [
    "--dataset", "gauss", "--width", "8", "--depth", "1",
    "--activations", "relu,tanh", "--optimizers", "sgd", "--lr", "0.1",
    "--seeds", "2", "--epochs", "2", "--batch-size", "50",
]  # fmt: skip
PAGE = 4096


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "study"
    assert invoke("compare", *TINY, "--out", out).exit_code == 0
    return out


@pytest.fixture
def study(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "study"
    shutil.copytree(finished, out)
    return out


def _metric_offset(data: bytes, out: Path) -> int:
    """Where a stored test accuracy (a big-endian float64 in the file) lies."""
    with Store.open(out) as store:
        values = {m["test_loss"] for m in store.metrics()}
    offsets = [data.find(struct.pack(">d", v)) for v in values]
    return max(offsets)


def _header(data: bytearray, out: Path) -> None:
    data[:100] = bytes(100)


def _middle(data: bytearray, out: Path) -> None:  # the stored configs' JSON, mid-file
    at = data.find(b'"activation"')
    assert at > 0, "no stored config found"
    data[at : at + 40] = b"#" * 40


def _last_page(data: bytearray, out: Path) -> None:
    data[-PAGE:] = bytes(b ^ 0xFF for b in data[-PAGE:])


def _zeros(data: bytearray, out: Path) -> None:
    end = min(len(data), PAGE + 64 * 1024)
    data[PAGE:end] = bytes(end - PAGE)


def _one_value(data: bytearray, out: Path) -> None:  # one bit of one stored metric
    data[_metric_offset(bytes(data), out) + 7] ^= 1


DAMAGE = {
    "header zeroed": (_header, "not a readable actlab study store"),
    "bytes overwritten mid-file": (_middle, "checksum"),
    "last page flipped": (_last_page, "is damaged"),
    "zeros over 64 KiB": (_zeros, "is damaged"),
    "one stored value changed in place": (_one_value, "do not match their checksum"),
}


@pytest.mark.parametrize("command", ["report", "compare", "diagnose"])
@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_store_is_one_line(study: Path, case: str, command: str) -> None:
    damage, words = DAMAGE[case]
    path = study / "study.db"
    data = bytearray(path.read_bytes())
    damage(data, study)
    path.write_bytes(bytes(data))
    args = ("compare", *TINY, "--out", study) if command == "compare" else (command, study)
    line = one_line(invoke(*args), str(path), words)
    assert "rerun" in line or "restore" in line  # what to do
    assert path.read_bytes() == bytes(data)  # nothing written over the evidence


def test_a_value_changed_through_sqlite_is_reported(study: Path) -> None:
    conn = sqlite3.connect(study / "study.db")
    with conn:
        conn.execute("UPDATE metrics SET test_acc = 0.99 WHERE rowid = 2")
    conn.close()
    one_line(invoke("report", study), "study.db", "do not match their checksum")
    with Store.open(study) as store, pytest.raises(StoreFileError, match="checksum"):
        store.metrics()


def test_an_old_store_without_checksums_is_unverified_not_an_error(study: Path) -> None:
    conn = sqlite3.connect(study / "study.db")
    with conn:
        conn.execute("DROP TABLE checksums")
    conn.close()
    with Store.open(study) as store:
        assert set(store.unverified()) == store.completed() and len(store) == 4
        assert len(store.metrics()) == 4 * 3
    result = invoke("report", study)
    assert result.exit_code == 0 and "4 of 4 stored runs carry no checksum" in result.output
    with Store.open(study) as store:  # reading it never adds checksums after the fact
        assert len(store.unverified()) == 4


def _stored(out: Path) -> tuple[list, list]:
    with Store.open(out) as store:
        return [(r.key, r.status) for r in store.runs()], store.metrics()


class _FullDisk(sqlite3.Connection):
    """Commits of a run fail as on a full disk: SQLite rolls back and says the disk is full."""

    def execute(self, sql, *args):
        if sql.startswith("INSERT INTO runs"):
            self.writing_run = True
        if sql == "COMMIT" and getattr(self, "writing_run", False):
            super().execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


def test_a_full_disk_is_one_line_and_keeps_the_stored_runs(study: Path, monkeypatch) -> None:
    before = _stored(study)
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **k, factory=_FullDisk))
    args = [*TINY[:-6], "--seeds", "3", *TINY[-4:], "--force"]
    result = invoke("compare", *args, "--out", study)  # trains, then cannot store
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: ") and result.output.count("error") == 1
    assert str(study / "study.db") in line and "disk is full" in line
    assert "free some space" in line and "cannot rollback" not in line
    monkeypatch.undo()
    assert _stored(study) == before
    assert invoke("compare", *args, "--out", study).exit_code == 0  # space freed: it resumes
    assert len(_stored(study)[0]) == 6


def test_a_full_disk_in_the_library_names_the_cause(tmp_path: Path) -> None:
    with Store.open(tmp_path, {"name": "x"}) as store:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        rows = [(i, "layer", "m", 0.5) for i in range(5000)]
        with pytest.raises(StoreFileError, match="disk is full") as e:
            store.complete_run("k", {"a": 1}, seed=0, metrics=[{}], diagnostics=rows)
        assert "cannot rollback" not in str(e.value)
        store._conn.execute("PRAGMA max_page_count = 1000000")
        assert len(store) == 0
        store.complete_run("k", {"a": 1}, seed=0, metrics=[{}], diagnostics=rows)
        assert len(store) == 1


def test_a_read_only_store_is_one_line(study: Path, monkeypatch) -> None:
    # Tests run as root, where chmod does not stop writes: open SQLite read-only instead, which
    # is what a read-only directory or file gives.
    connect = sqlite3.connect

    def read_only(path, *args, **kwargs):
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    before = (study / "study.db").read_bytes()
    args = [*TINY[:-6], "--seeds", "3", *TINY[-4:], "--force"]
    one_line(invoke("compare", *args, "--out", study), "study.db", "read-only", "--out")
    assert (study / "study.db").read_bytes() == before
    assert invoke("report", study).exit_code == 0  # reading needs no write access


def test_a_store_being_created_is_never_seen_half_made(tmp_path: Path, monkeypatch) -> None:
    out, seen = tmp_path / "out", []
    create = store_module._create

    def slow_create(conn, *args):
        create(conn, *args)
        # the store is fully written but not yet in place: a reader sees no store, not a
        # store without its tables ("no such table: meta")
        with pytest.raises(ActlabError, match="holds no study results"):
            Store.open(out)
        seen.append(sorted(p.name for p in out.iterdir()))

    monkeypatch.setattr(store_module, "_create", slow_create)
    with Store.open(out, {"name": "x"}) as store:
        assert store.study == {"name": "x"}
    assert seen and "study.db" not in seen[0]
    assert sorted(p.name for p in out.iterdir()) == ["study.db"]  # no temporary file left
    with Store.open(out) as reader:
        assert reader.study == {"name": "x"} and reader.unverified() == ()
