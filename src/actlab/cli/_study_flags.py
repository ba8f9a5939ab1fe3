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
DATASET = typer.Option(
    None,
    "--dataset",
    help="Dataset ('actlab list datasets') or your own data file: .csv (header row), .npz "
    "(arrays x, y, optional x_test, y_test), .npy (last column = target) or .pt (a dict of "
    "tensors); see docs/studies.md.",
)
TARGET_COLUMN = typer.Option(
    None, "--target-column", help="The CSV column holding the target (default: the last one)."
)
TASK = typer.Option(
    None,
    "--task",
    help="classification or regression, for a data file (default: inferred from the target).",
)
MODEL = typer.Option(
    None,
    "--model",
    help="Architecture: mlp, cnn1d, cnn2d, or your own factory package.module:function "
    "(docs/your-model.md).",
)
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
    None,
    "--batch-size",
    help="Examples per step: N, 1 (SGD) or 'full' (gradient descent); a list (1,10,full) "
    "sweeps it.",
)


def _a_value(value: str | None) -> str | None:
    """A list-valued option must not swallow the next flag as its value (``--epochs --out``)."""
    if value is not None and value.startswith("--"):
        raise typer.BadParameter(f"needs a value, got the flag {value!r}")
    return value


DEPTH_LIST = typer.Option(
    None,
    "--depth",
    help="Hidden layers / conv blocks (0: no hidden layer); a list sweeps it.",
    callback=_a_value,
)
WIDTH_LIST = typer.Option(
    None, "--width", help="Units / channels per layer; a list sweeps it.", callback=_a_value
)
EPOCHS_LIST = typer.Option(
    None,
    "--epochs",
    help="Passes over the training set; a list (10,20,40) sweeps it.",
    callback=_a_value,
)
WEIGHT_DECAY_LIST = typer.Option(
    None,
    "--weight-decay",
    help="Weight decay (>= 0) for every optimizer, in its own form (decoupled for adamw, "
    "lion); a list (0,1e-4,1e-3) sweeps it.",
    callback=_a_value,
)
LABEL_SMOOTHING_LIST = typer.Option(
    None,
    "--label-smoothing",
    help="Cross-entropy's label smoothing, in [0, 1); a list (0,0.1) sweeps it.",
    callback=_a_value,
)
NOISE_LIST = typer.Option(
    None,
    "--noise",
    help="A toy set's noise (its dataset parameter 'noise'); a list (0,0.2,0.4) sweeps it.",
    callback=_a_value,
)
TRAIN_SIZE_LIST = typer.Option(
    None,
    "--train-size",
    help="A toy set's training points (its dataset parameter 'train_size': the first N of "
    "its training split, the same test points); a list (50,100,250) sweeps it.",
    callback=_a_value,
)
STEPS_LIST = typer.Option(
    None,
    "--steps",
    help="A step budget instead of --epochs: exactly N optimizer steps per run, the last epoch "
    "cut short if need be; a list (500,1000) sweeps it.",
    callback=_a_value,
)
EVAL_EVERY = typer.Option(
    None,
    "--eval-every",
    help="Also evaluate every N optimizer steps inside an epoch (test/validation in full, train "
    "figures as the epoch's running mean), for curves and time to target at step resolution.",
)
TARGET = typer.Option(
    None,
    "--target",
    help="The target for time to target: a value on the ranking metric (0.8: 80% accuracy), "
    "or METRIC=VALUE on any stored metric (train_loss=0.5, train_acc=0.75, val_acc=0.9).",
)
DEVICE = typer.Option("cpu", "--device", help="Where to train: cpu, cuda, cuda:1, mps.")
THREADS = typer.Option(
    None,
    "--threads",
    help="CPU threads for training (default: torch's, one per core). While other processes keep "
    "the cores busy, --threads 1 can be several times faster: the threads of one step wait for "
    "each other (docs/PERFORMANCE.md).",
)
FORCE = typer.Option(False, "--force", help="Replace a store in OUT that holds a different study.")
WAIT = typer.Option(
    False,
    "--wait",
    help="If another actlab process is running a study in OUT, wait for it to finish instead "
    "of stopping at once.",
)
BACKEND = typer.Option(
    "local",
    "--backend",
    help="Where units train: local (this process) or ray (tasks on a Ray cluster; "
    'pip install "actlab[ray]"; docs/scaling.md).',
)
ADDRESS = typer.Option(
    None,
    "--address",
    help="With --backend ray: the cluster, auto (one started with 'ray start' here) or "
    "HOST:PORT (default: a local one started for this study).",
)
GPUS_PER_UNIT = typer.Option(
    0.0, "--gpus-per-unit", help="With --backend ray: GPUs each unit reserves (--device cuda)."
)

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
    if text is None:
        return None
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise ParameterError(f"--batch-size {text!r} has an empty value")
    values = ["full" if t.lower() == "full" else _number(t, "--batch-size", int) for t in parts]
    return values[0] if len(values) == 1 else values


