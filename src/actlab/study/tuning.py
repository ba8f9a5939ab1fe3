"""A learning rate per variant, chosen on validation (the DeepOBS protocol; Schneider et al. 2019).

A study with ``tune_lr`` compares variants each at its **own** best learning rate instead of one
shared rate, which favours whichever variant that rate suits. For every variant (activation x
optimizer x init x loss):

1. train it at every rate of a log grid (default 13 points from 1e-4 to 1) with the first
   ``tune_seeds`` of the study's seeds -- these are ordinary runs, batched into stacks, stored,
   resumed after a kill;
2. choose the rate whose runs reach the best mean **validation** metric at their last epoch
   (accuracy for classification, loss for regression; a diverged or failed run counts as the
   worst; ties go to the smaller rate); the study holds out a validation split for it (10% of
   the training set unless ``validation`` says otherwise);
3. train it at the chosen rate over all the study's seeds -- the seeds already trained in step 1
   are the same runs and are not trained again.

:func:`choose` reads step 2 from a store, so a report or a resumed study computes the same choice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actlab.errors import ParameterError
from actlab.study.run_config import RunConfig
from actlab.study.store import canonical_json

__all__ = [
    "DEFAULT_GRID",
    "best_rates",
    "choose",
    "curves",
    "final_runs",
    "grid",
    "tuning_runs",
    "variant_of",
]

DEFAULT_GRID = tuple(float(f"{10 ** (-4 + i / 3):.3g}") for i in range(13))
"""13 rates evenly spaced in log scale from 1e-4 to 1 (three per decade), rounded to 3 digits."""
DEFAULT_VALIDATION = 0.1


def grid(value: Any) -> tuple[float, ...] | None:
    """``tune_lr`` as a grid: ``None``/``False`` (no tuning), ``True`` (:data:`DEFAULT_GRID`) or
    three or more positive rates (sorted, without repeats)."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_GRID
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ParameterError(f"tune_lr={value!r} must be true or a list of learning rates")
    rates = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ParameterError(f"tune_lr: {v!r} is not a positive learning rate")
        rates.append(float(v))
    rates = sorted(set(rates))
    if len(rates) < 3:
        raise ParameterError(
            f"tune_lr has {len(rates)} learning rate(s); a tuning grid needs at least 3"
        )
    return tuple(rates)


def variant_of(run: RunConfig | Mapping[str, Any]) -> str:
    """What a run's variant is, learning rate and seed aside (canonical JSON)."""
    config = dict(run.to_dict() if isinstance(run, RunConfig) else run)
    config.pop("seed", None)
    config["optimizer_params"] = {
        k: v for k, v in dict(config.get("optimizer_params", {})).items() if k != "lr"
    }
    return canonical_json(config)


def tuning_runs(study: Any) -> list[RunConfig]:
    """Step 1: every variant at every rate of the grid, with the first ``tune_seeds`` seeds."""
    seeds = study.seeds[: study.tune_seeds]
    plain = study.replace(tune_lr=None, lr=study.tune_lr, lrs=(), seeds=seeds)
    return plain.runs()


def choose(
    study: Any, records: Iterable[Any], metrics: Iterable[Mapping[str, Any]]
) -> dict[str, float]:
    """Step 2: the chosen rate of each variant (keyed by :func:`variant_of`), from the stored
    run ``records`` (``Store.runs()``) and per-epoch ``metrics`` (``Store.metrics()``): the
    best mean score of :func:`curves` (ties: the smaller rate)."""
    return best_rates(curves(study, records, metrics))


def best_rates(scores: Mapping[str, Sequence[tuple[float, float]]]) -> dict[str, float]:
    """Each variant's rate of best mean score, from :func:`curves` (ties: the smaller rate)."""
    return {
        variant: max(points, key=lambda p: p[1])[0]  # points ascend in rate: first max wins
        for variant, points in scores.items()
    }


def _score(status: str, row: Mapping[str, Any]) -> float:
    """Higher is better: the validation accuracy, or minus the validation loss."""
    if status != "done":
        return -math.inf
    if row.get("val_acc") is not None:
        return float(row["val_acc"])
    loss = row.get("val_loss")
    return -math.inf if loss is None or not math.isfinite(loss) else -float(loss)


def final_runs(study: Any, chosen: Mapping[str, float]) -> list[RunConfig]:
    """Step 3: each variant at its chosen rate over all the study's seeds (variants without a
    choice yet -- their tuning runs not all stored -- are left out)."""
    out: list[RunConfig] = []
    seen: set[str] = set()
    for run in tuning_runs(study):
        variant = variant_of(run)
        if variant in seen or variant not in chosen or run.lr != chosen[variant]:
            continue
        seen.add(variant)
        out += [run.replace(seed=s) for s in study.seeds]
    return out


def curves(
    study: Any, records: Iterable[Any], metrics: Iterable[Mapping[str, Any]]
) -> dict[str, list[tuple[float, float]]]:
    """Each variant's mean validation score at each rate of the grid (for the report)."""
    records = list(records)
    last: dict[str, Mapping[str, Any]] = {}
    for row in metrics:
        if row["run"] not in last or row["epoch"] >= last[row["run"]]["epoch"]:
            last[row["run"]] = row
    stored = {r.key: r for r in records}
    out: dict[str, dict[float, list[float]]] = {}
    for run in tuning_runs(study):
        if run.key in stored:
            score = _score(stored[run.key].status, last.get(run.key, {}))
            out.setdefault(variant_of(run), {}).setdefault(run.lr, []).append(score)
    return {v: [(lr, sum(s) / len(s)) for lr, s in sorted(d.items())] for v, d in out.items()}


def reported(store: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """The runs a report ranks, and their metric rows: for a tuned study only the final runs
    (each variant at its chosen rate, all seeds), else every stored run."""
    records, metrics = store.runs(), store.metrics()
    if store.study.get("tune_lr") is None:
        return records, metrics
    from actlab.study.spec import Study

    study = Study.from_dict(store.study)
    keys = {r.key for r in final_runs(study, choose(study, records, metrics))}
    return [r for r in records if r.key in keys], [m for m in metrics if m["run"] in keys]


def chosen_lines(store: Any) -> list[str]:
    """One line per variant of a tuned study: its chosen rate and the grid's scores."""
    if store.study.get("tune_lr") is None:
        return []
    from actlab.study.labels import variant_label, varying_axes
    from actlab.study.spec import Study

    study = Study.from_dict(store.study)
    records, metrics = store.runs(), store.metrics()
    scores = curves(study, records, metrics)
    chosen = best_rates(scores)
    runs = final_runs(study, chosen)
    configs = [r.to_dict() for r in runs]
    axes = [a for a in varying_axes(configs) if a != "optimizer.lr"]
    accuracy = any(m.get("val_acc") is not None for m in metrics)
    out = []
    for run in runs[:: len(study.seeds)]:
        variant = variant_of(run)
        grid = ", ".join(f"{lr:g}: {_shown(s, accuracy)}" for lr, s in scores.get(variant, []))
        label = variant_label(run.to_dict(), axes) or run.optimizer
        out.append(f"{label}: lr {chosen[variant]:g} chosen on validation ({grid})")
    return out


def _shown(score: float, accuracy: bool) -> str:
    if score == -math.inf:
        return "diverged"
    return f"{100 * score:.1f}%" if accuracy else f"loss {-score:.3g}"
