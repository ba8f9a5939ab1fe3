"""``actlab compare``: train a grid of variants over seeds and rank them, with a report."""

from __future__ import annotations

from pathlib import Path

import typer

from actlab.cli import _study_flags as flags
from actlab.cli._app import app
from actlab.cli._common import console as make_console
from actlab.cli._common import friendly


@app.command("compare")
@friendly
def compare_command(
    config: Path | None = flags.CONFIG,
    preset: str | None = flags.PRESET,
    dataset: str | None = flags.DATASET,
    target_column: str | None = flags.TARGET_COLUMN,
    task: str | None = flags.TASK,
    model: str | None = flags.MODEL,
    depth: int | None = flags.DEPTH,
    width: int | None = flags.WIDTH,
    activations: str | None = flags.ACTIVATIONS,
    optimizers: str | None = flags.OPTIMIZERS,
    lr: str | None = flags.LR,
    inits: str | None = flags.INITS,
    losses: str | None = flags.LOSSES,
    seeds: str | None = flags.SEEDS,
    epochs: int | None = flags.EPOCHS,
    batch_size: str | None = flags.BATCH_SIZE,
    target: float | None = typer.Option(
        None, "--target", help="Test accuracy (0-1) for the 'epochs to target' column."
    ),
    name: str | None = typer.Option(None, "--name", help="The study's name."),
    device: str = flags.DEVICE,
    out: Path | None = typer.Option(
        None, "--out", help="Output directory (default: actlab-runs/NAME)."
    ),
    force: bool = flags.FORCE,
    wait: bool = flags.WAIT,
    max_members: int = typer.Option(
        64, "--max-members", help="Most runs trained at once in one stacked model."
    ),
    snapshots: int | None = typer.Option(
        None,
        "--snapshots",
        help="Also store each run's weights at N+1 evenly spaced steps along training, for "
        "'actlab landscape OUT --kind path' (final weights are always stored).",
    ),
    diagnostics: bool = typer.Option(
        False,
        "--diagnostics",
        help="Record per-layer diagnostics (gradient flow, dead and saturated units) each epoch; "
        "the report gains their figures, and 'actlab diagnose OUT' reads them.",
    ),
) -> None:
    """Train every combination of the given variants over several seeds, all at once, and rank
    them by final test accuracy (mean ± 95% CI), with OUT/report.html and PNGs.

    The study is --config FILE, --preset NAME or the 'quickstart' preset; flags replace its
    fields. Rerunning a killed or interrupted (Ctrl-C) study with the same command resumes it:
    finished runs are kept and units in training continue from their last epoch.
    """
    from actlab.report.study_report import report_study
    from actlab.study.runner import run_study

    study = flags.study_from_flags(
        config,
        preset,
        name=name,
        dataset=dataset,
        target_column=target_column,
        task=task,
        model=model,
        depth=depth,
        width=width,
        activations=activations,
        optimizers=optimizers,
        lr=lr,
        inits=inits,
        losses=losses,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        target=target,
        diagnostics=True if diagnostics else None,
        snapshots=snapshots,
    )
    out = Path(out) if out is not None else Path("actlab-runs") / study.name
    console = make_console()
    bar = flags.progress_bar(console)
    try:
        store = run_study(
            study,
            out,
            device=device,
            force=force,
            max_members=max_members,
            progress=bar,
            wait=wait,
            notify=console.print,
        )
    except KeyboardInterrupt:
        raise flags.interrupted(out) from None
    with store:
        failed = store.runs(status="failed")
        if failed and len(failed) == len(store):
            typer.echo(
                f"error: all {len(failed)} runs of the study failed ({failed[0].error}); "
                f"nothing to report (the failures are stored in {store.path})",
                err=True,
            )
            raise typer.Exit(1)
        report_study(store, out, console)
        kept = f", {study.snapshots + 1} weight snapshots per run" if study.snapshots else ""
        console.print(f"store: {store.path} ({store.size() / 2**20:.1f} MiB{kept})")