def tune_grid(text: str | None) -> Any:
    """``--tune-lr``: ``default`` -> the default grid (``True``), ``a,b,c`` -> rates."""
    if text is None:
        return None
    if text.strip().lower() == "default":
        return True
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise ParameterError(f"--tune-lr {text!r} has an empty value")
    return [_number(t, "--tune-lr") for t in parts]


def _floats(text: str | None, flag: str) -> Any:
    """``"0.1"`` -> 0.1, ``"0,1e-4"`` -> [0.0, 0.0001] (a swept field)."""
    if text is None:
        return None
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise ParameterError(f"{flag} {text!r} has an empty value")
    values = [_number(t, flag) for t in parts]
    return values[0] if len(values) == 1 else values


def target(text: str | None) -> dict[str, Any]:
    """``--target``: ``0.8`` -> ``{"target": 0.8}`` (on the ranking metric),
    ``train_loss=0.5`` -> ``{"target": 0.5, "target_metric": "train_loss"}``."""
    if text is None:
        return {}
    metric, equals, value = text.rpartition("=")
    if not equals:
        return {"target": _number(text.strip(), "--target"), "target_metric": None}
    if not metric.strip() or not value.strip():
        raise ParameterError(f"--target {text!r}: give VALUE or METRIC=VALUE (train_loss=0.5)")
    return {"target": _number(value.strip(), "--target"), "target_metric": metric.strip()}


def _ints(text: Any, flag: str) -> Any:
    """``"3"`` -> 3, ``"1,2,3"`` -> [1, 2, 3] (a swept field); ints pass through."""
    if text is None or not isinstance(text, str):
        return text
    parts = [t.strip() for t in text.split(",")]
    if not all(parts):
        raise ParameterError(f"{flag} {text!r} has an empty value")
    values = [_number(t, flag, int) for t in parts]
    for t, v in zip(parts, values, strict=True):
        if not isinstance(v, int):
            raise ParameterError(f"{flag} {t!r} is not an integer")
    return values[0] if len(values) == 1 else values


def base_study(config: Path | None, preset: str | None, dataset: str | None = None) -> Study:
    """The study flags start from: ``--config``, ``--preset``, or the recipe for ``dataset``
    (the quickstart preset, or the preset declaring that dataset: ``toy-2d`` for the 2-D sets)."""
    from actlab.study.presets import PRESETS, recipe_for
    from actlab.study.spec import load_study

    if config is not None and preset is not None:
        raise ActlabError("give --config or --preset, not both")
    if config is not None:
        return load_study(config)
    from actlab.data.files import is_own

    if preset is None and dataset is not None and not is_own(dataset):
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


def progress_bar(console: Console, live: Any = None):
    """The study's progress, in stored member-epochs (a run's epochs count once its unit has
    checkpointed them: what a kill would keep), with ``live`` (a :class:`~._live.LiveRows`)
    under the bar in a terminal; plain lines, no bar, when the console is not a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
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
            TextColumn("member-epochs stored ·"),
            TimeElapsedColumn(),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
        )
        study = work.study
        from actlab.data.files import describe

        if line := describe(study.dataset, dict(study.dataset_params), work.data):
            console.print(line, markup=False, highlight=False)
        if work.replaced is not None:
            kept, dropped = work.replaced
            console.print(
                f"--force: {kept} stored run(s) kept (this study still contains them), "
                f"{dropped} discarded"
            )
        resumed = f", resuming {work.resumed} checkpointed member-epochs" if work.resumed else ""
        console.print(
            f"[bold]{study.name}[/]: {len(work.runs)} runs ({_shape(study)}), "
            f"{work.pending} to train in {len(work.units)} stacked unit(s){resumed}"
        )
        from actlab.cli._live import progress

        what = f"{study.name}: training"
        with progress(console, columns, what, work.member_epochs, work.resumed, live) as advance:
            yield advance

    return factory


def use_threads(threads: int | None) -> None:
    """``--threads N``: torch's intra-op threads for this process (its default when ``None``)."""
    if threads is None:
        return
    if isinstance(threads, bool) or threads < 1:
        raise ParameterError(f"--threads {threads}: give 1 or more threads")
    import torch

    torch.set_num_threads(threads)


