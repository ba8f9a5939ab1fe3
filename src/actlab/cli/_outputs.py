"""What ``actlab compare`` shows and writes while a study runs, besides the store: the live
table under the progress bar (a terminal only), TensorBoard event files (``--tensorboard``), and
its one JSON document (``--json``) at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab.cli import _study_flags as flags

if TYPE_CHECKING:
    from rich.console import Console

    from actlab.report.tensorboard import TensorBoardRuns
    from actlab.study.spec import Study
    from actlab.study.store import Store


class Watchers:
    """The progress factory and ``on_epoch`` callback to give ``run_study``, and the
    TensorBoard writer (``None`` without ``--tensorboard``), for ``study`` run into ``out``.
    ``--tensorboard`` without the ``tensorboard`` package is refused here, before training."""

    def __init__(
        self, study: Study, out: Path, console: Console, tensorboard: Path | None = None
    ) -> None:
        from actlab.cli._live import LiveRows

        self.out = Path(out)
        runs = study.runs()
        axes = study.varying()
        labels = {r.key: r.label(axes) for r in runs}
        self.board: TensorBoardRuns | None = None
        if tensorboard is not None:
            from actlab.report.tensorboard import TensorBoardRuns

            seeded = {r.key: (labels[r.key], r.seed) for r in runs}
            self.board = TensorBoardRuns(tensorboard, seeded)
        self.live = LiveRows({r.key: f"{labels[r.key]} · seed {r.seed}" for r in runs})
        self.on_epoch: Callable[[list[dict[str, Any]]], None] | None = (
            self.live.update if console.is_terminal else None
        )
        self.progress = self._tensorboard_after(flags.progress_bar(console, self.live))
        self._reader: Store | None = None

    def _tensorboard_after(self, factory: Any) -> Any:
        """``factory`` whose ``advance`` also writes newly stored runs' event files (it is
        called after each checkpoint and after each unit's runs are stored)."""
        if self.board is None:
            return factory

        @contextmanager
        def wrapped(work: Any) -> Iterator[Callable[[int], None]]:
            with factory(work) as advance:

                def advance_and_write(n: int) -> None:
                    advance(n)
                    self.sync()

                yield advance_and_write

        return wrapped

    def sync(self, store: Store | None = None) -> None:
        """Write the event files of the runs stored since the last call (``store``: an open
        store of ``out``; default: one opened for reading on first use)."""
        if self.board is None:
            return
        if store is None:
            from actlab.study.store import Store

            if self._reader is None:
                self._reader = Store.open(self.out)
            store = self._reader
        self.board.sync(store)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def compare_document(store: Store, out: Path) -> dict[str, Any]:
    """``actlab compare --json``: the study, where it is stored, the ranking and the files."""
    from actlab.report.study_report import render, study_summaries
    from actlab.study.export import tables

    summaries = study_summaries(store)
    paths = render(store, out, summaries=summaries)
    runs = store.runs()
    return {
        "study": store.study.get("name"),
        "out": out,
        "store": store.path,
        "runs": len(runs),
        "statuses": {s: sum(r.status == s for r in runs) for s in ("done", "diverged", "failed")},
        "ranking": tables(store)["ranking"][0],
        "files": paths,
    }


def report_document(store: Store, out: Path, export: str | None) -> dict[str, Any]:
    """``actlab report --json``: the ranking, the stored runs, the files written."""
    from actlab.report.study_report import render, study_summaries
    from actlab.study.export import export as write_tables
    from actlab.study.export import tables

    paths = render(store, out, summaries=study_summaries(store))
    exported = {} if export is None else write_tables(store, out, export)
    everything = tables(store)
    return {
        "study": store.study.get("name"),
        "out": out,
        "store": store.path,
        "ranking": everything["ranking"][0],
        "runs": everything["runs"][0],
        "unverified": list(store.unverified()),
        "files": paths,
        "exported": exported,
    }


def emit(document: Any) -> None:
    """Print ``document`` as one JSON document on stdout (NaN and infinities as ``null``)."""
    import json

    import typer

    from actlab._jsonable import jsonable

    typer.echo(json.dumps(jsonable(document), indent=2, allow_nan=False))


def default_out(study: Study, config: Path | None, preset: str | None, dataset: str | None,
                name: str | None) -> Path:  # fmt: skip
    """``--out`` 's default (:func:`actlab.study.outdir.default_out`): as named for a preset or
    study file as it is, or with ``--name``; with a hash of its settings for flags on top."""
    from actlab.study.outdir import default_out

    as_named = name is not None or study == flags.base_study(config, preset, dataset)
    return default_out(study, as_named=as_named)
