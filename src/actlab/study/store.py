"""The study store: one SQLite file, ``OUT/study.db``, that survives being killed at any moment.

Tables: ``meta`` (the resolved study as canonical JSON, its SHA-256, its identity -- what
determines the results, see :mod:`actlab.study.identity` -- and the schema version);
``runs`` (one row per finished run: config JSON, seed, status ``done|diverged|failed``, diverged
step, wall time, error); ``metrics`` (per-epoch train/test loss and accuracy); ``step_metrics``
(``(run, step) -> epoch, training seconds, the same metrics``: every evaluation of a run whose
study set ``eval_every`` or a ``steps`` budget, epoch ends included; other runs have none, so
their checksums are what they were before the table existed); ``diagnostics``
(``(run, step, layer, metric) -> value``); ``checksums`` (per run, over its row and metrics,
checked whenever they are read: see :mod:`actlab.study.integrity`, which also turns a damaged
file, a read-only one and a full disk into one line); ``checkpoints`` (the saved state of units
still training: see :mod:`actlab.study.checkpoints`); ``weights`` (each run's final parameters
and buffers, and with ``snapshots`` its parameters along training, as ``torch.save`` bytes with
their SHA-256).

Crash safety comes from SQLite (write-ahead log, ``synchronous=FULL``): a run's rows are written in
**one transaction**, so after a crash -- SIGKILL, power cut, an exception half-way -- a run is
stored whole or not at all. Only finished runs are written, so resuming is running what
:meth:`Store.pending` returns; a run's key is its primary key, so nothing is duplicated. Several
processes may write at once (each opens its own :class:`Store`; writers queue on SQLite's lock);
WAL needs one machine's shared memory, so keep stores off network file systems.

Example (a runner's loop; rerunning it after a kill does only what is left)::

    configs = {run_key(c): c for c in study_configs}
    with Store.open("out", study) as store:
        for key in store.pending(configs):
            metrics = train(configs[key])  # [{"train_loss": ..., "test_acc": ...}, ...]
            store.complete_run(key, configs[key], seed=configs[key]["seed"], metrics=metrics)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.study import checkpoints as ckpt
from actlab.study import integrity
from actlab.study._rows import METRICS, STATUSES, RunRows, canonical_json, diagnostic_row
from actlab.study.identity import claim

__all__ = ["FILENAME", "METRICS", "STATUSES", "RunRecord", "Store", "canonical_json", "run_key"]

FILENAME = "study.db"
SCHEMA_VERSION = 1

SCHEMA = (
    f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    seed INTEGER,
    status TEXT NOT NULL CHECK (status IN {STATUSES}),
    diverged_step INTEGER,
    wall_s REAL,
    error TEXT,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    {", ".join(f"{m} REAL" for m in METRICS)},
    PRIMARY KEY (run, epoch)
);
CREATE TABLE IF NOT EXISTS step_metrics (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    seconds REAL,
    {", ".join(f"{m} REAL" for m in METRICS)},
    PRIMARY KEY (run, step)
);
CREATE TABLE IF NOT EXISTS diagnostics (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    layer TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run, step, layer, metric)
);
"""
    + integrity.CHECKSUMS
    + ";"
    + ckpt.CHECKPOINTS
    + ";"
    + """
CREATE TABLE IF NOT EXISTS weights (
    run TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    final INTEGER NOT NULL,
    state BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (run, step, final)
);
"""
)


