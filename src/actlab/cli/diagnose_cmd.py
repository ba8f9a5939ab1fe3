"""``actlab diagnose``: why a network does or does not learn -- per-layer health and findings."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from actlab.cli._app import app
from actlab.cli._common import friendly
from actlab.cli.compare_cmd import _bar, _batch, _lr, _names, _seeds, base_study, override
from actlab.errors import ActlabError
from actlab.study.store import Store


def _show(store: Store, console: Console) -> None:
    from actlab.report.diagnosis import diagnose_store, render
    from actlab.report.study_report import study_summaries

    for diagnosis in diagnose_store(store, study_summaries(store)):
        console.print(render(diagnosis))


@app.command("diagnose")
@friendly
def diagnose_command(
    study_dir: Path | None = typer.Argument(
        None, help="A study directory recorded with 'actlab compare --diagnostics'."
    ),
    config: Path | None = typer.Option(None, "--config", "-c", help="A TOML study file."),
    preset: str | None = typer.Option(
        None, "--preset", "-p", help="A named study ('actlab list presets'); default: quickstart."
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset ('actlab list datasets')."),
    model: str | None = typer.Option(None, "--model", help="Architecture: mlp, cnn1d, cnn2d."),
    depth: int | None = typer.Option(None, "--depth", help="Hidden layers / conv blocks."),
    width: int | None = typer.Option(None, "--width", help="Units / channels per layer."),
    activations: str | None = typer.Option(None, "--activations", "-a", help="The activation."),
    optimizers: str | None = typer.Option(None, "--optimizers", "-o", help="The optimizer."),
    lr: str | None = typer.Option(None, "--lr", help="The learning rate."),
    inits: str | None = typer.Option(None, "--inits", help="The initializer."),
    losses: str | None = typer.Option(None, "--losses", help="The loss."),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Seeds (default 1); the first seed is diagnosed."
    ),
    epochs: int | None = typer.Option(None, "--epochs", help="Passes over the training set."),
    batch_size: str | None = typer.Option(
        None, "--batch-size", help="Examples per step: N, 1 (SGD) or 'full' (gradient descent)."
    ),
    device: str = typer.Option("cpu", "--device", help="Where to train: cpu, cuda, cuda:1, mps."),
    out: Path | None = typer.Option(
        None, "--out", help="Keep the run's store here [default: a temporary directory]."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace a store in OUT that holds a different study."
    ),
) -> None:
    """Diagnose a network: per-layer activation statistics, dead and saturated units, gradient
    and update sizes, the findings they point to (vanishing or exploding gradients, dying ReLU,
    saturation, learning rate) with what to try, and theory's predicted gradient ratio.

    Either STUDY_DIR (a study run with 'actlab compare --diagnostics': each variant's first
    seed), or flags as for 'actlab compare' naming ONE configuration, which is trained with
    diagnostics first. Example: actlab diagnose --dataset mnist1d --depth 10 --activations
    sigmoid --inits xavier_uniform --optimizers sgd --epochs 5
    """
    flags = dict(config=config, preset=preset, dataset=dataset, model=model, depth=depth)
    flags |= dict(width=width, activations=activations, optimizers=optimizers, lr=lr)
    flags |= dict(inits=inits, losses=losses, seeds=seeds, epochs=epochs, batch_size=batch_size)
    flags |= dict(out=out)
    console = Console(width=140)
    if study_dir is not None:
        given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None]
        if given:
            raise ActlabError(f"give a study directory or training flags, not both ({given[0]})")
        if not study_dir.is_dir():
            raise ActlabError(f"{study_dir} does not exist or is not a directory")
        with Store.open(study_dir) as store:
            _show(store, console)
        return

    from actlab.study.runner import run_study

    study = base_study(config, preset)
    changes: dict[str, Any] = {
        "name": "diagnose",
        "dataset": dataset,
        "model": model,
        "depth": depth,
        "width": width,
        "activations": _names(activations),
        "optimizers": _names(optimizers),
        "inits": _names(inits),
        "losses": _names(losses),
        "seeds": _seeds(seeds) if seeds is not None else 1,
        "epochs": epochs,
        "batch_size": _batch(batch_size),
    }
    changes = {k: v for k, v in changes.items() if v is not None} | _lr(lr) | {"diagnostics": True}
    if dataset is not None and dataset != study.dataset:
        changes.setdefault("dataset_params", {})
    study = override(study, changes)
    variants = {r.label(study.varying()) for r in study.runs()}
    if len(variants) > 1:
        raise ActlabError(
            f"diagnose trains one configuration, these flags make {len(variants)} "
            f"({', '.join(sorted(variants)[:3])}, ...): name one activation, optimizer, lr, init "
            "and loss, or run 'actlab compare --diagnostics' and then 'actlab diagnose OUT'"
        )
    with contextlib.ExitStack() as stack:
        where = out if out is not None else stack.enter_context(tempfile.TemporaryDirectory())
        store = stack.enter_context(
            run_study(study, where, device=device, force=force, progress=_bar(console))
        )
        _show(store, console)
