"""``actlab watch DIR``: follow a running study from another terminal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.errors import ActlabError


def _render(snap: dict[str, Any]) -> Any:
    """A snapshot as rich renderables: one line, then a table per unit in training."""
    from rich.console import Group
    from rich.text import Text

    from actlab.cli._live import table

    total = "?" if snap["total"] is None else snap["total"]
    s = snap["statuses"]
    line = (
        f"{snap['study']}: {snap['stored']}/{total} runs stored ({s['done']} done, "
        f"{s['diverged']} diverged, {s['failed']} failed); {len(snap['units'])} unit(s) in training"
    )
    if snap["complete"]:
        line += "; the study is complete"
    parts: list[Any] = [Text(line)]
    for u in snap["units"]:
        labels = {r["run"]: r["label"] for r in u["runs"]}
        epochs = f"epoch {u['epoch'] if u['epoch'] is not None else '-'}"
        epochs += f"/{u['epochs']}" if u["epochs"] is not None else ""
        parts.append(table(u["runs"], labels, title=f"unit {u['unit'][:8]}: {epochs}"))
    return Group(*parts)


@app.command("watch")
@friendly
def watch_command(
    study_dir: Path = typer.Argument(..., help="A study's output directory (holds study.db)."),
    once: bool = typer.Option(False, "--once", help="Print one snapshot and exit."),
    interval: float = typer.Option(1.0, "--interval", help="Seconds between reads."),
    as_json: bool = typer.Option(
        False, "--json", help="With --once: print the snapshot as one JSON document."
    ),
) -> None:
    """Follow a running study (e.g. 'actlab compare' in another terminal): runs stored so far,
    and the units in training with each run's epoch, train loss, test accuracy and whether it
    diverged. Reads the store every INTERVAL seconds without writing; ends when the study is
    complete, or on Ctrl-C. Example: actlab watch actlab-runs/quickstart
    """
    if not interval > 0:
        raise ActlabError(f"--interval {interval} must be positive (seconds)")
    if as_json and not once:
        raise ActlabError("--json prints one snapshot: give it with --once")
    if not study_dir.is_dir():
        what = "is not a directory" if study_dir.exists() else "does not exist"
        raise ActlabError(f"{study_dir} {what}")
    from actlab.study.store import Store
    from actlab.study.watch import expected_runs, snapshot

    with Store.open(study_dir) as store:
        keys, labels = expected_runs(store.study)
        snap = snapshot(store, keys, labels)
    if as_json:
        from actlab.cli._outputs import emit

        emit(snap)
        return
    from actlab.cli._common import console as make_console

    console = make_console()
    if once or snap["complete"]:
        console.print(_render(snap))
        return
    try:
        if console.is_terminal:
            from rich.live import Live

            with Live(_render(snap), console=console, auto_refresh=False) as live:
                while not snap["complete"]:
                    time.sleep(interval)
                    with Store.open(study_dir) as store:
                        snap = snapshot(store, keys, labels)
                    live.update(_render(snap), refresh=True)
        else:
            console.print(_render(snap))
            while not snap["complete"]:
                time.sleep(interval)
                with Store.open(study_dir) as store:
                    new = snapshot(store, keys, labels)
                if _changed(new, snap):
                    console.print(_render(new))
                snap = new
    except KeyboardInterrupt:
        typer.echo("stopped watching (the study goes on)", err=True)


def _changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether a snapshot shows progress (plain output prints only then)."""
    key = lambda s: (s["stored"], s["complete"], [(u["unit"], u["epoch"]) for u in s["units"]])  # noqa: E731
    return key(new) != key(old)
