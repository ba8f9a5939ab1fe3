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
    depth: str | None = flags.DEPTH_LIST,
    width: str | None = flags.WIDTH_LIST,
    activations: str | None = flags.ACTIVATIONS,
    optimizers: str | None = flags.OPTIMIZERS,
    lr: str | None = flags.LR,
    inits: str | None = flags.INITS,
    losses: str | None = flags.LOSSES,
    seeds: str | None = flags.SEEDS,
    epochs: str | None = flags.EPOCHS_LIST,
    batch_size: str | None = flags.BATCH_SIZE,
    weight_decay: str | None = flags.WEIGHT_DECAY_LIST,
    label_smoothing: str | None = flags.LABEL_SMOOTHING_LIST,
    noise: str | None = flags.NOISE_LIST,
    train_size: str | None = flags.TRAIN_SIZE_LIST,
    steps: str | None = flags.STEPS_LIST,
    eval_every: int | None = flags.EVAL_EVERY,
    target: str | None = flags.TARGET,
    name: str | None = typer.Option(None, "--name", help="The study's name."),
    device: str = flags.DEVICE,
    threads: int | None = flags.THREADS,
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output directory (default: actlab-runs/NAME for a preset or study file as it is, "
        "or with --name; actlab-runs/NAME-HASH when flags change it, HASH a short hash of the "
        "runs' settings, so different ad-hoc studies never share a folder).",
    ),
    force: bool = flags.FORCE,
    wait: bool = flags.WAIT,
    max_members: int = typer.Option(
        64, "--max-members", help="Most runs trained at once in one stacked model."
    ),
    tune_lr: str | None = typer.Option(
        None,
        "--tune-lr",
        help="Tune each variant's learning rate on validation: 'default' (13 rates, 1e-4 to 1) "
        "or a list (0.001,0.01,0.1); the chosen rate is then run over all seeds. "
        "Replaces --lr.",
    ),
    tune_seeds: int | None = typer.Option(
        None, "--tune-seeds", help="Seeds the tuning runs use (the first N of --seeds; 1)."
    ),
    validation: float | None = typer.Option(
        None,
        "--validation",
        help="Hold out this share of the training set (0-0.5, seeded) as a validation split: "
        "every epoch also records val loss/accuracy, and the report ranks on validation.",
    ),
    snapshots: int | None = typer.Option(
        None,
        "--snapshots",
        help="Also store each run's weights at N+1 evenly spaced steps along training, for "
        "'actlab landscape OUT --kind path' (final weights are always stored).",
    ),
    backend: str = flags.BACKEND,
    address: str | None = flags.ADDRESS,
    gpus_per_unit: float = flags.GPUS_PER_UNIT,
    diagnostics: bool = typer.Option(
        False,
        "--diagnostics",
        help="Record per-layer diagnostics (gradient flow, dead and saturated units) each epoch; "
        "the report gains their figures, and 'actlab diagnose OUT' reads them.",
    ),
    tensorboard: Path | None = typer.Option(
        None,
        "--tensorboard",
        help="Also write TensorBoard event files into DIR as runs are stored: train/test loss "
        "and accuracy per epoch, one folder per run (with --diagnostics also their scalars and "
        "weight and gradient histograms per layer); "
        "needs pip install 'actlab[tensorboard]'.",
    ),
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print one JSON document (ranking, runs, files) on stdout instead of tables; "
        "progress goes to stderr.",
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

    flags.use_threads(threads)
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
        weight_decay=weight_decay,
        label_smoothing=label_smoothing,
        noise=noise,
        train_size=train_size,
        steps=steps,
        eval_every=eval_every,
        **flags.target(target),
        diagnostics=True if diagnostics else None,
        snapshots=snapshots,
        validation=validation,
        tune_lr=flags.tune_grid(tune_lr),
        tune_seeds=tune_seeds,
    )
    from actlab.cli._outputs import Watchers, default_out

    out = Path(out) if out is not None else default_out(study, config, preset, dataset, name)
    console = make_console(stderr=as_json)
    watchers = Watchers(study, out, console, tensorboard)
    bar = watchers.progress
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
            on_epoch=watchers.on_epoch,
            backend=backend,
            address=address,
            gpus_per_unit=gpus_per_unit,
        )
    except KeyboardInterrupt:
        raise flags.interrupted(out) from None
    finally:
        watchers.close()
    with store:
        watchers.sync(store)
        failed = store.runs(status="failed")
        if failed and len(failed) == len(store):
            typer.echo(
                f"error: all {len(failed)} runs of the study failed ({failed[0].error}); "
                f"nothing to report (the failures are stored in {store.path})",
                err=True,
            )
            raise typer.Exit(1)
        if as_json:
            from actlab.cli._outputs import compare_document, emit

            emit(compare_document(store, out))
            return
        report_study(store, out, console)
        kept = f", {study.snapshots + 1} weight snapshots per run" if study.snapshots else ""
        console.print(f"store: {store.path} ({store.size() / 2**20:.1f} MiB{kept})")
