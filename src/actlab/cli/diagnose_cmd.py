"""``actlab diagnose``: why a network does or does not learn -- per-layer health and findings."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from actlab.cli import _study_flags as flags
from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.errors import ActlabError

if TYPE_CHECKING:
    from rich.console import Console

    from actlab.study.store import Store


def _show(store: Store, console: Console, as_json: bool = False) -> None:
    from actlab.report.diagnosis import diagnose_store, render
    from actlab.report.study_report import study_summaries

    diagnoses = diagnose_store(store, study_summaries(store))
    if as_json:
        from actlab.cli._outputs import emit

        emit({"study": store.study.get("name"), "store": store.path, "diagnoses": diagnoses})
        return
    for diagnosis in diagnoses:
        console.print(render(diagnosis))


@app.command("diagnose")
@friendly
def diagnose_command(
    study_dir: Path | None = typer.Argument(
        None, help="A study directory recorded with 'actlab compare --diagnostics'."
    ),
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
    seeds: str | None = typer.Option(
        None, "--seeds", help="Seeds (default 1); the first seed is diagnosed."
    ),
    epochs: int | None = flags.EPOCHS,
    batch_size: str | None = flags.BATCH_SIZE,
    device: str = flags.DEVICE,
    threads: int | None = flags.THREADS,
    out: Path | None = typer.Option(
        None, "--out", help="Keep the run's store here (default: a temporary directory)."
    ),
    force: bool = flags.FORCE,
    wait: bool = flags.WAIT,
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print the diagnoses (health tables, findings, ratios) as one JSON document; "
        "progress goes to stderr.",
    ),
) -> None:
    """Diagnose a network: per-layer activation statistics, dead, saturated and inactive units,
    gradient and update sizes, the findings they point to (vanishing or exploding gradients,
    gradients far below a critically initialized network's, dying ReLU, inactive units,
    saturation, a loss stuck at chance, learning rate, a decaying effective learning rate) with
    what to try, and theory's predicted gradient ratio.

    Either STUDY_DIR (a study run with 'actlab compare --diagnostics': each variant's first
    seed), or flags as for 'actlab compare' naming ONE configuration, which is trained with
    diagnostics first. Example: actlab diagnose --dataset mnist1d --depth 10 --activations
    sigmoid --inits xavier_uniform --optimizers sgd --epochs 5
    """
    from rich.console import Console

    from actlab.study.store import Store

    given = dict(config=config, preset=preset, dataset=dataset, model=model, depth=depth)
    given |= dict(width=width, activations=activations, optimizers=optimizers, lr=lr)
    given |= dict(inits=inits, losses=losses, seeds=seeds, epochs=epochs, batch_size=batch_size)
    given |= dict(out=out, target_column=target_column, task=task)
    console = Console(width=140, stderr=as_json)
    if study_dir is not None:
        named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
        if named:
            raise ActlabError(f"give a study directory or training flags, not both ({named[0]})")
        if not study_dir.is_dir():
            raise ActlabError(f"{study_dir} does not exist or is not a directory")
        with Store.open(study_dir) as store:
            _show(store, console, as_json)
        return

    from actlab.study.runner import run_study

    flags.use_threads(threads)
    study = flags.study_from_flags(
        config,
        preset,
        default_name="diagnose",
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
        seeds=seeds or "1",
        epochs=epochs,
        batch_size=batch_size,
        diagnostics=True,
    )
    variants = {r.label(study.varying()) for r in study.runs()}
    if len(variants) > 1:
        raise ActlabError(
            f"diagnose trains one configuration, these flags make {len(variants)} "
            f"({', '.join(sorted(variants)[:3])}, ...): name one activation, optimizer, lr, init "
            "and loss, or run 'actlab compare --diagnostics' and then 'actlab diagnose OUT'"
        )
    with contextlib.ExitStack() as stack:
        where = out if out is not None else stack.enter_context(tempfile.TemporaryDirectory())
        try:
            store = run_study(
                study,
                where,
                device=device,
                force=force,
                progress=flags.progress_bar(console),
                wait=wait,
                notify=console.print,
            )
        except KeyboardInterrupt:
            raise flags.interrupted(where) from None
        store = stack.enter_context(store)
        _show(store, console, as_json)