def run_key(config: Mapping[str, Any]) -> str:
    """A run's stable key: the first 16 hex digits of the SHA-256 of its canonical JSON config."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunRecord:
    """One stored run (``diverged_step`` and ``error`` are ``None`` unless they apply)."""

    key: str
    config: dict[str, Any]
    seed: int | None
    status: str
    diverged_step: int | None
    wall_s: float | None
    error: str | None
    finished_at: float


class Store:
    """A study's results in ``OUT/study.db``. Create or reopen one with :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if meta.get("schema") != str(SCHEMA_VERSION) or "study" not in meta:
            raise ActlabError(
                f"{path} has store schema {meta.get('schema')}; this actlab reads schema "
                f"{SCHEMA_VERSION}"
            )
        self.study: dict[str, Any] = json.loads(meta["study"])
        self.study_hash: str = meta["study_hash"]
        self.replaced: tuple[int, int] | None = None  # (kept, discarded) runs, when forced

    @classmethod
    def open(
        cls,
        out_dir: str | os.PathLike,
        study: Mapping[str, Any] | None = None,
        *,
        force: bool = False,
        identity: Mapping[str, Any] | None = None,
    ) -> Store:
        """Create ``out_dir/study.db`` for ``study``, or reopen it to resume the same study.

        Args:
            out_dir: the study's output directory (created if missing).
            study: the resolved study as JSON-able data; ``None`` opens an existing store as is
                (for reports). It replaces the stored one when the identities agree.
            force: replace a store that holds a *different* study: keep the stored runs whose
                keys are in both identities' ``runs`` (when the rest of the identities agree),
                discard the others; ``store.replaced`` is then ``(kept, discarded)``.
            identity: what determines the results (:func:`actlab.study.identity.study_identity`);
                default: ``study`` itself.

        Raises:
            ActlabError: the directory holds a different study (and not ``force``), a file
                that is not a store of this version, or a symbolic link where the store's files
                go (actlab writes only inside ``out_dir``).
        """
        out = Path(out_dir)
        path = out / FILENAME
        for name in (FILENAME, f"{FILENAME}-wal", f"{FILENAME}-shm", f"{FILENAME}-journal"):
            if (out / name).is_symlink():
                raise ActlabError(
                    f"{out / name} is a symbolic link; actlab writes only inside {out}"
                )
        if study is None and not path.is_file():
            raise ActlabError(f"{out} holds no study results (no {FILENAME})")
        if study is not None:
            text = canonical_json(dict(study))
            ident = text if identity is None else canonical_json(dict(identity))
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise ActlabError(f"cannot create output directory {out}: {e}") from None
        with integrity.explained(path):
            if study is not None and not path.exists():
                integrity.create_atomically(path, lambda c: _create(c, out, text, ident))
            conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            integrity.check_structure(conn)
            replaced = None
            if study is not None:
                with _transaction(conn):
                    integrity.verify(conn, path)  # never resume on top of changed results
                    replaced = _claim(conn, out, text, ident, force)
            store = cls(path, conn)
            store.replaced = replaced
            return store
        except (sqlite3.Error, OSError) as e:
            conn.close()
            raise integrity.explain(path, e) from None
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete_run(
        self,
        key: str,
        config: Mapping[str, Any],
        *,
        seed: int | None,
        metrics: Sequence[Mapping[str, Any]],
        status: str = "done",
        diverged_step: int | None = None,
        wall_s: float | None = None,
        diagnostics: Iterable[Sequence[Any] | Mapping[str, Any]] = (),
        error: str | None = None,
        replace: bool = False,
        curve: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Store one finished run -- its row, metrics and diagnostics -- in one transaction.

        Args:
            key: the run's key, normally :func:`run_key` of ``config``.
            config: the run's resolved configuration (JSON-able).
            seed: the run's seed.
            metrics: one mapping per epoch with any of ``train_loss, train_acc, test_loss,
                test_acc`` (floats; NaN is stored as NULL) and optionally ``epoch`` (default:
                the position in the list).
            status: ``"done"``, ``"diverged"`` or ``"failed"`` (with ``error``).
            diverged_step: the optimizer step at which a diverged run was frozen.
            wall_s: seconds the run took.
            diagnostics: ``(step, layer, metric, value)`` tuples or mappings with those keys;
                consumed inside the transaction, so a generator that raises stores nothing.
            replace: overwrite a stored run with the same key (a ``failed`` one is always
                replaced).
            curve: rows at step resolution (``step``, ``epoch``, ``seconds`` and metrics;
                ``MemberResult.curve``), stored in ``step_metrics`` and covered by the checksum.

        Raises:
            ActlabError: malformed input, or the run is already stored (and not ``replace``).
                Nothing is written then.
        """
        record = RunRows(key, config, seed, metrics, status, diverged_step, wall_s, diagnostics,
                         error, curve=curve)  # fmt: skip
        rows = record.rows()
        with integrity.explained(self.path), _unique(key), _transaction(self._conn) as conn:
            record.insert(conn, *rows, replace)

    def complete_runs(
        self, records: Sequence[Mapping[str, Any]], *, unit: str | None = None
    ) -> None:
        """Store several finished runs (each a mapping of :meth:`complete_run` 's arguments,
        ``key`` and ``config`` included) in **one** transaction, and delete the checkpoints of
        every unit holding one of them (``unit``: the finished unit's key, deleted even if it
        held none of them)."""
        prepared = []
        for r in records:
            record = RunRows(**r)
            prepared.append((record, record.rows()))
        keys = [record.key for record, _ in prepared]
        with integrity.explained(self.path), _unique(",".join(keys)):
            with _transaction(self._conn) as conn:
                for record, rows in prepared:
                    record.insert(conn, *rows, False)
                ckpt.drop(conn, keys)
                if unit is not None:
                    conn.execute("DELETE FROM checkpoints WHERE unit = ?", (unit,))
            with contextlib.suppress(sqlite3.Error):  # give the checkpoint's pages back
                self._conn.execute("PRAGMA incremental_vacuum")

    # -- checkpoints of units in training (actlab.study.checkpoints) ---------------------------

    def save_checkpoint(
        self,
        unit: str,
        runs: Sequence[str],
        epoch: int,
        batch: int,
        state: bytes,
        summary: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Replace ``unit`` 's checkpoint, in one transaction (``summary``: each run's latest
        metrics, see :func:`actlab.study.checkpoints.live`)."""
        with integrity.explained(self.path), _transaction(self._conn) as conn:
            ckpt.save(conn, unit, runs, epoch, batch, state, summary)

    def live(self) -> list[dict[str, Any]]:
        """The units in training, with their runs' latest metrics (no training state)."""
        with integrity.explained(self.path):
            return ckpt.live(self._conn)

    def checkpoint(self, unit: str) -> ckpt.Checkpoint | None:
        """``unit`` 's checkpoint, or ``None``. A damaged one is deleted and reported as a
        :class:`~actlab.study.integrity.StoreFileError` (the unit then starts over)."""
        with integrity.explained(self.path):
            found = ckpt.load(self._conn, unit)
            if isinstance(found, str):
                with _transaction(self._conn) as conn:
                    conn.execute("DELETE FROM checkpoints WHERE unit = ?", (unit,))
                raise integrity.StoreFileError(
                    f"{self.path}: the checkpoint of unit {unit} was damaged ({found}); it was "
                    f"deleted and the unit starts over"
                )
            return found

    def weights(self, key: str, *, final: bool = True) -> list[tuple[int, dict[str, Any]]]:
        """Run ``key`` 's stored weights as ``(step, state dict)`` pairs: its final parameters
        and buffers (one pair; none for a failed run or a store without weights), or with
        ``final=False`` its parameter snapshots along training, in step order."""
        query = "SELECT step, state, sha256 FROM weights WHERE run = ? AND final = ? ORDER BY step"
        with integrity.explained(self.path):
            if not integrity._has_table(self._conn, "weights"):
                return []
            rows = self._conn.execute(query, (key, int(final))).fetchall()
        out = []
        for step, blob, digest in rows:
            if hashlib.sha256(blob).hexdigest() != digest:
                raise integrity.StoreFileError(
                    f"{self.path}: the stored weights of run {key} at step {step} do not match "
                    f"their checksum; restore the file from a copy, or rerun the study"
                )
            out.append((step, ckpt.deserialize(bytes(blob))))
        return out

    def compact(self) -> None:
        """Give freed pages back to the file system and fold the write-ahead log into the file
        (after a study: the deleted checkpoints' pages)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA incremental_vacuum")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        """Bytes the store takes on disk (its file and write-ahead log)."""
        names = (self.path, self.path.with_name(self.path.name + "-wal"))
        return sum(p.stat().st_size for p in names if p.exists())

    def checkpointed_units(self) -> dict[str, int]:
        """Whole epochs each saved checkpoint holds, by unit key (units still training)."""
        with integrity.explained(self.path):
            return ckpt.epochs_done(self._conn)

    def add_diagnostics(self, key: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
        """Add diagnostics to a stored run, all in one transaction (all or nothing)."""
        with integrity.explained(self.path), _unique(key), _transaction(self._conn) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE key = ?", (key,)).fetchone() is None:
                raise ActlabError(f"no stored run {key}")
            conn.executemany(
                "INSERT INTO diagnostics VALUES (?, ?, ?, ?, ?)",
                (diagnostic_row(key, d) for d in rows),
            )

    def completed(self) -> set[str]:
        """Keys of all stored runs (done, diverged or failed)."""
        with integrity.explained(self.path):
            return {k for (k,) in self._conn.execute("SELECT key FROM runs")}

    def pending(self, keys: Iterable[str], *, retry_failed: bool = False) -> list[str]:
        """``keys`` (in order, without repeats) that still have to run."""
        query = "SELECT key FROM runs" + (" WHERE status != 'failed'" if retry_failed else "")
        with integrity.explained(self.path):
            done = {k for (k,) in self._conn.execute(query)}
        return [k for k in dict.fromkeys(keys) if k not in done]

    def runs(self, *, status: str | None = None) -> list[RunRecord]:
        """Stored runs in the order they finished (optionally only those with ``status``)."""
        query, args = "SELECT * FROM runs", ()
        if status is not None:
            query, args = query + " WHERE status = ?", (status,)
        with integrity.explained(self.path):
            rows = self._conn.execute(query + " ORDER BY rowid", args).fetchall()
            integrity.verify(self._conn, self.path, [r[0] for r in rows])
            return [RunRecord(r[0], json.loads(r[1]), *r[2:]) for r in rows]

    def metrics(self, key: str | None = None) -> list[dict[str, Any]]:
        """Per-epoch rows ``{"run", "epoch", "train_loss", ...}`` (NULL metrics are ``None``)."""
        with integrity.explained(self.path):
            integrity.verify(self._conn, self.path, None if key is None else [key])
        return self._select("metrics", "run, epoch", key)

    def step_metrics(self, key: str | None = None) -> list[dict[str, Any]]:
        """Rows at step resolution ``{"run", "step", "epoch", "seconds", "train_loss", ...}``
        in step order: every evaluation of the runs of a study with ``eval_every`` or a
        ``steps`` budget (``seconds``: training time by then, evaluations left out); none for
        other runs, or a store from before the table."""
        with integrity.explained(self.path):
            if not integrity._has_table(self._conn, "step_metrics"):
                return []
            integrity.verify(self._conn, self.path, None if key is None else [key])
        return self._select("step_metrics", "run, step", key)

    def diagnostics(
        self, key: str | None = None, *, metric: str | None = None
    ) -> list[dict[str, Any]]:
        """Diagnostic rows ``{"run", "step", "layer", "metric", "value"}``."""
        rows = self._select("diagnostics", "run, step, layer, metric", key)
        return [r for r in rows if metric is None or r["metric"] == metric]

    def unverified(self) -> tuple[str, ...]:
        """Keys of the stored runs that carry no checksum (written by an actlab without them);
        every other run is checked against its checksum (a mismatch raises)."""
        with integrity.explained(self.path):
            return integrity.verify(self._conn, self.path)

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM runs").fetchone()[0]

    def export_csv(self, directory: str | os.PathLike) -> dict[str, Path]:
        """Write ``runs.csv`` (config flattened to ``config.*`` columns), ``metrics.csv`` and
        ``diagnostics.csv`` into ``directory``; return their paths by table name."""
        from actlab.study.export import export_csv

        return export_csv(self, directory)

    def _select(self, table: str, order: str, key: str | None) -> list[dict[str, Any]]:
        where, args = ("WHERE run = ?", (key,)) if key is not None else ("", ())
        with integrity.explained(self.path):
            cursor = self._conn.execute(f"SELECT * FROM {table} {where} ORDER BY {order}", args)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row)) for row in cursor]


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (even KeyboardInterrupt)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT (full disk) may have rolled back already
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _unique(key: str) -> Iterator[None]:
    """A repeated epoch or diagnostic (already rolled back) is bad input, not a crash."""
    try:
        yield
    except sqlite3.IntegrityError as e:
        raise ActlabError(
            f"run {key} not stored: {e} (an epoch or diagnostic given twice?)"
        ) from None


def _create(conn: sqlite3.Connection, out: Path, text: str, identity: str) -> None:
    with _transaction(conn):
        _claim(conn, out, text, identity, force=False)


def _claim(
    conn: sqlite3.Connection, out: Path, text: str, identity: str, force: bool
) -> tuple[int, int] | None:
    """Create the schema and record the study, or check that the stored study is the same one
    (same identity) and record the new study text (its report settings may have changed)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    if meta and meta.get("schema") != str(SCHEMA_VERSION):
        raise ActlabError(
            f"{out / FILENAME} has store schema {meta.get('schema')}; this actlab writes "
            f"schema {SCHEMA_VERSION}; use another output directory"
        )
    stored = meta.get("identity")
    if stored is None and meta.get("study") is not None:  # a store from before identities
        stored = identity if meta["study"] == text else meta["study"]
    for table in ("metrics", "step_metrics"):
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name in METRICS:  # a store from before a metric existed: add its (empty) column
            if name not in columns:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} REAL")
    replaced = claim(conn, out, identity, stored, force)
    if replaced is not None:  # another study's units: their saved states do not apply
        conn.execute("DELETE FROM checkpoints")
    digest = hashlib.sha256(text.encode()).hexdigest()
    values = {
        "schema": str(SCHEMA_VERSION),
        "study": text,
        "study_hash": digest,
        "identity": identity,
    }
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())
    return replaced
