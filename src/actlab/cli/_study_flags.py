"""The study flags shared by ``actlab compare`` and ``actlab diagnose``: their typer options,
their parsing into a :class:`~actlab.study.Study`, and the progress bar of a running study."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from actlab.errors import ActlabError, ParameterError

if TYPE_CHECKING:
    from rich.console import Console

    from actlab.study.spec import Study

CONFIG = typer.Option(None, "--config", "-c", help="A TOML study file (see examples/).")
PRESET = typer.Option(
    None, "--preset", "-p", help="A named study ('actlab list presets'); default: quickstart."
)
DATASET = typer.Option(None, "--dataset", help="Dataset ('actlab list datasets').")
MODEL = typer.Option(None, "--model", help="Architecture: mlp, cnn1d, cnn2d.")
DEPTH = typer.Option(None, "--depth", help="Hidden layers / conv blocks.")
WIDTH = typer.Option(None, "--width", help="Units / channels per layer.")
ACTIVATIONS = typer.Option(None, "--activations", "-a", help="Comma-separated activations.")
OPTIMIZERS = typer.Option(None, "--optimizers", "-o", help="Comma-separated optimizers.")
LR = typer.Option(
    None,
    "--lr",
    help="Learning rates: values crossed with every optimizer (0.01,0.1), or one per optimizer "
    "(sgd=0.1,adam=0.003).",
)
INITS = typer.Option(None, "--inits", help="Comma-separated initializers.")
LOSSES = typer.Option(None, "--losses", help="Comma-separated losses.")
SEEDS = typer.Option(
    None, "--seeds", help="Number of seeds (3 = seeds 0,1,2) or a comma list (0,4,7)."
)
EPOCHS = typer.Option(None, "--epochs", help="Passes over the training set.")
BATCH_SIZE = typer.Option(
    None, "--batch-size", help="Examples per step: N, 1 (SGD) or 'full' (gradient descent)."
)
DEVICE = typer.Option("cpu", "--device", help="Where to train: cpu, cuda, cuda:1, mps.")
FORCE = typer.Option(False, "--force", help="Replace a store in OUT that holds a different study.")

DEFAULT_PRESET = "quickstart"
LISTS = {
    "activations": "activation_params",
    "optimizers": "optimizer_params",
    "inits": "init_params",
    "losses": "loss_params",
}


def _names(text: str | None, flag: str) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise ActlabError(f"{flag} {text!r} names nothing; give comma-separated names")
    return names


def _number(text: str, what: str, kind: type = float) -> Any:
    try:
        return kind(text)
    except ValueError:
        pass
    if kind is int:  # 1e3 is a number; the study says whether it is a whole one in range
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            return int(value) if value.is_integer() else value
    raise ParameterError(f"{what} {text!r} is not a number")


def _lr(text: str | None) -> dict[str, Any]:
    """``0.01,0.1`` (crossed with every optimizer) or ``sgd=0.1,adam=0.003`` (per optimizer)."""
    if text is None:
        return {}
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ActlabError(f"--lr {text!r} gives no learning rate")
    if all("=" in t for t in items):
        pairs = [t.split("=", 1) for t in items]
        if any(not k.strip() or not v.strip() for k, v in pairs):
            raise ActlabError(f"--lr {text!r}: each NAME=VALUE needs a name and a value")
        return {"lr": None, "lrs": {k.strip(): _number(v, "--lr", float) for k, v in pairs}}
    if any("=" in t for t in items):
        raise ActlabError(f"--lr {text!r}: give either values (0.01,0.1) or NAME=VALUE pairs")
    return {"lr": [_number(t, "--lr") for t in items], "lrs": {}}


def _seeds(text: str | None) -> Any:
    if text is None:
        return None
    if "," not in text:
        return _number(text, "--seeds", int)
    return [_number(t, "--seeds", int) for t in text.split(",") if t.strip()]


def _batch(text: str | None) -> Any:
    if text is None or text.strip().lower() == "full":
        return None if text is None else "full"
    return _number(text, "--batch-size", int)


def base_study(config: Path | None, preset: str | None, dataset: str | None = None) -> Study:
    """The study flags start from: ``--config``, ``--preset``, or the recipe for ``dataset``
    (the quickstart preset, or the preset declaring that dataset: ``toy-2d`` for the 2-D sets)."""
    from actlab.study.presets import PRESETS, recipe_for
    from actlab.study.spec import load_study

    if config is not None and preset is not None:
        raise ActlabError("give --config or --preset, not both")
    if config is not None:
        return load_study(config)
    if preset is None and dataset is not None:
        return recipe_for(dataset, DEFAULT_PRESET).study
    return PRESETS.get(preset or DEFAULT_PRESET).study


def override(study: Study, changes: dict[str, Any]) -> Study:
    """``study`` with the given fields replaced. When a list is replaced, the per-name settings
    that ``study`` held for names no longer in it (``lrs`` of a dropped optimizer,
    ``activation_params`` of a dropped activation) are dropped; names are compared as their
    catalogs resolve them (``-o gd`` keeps the settings of ``sgd``). Per-name settings in
    ``changes`` are never dropped: one for a name not in the grid is an error (from Study)."""
    from actlab.study.spec import Study

    d = study.to_dict()
    d.update(changes)
    for names, params in (*LISTS.items(), ("optimizers", "lrs")):
        if names in changes and params not in changes and isinstance(d.get(params), dict):
            listed = {_canonical(names, n) for n in changes[names]}
            d[params] = {k: v for k, v in d[params].items() if _canonical(names, k) in listed}
    return Study.from_dict(d)


def _canonical(list_key: str, name: str) -> str:
    """``name`` as the catalog of ``list_key`` resolves it (as given if unknown: Study says so)."""
    from actlab.activations import ACTIVATIONS
    from actlab.init import INITIALIZERS
    from actlab.losses import LOSSES
    from actlab.optim import OPTIMIZERS

    registry = {
        "activations": ACTIVATIONS,
        "optimizers": OPTIMIZERS,
        "inits": INITIALIZERS,
        "losses": LOSSES,
    }[list_key]
    try:
        return registry.canonical(name)
    except ActlabError:
        return name


def progress_bar(console: Console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def factory(work) -> Iterator[Any]:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            MofNCompleteColumn(),
            TextColumn("runs ·"),
            TimeElapsedColumn(),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
        )
        study = work.study
        if work.replaced is not None:
            kept, dropped = work.replaced
            console.print(
                f"--force: {kept} stored run(s) kept (this study still contains them), "
                f"{dropped} discarded"
            )
        console.print(
            f"[bold]{study.name}[/]: {len(work.runs)} runs ({_shape(study)}), "
            f"{work.pending} to train, {len(work.units)} stacked unit(s)"
        )
        with Progress(*columns, console=console, transient=False) as bar:
            runs = bar.add_task(f"{work.study.name}: training", total=work.pending)
            steps = bar.add_task("steps", total=work.member_steps, visible=False)
            done = [0.0]
            per_run = work.member_steps / max(work.pending, 1)

            def advance(n: int) -> None:
                bar.advance(steps, n)
                done[0] += n
                bar.update(runs, completed=min(work.pending, done[0] / per_run))

            yield advance

    return factory


def study_from_flags(
    config: Path | None,
    preset: str | None,
    *,
    lr: str | None = None,
    seeds: str | None = None,
    batch_size: str | None = None,
    activations: str | None = None,
    optimizers: str | None = None,
    inits: str | None = None,
    losses: str | None = None,
    default_name: str = "compare",
    **fields: Any,
) -> Study:
    """The study the flags name: ``--config``, ``--preset`` or the recipe of ``--dataset``
    (:func:`base_study`; the quickstart by default), with every flag given replacing its field
    (``fields``: the plain ones -- dataset, model, depth, width, epochs, target, name,
    diagnostics -- ``None`` where not given). Flags on top of a default recipe make a new study
    named ``default_name``; a new dataset drops the preset's ``dataset_params`` and target."""
    study = base_study(config, preset, fields.get("dataset"))
    changes: dict[str, Any] = {
        **fields,
        "activations": _names(activations, "--activations"),
        "optimizers": _names(optimizers, "--optimizers"),
        "inits": _names(inits, "--inits"),
        "losses": _names(losses, "--losses"),
        "seeds": _seeds(seeds),
        "batch_size": _batch(batch_size),
    }
    changes = {k: v for k, v in changes.items() if v is not None} | _lr(lr)
    if "dataset" in changes and changes["dataset"] != study.dataset:
        changes.setdefault("dataset_params", {})
        changes.setdefault("target", None)  # the preset's target was for its dataset
    if changes and "name" not in changes and config is None and preset is None:
        changes["name"] = default_name
    return override(study, changes) if changes else study


def _shape(study: Study) -> str:
    sizes = {
        "activations": len(study.activations),
        "optimizers": len(study.optimizers),
        "learning rates": len(study.lr or ()),
        "inits": len(study.inits),
        "losses": len(study.losses or ()),
        "seeds": len(study.seeds),
    }
    return " × ".join(f"{n} {axis}" for axis, n in sizes.items() if n > 1 or axis == "seeds")