def interrupted(out: Any) -> typer.Exit:
    """After Ctrl-C: say what is kept and how to resume; exit code 130."""
    typer.echo(
        f"interrupted: the finished runs and the checkpoints of the units in training are "
        f"stored in {out}; run the same command again to resume",
        err=True,
    )
    return typer.Exit(130)


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
    target_column: str | None = None,
    task: str | None = None,
    weight_decay: str | None = None,
    label_smoothing: str | None = None,
    noise: str | None = None,
    train_size: str | None = None,
    default_name: str = "compare",
    **fields: Any,
) -> Study:
    """The study the flags name: ``--config``, ``--preset`` or the recipe of ``--dataset``
    (:func:`base_study`; the quickstart by default), with every flag given replacing its field
    (``fields``: the plain ones -- dataset, model, depth, width, epochs, target, name,
    diagnostics -- ``None`` where not given). Flags on top of a default recipe make a new study
    named ``default_name``; a new dataset drops the preset's ``dataset_params`` and target.
    ``target_column`` and ``task`` (for a data file), ``noise`` and ``train_size`` (a toy set's)
    go into ``dataset_params``; a list given to any of the list flags sweeps that field."""
    study = base_study(config, preset, fields.get("dataset"))
    changes: dict[str, Any] = {
        **fields,
        "activations": _names(activations, "--activations"),
        "optimizers": _names(optimizers, "--optimizers"),
        "inits": _names(inits, "--inits"),
        "losses": _names(losses, "--losses"),
        "seeds": _seeds(seeds),
        "batch_size": _batch(batch_size),
        "weight_decay": _floats(weight_decay, "--weight-decay"),
        "label_smoothing": _floats(label_smoothing, "--label-smoothing"),
    }
    for key in ("depth", "width", "epochs", "steps"):
        if key in fields:
            changes[key] = _ints(fields[key], f"--{key}")
    changes = {k: v for k, v in changes.items() if v is not None} | _lr(lr)
    if lr is not None and "tune_lr" not in changes:  # rates given replace a preset's tuning
        changes["tune_lr"] = None
    if changes.get("tune_lr") is not None and lr is None:  # tuning replaces the recipe's rates
        changes |= {"lr": None, "lrs": ()}
    if "dataset" in changes and changes["dataset"] != study.dataset:
        changes.setdefault("dataset_params", {})
        changes.setdefault("target", None)  # the preset's target was for its dataset
    for given, other in (("steps", "epochs"), ("epochs", "steps")):  # one replaces the other
        if changes.get(given) is not None and other not in changes:
            changes[other] = None
    if "target" in changes and "target_metric" not in changes:  # on the ranking metric
        changes["target_metric"] = None
    if ":" in str(changes.get("model", "")) and changes["model"] != study.model:
        # your own factory: the preset's sizes were for its architecture, not the factory's
        neutral = {"depth": None, "width": None, "normalization": "none", "dropout": 0.0}
        changes |= {k: v for k, v in (neutral | {"residual": False}).items() if k not in changes}
    data = {"noise": _floats(noise, "--noise"), "train_size": _ints(train_size, "--train-size")}
    if data := {k: v for k, v in data.items() if v is not None}:
        changes["dataset_params"] = {
            **dict(changes.get("dataset_params", study.dataset_params)),
            **data,
        }
    if own := {k: v for k, v in (("target_column", target_column), ("task", task)) if v}:
        _own_data(changes.get("dataset", study.dataset), own)
        base = changes.get("dataset_params", dict(study.dataset_params))
        changes["dataset_params"] = {**base, **own}
    if changes and "name" not in changes and config is None and preset is None:
        changes["name"] = default_name
    return override(study, changes) if changes else study


def _own_data(dataset: Any, own: dict[str, str]) -> None:
    """``--target-column`` and ``--task`` describe a data file; a catalog set has its own."""
    from actlab.data.files import is_own

    if not is_own(dataset):
        flag = "--" + next(iter(own)).replace("_", "-")
        raise ActlabError(
            f"{flag} applies to your own data file (--dataset FILE.csv); {dataset!r} is a "
            "catalog dataset with its own target and task"
        )


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
