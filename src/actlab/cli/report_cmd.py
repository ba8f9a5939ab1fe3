"""``actlab report``: re-render a stored study's report and print its ranking."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.errors import ActlabError

EXPORTS = ("csv", "json", "parquet")  # actlab.study.export.FORMATS, without importing torch


@app.command("report")
@friendly
def report_command(
    out: Path = typer.Argument(..., help="A study's output directory (holds study.db)."),
    export: str | None = typer.Option(
        None,
        "--export",
        help="Also write every table (runs, metrics per epoch, ranking, diagnostics) into OUT as "
        "csv, json or parquet (parquet: pip install 'actlab[parquet]').",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document (ranking, stored runs, files) instead."
    ),
) -> None:
    """Rank a stored study's variants (mean ± 95% CI over seeds) and write report.html with its
    figures into OUT. Example: actlab report out/relu-vs-gelu --export csv
    """
    if export is not None and export.lower() not in EXPORTS:
        raise ActlabError(f"--export {export!r}: choose one of {', '.join(EXPORTS)}")
    export = None if export is None else export.lower()
    if not out.is_dir():
        raise ActlabError(f"{out} {'is not a directory' if out.exists() else 'does not exist'}")
    from rich.console import Console

    from actlab.report.study_report import report_study
    from actlab.study.store import Store

    if export is not None:
        from actlab.study.export import check_format

        check_format(export)  # a missing extra (parquet), before anything is written
    if as_json:
        from actlab.cli._outputs import emit, report_document

        with Store.open(out) as store:
            emit(report_document(store, out, export))
        return
    console = Console(width=140)
    with Store.open(out) as store:
        report_study(store, out, console)
        unverified = store.unverified()
        if unverified:
            console.print(
                f"note: {len(unverified)} of {len(store)} stored runs carry no checksum (stored by "
                "an older actlab): their numbers are unverified",
                markup=False,
                highlight=False,
            )
        if export is not None:
            from actlab.study.export import export as write_tables

            for path in write_tables(store, out, export).values():
                console.print(f"wrote {path}", markup=False, highlight=False)
