"""Diagnoses of a stored study: per variant, the per-layer health table, the findings and the
gradient ratio beside theory's, from the diagnostics ``actlab compare --diagnostics`` recorded;
and their rendering for the terminal (``actlab diagnose``).

Each variant is shown by its first seed (the lowest seed whose run holds diagnostics): the rules
judge one network's state, and averaging layer statistics over seeds would blur, e.g., a layer
that died in one run but not in another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from actlab.data import Dataset
from actlab.diagnostics import Thresholds
from actlab.diagnostics.diagnose import (
    Diagnosis,
    chance_loss,
    diagnose,
    predicted_ratio,
    reference_grad_norms,
)
from actlab.errors import ActlabError
from actlab.study.runner import load_data
from actlab.study.spec import RunConfig, Study
from actlab.study.stats import VariantSummary
from actlab.study.store import RunRecord, Store, canonical_json

__all__ = ["VariantRun", "diagnose_store", "render", "variant_runs"]


@dataclass(frozen=True)
class VariantRun:
    """A variant's summary, the run that represents it (its first seed) and that run's rows."""

    summary: VariantSummary
    run: RunRecord
    rows: list[dict[str, Any]]


def variant_runs(store: Store, summaries: Sequence[VariantSummary]) -> list[VariantRun]:
    """Per variant, in ranking order, its first seed's run with diagnostics (variants without
    any are left out)."""
    runs: dict[str, list[RunRecord]] = {}
    for run in store.runs():
        config = {k: v for k, v in run.config.items() if k != "seed"}
        runs.setdefault(canonical_json(config), []).append(run)
    out = []
    for s in summaries:
        for run in sorted(runs.get(canonical_json(s.config), []), key=lambda r: r.seed or 0):
            rows = store.diagnostics(run.key)
            if rows:
                out.append(VariantRun(s, run, rows))
                break
    return out


def _batch(config: RunConfig, data: Dataset) -> int:
    n = len(data.x_train)
    return n if config.batch_size is None else min(config.batch_size, n)


def _label(v: VariantRun, c: RunConfig) -> str:
    """The variant's label, then what it was: ``relu · sgd -- mlp 3x100, he_normal, ...``."""
    lr = dict(c.optimizer_params).get("lr")
    batch = "full batch" if c.batch_size is None else f"batch {c.batch_size}"
    shape = "" if c.depth is None or c.width is None else f" {c.depth}x{c.width}"
    schedule = f"{c.epochs} epochs" if c.steps is None else f"{c.steps} steps"
    return (
        f"{v.summary.label} -- {c.model}{shape}, {c.activation}, {c.init} init, "
        f"{c.optimizer} lr={lr:g}, {schedule}, {batch}, seed {v.run.seed} ({v.run.status})"
    )


def diagnose_store(
    store: Store,
    summaries: Sequence[VariantSummary],
    *,
    data: Dataset | None = None,
    thresholds: Thresholds = Thresholds(),
) -> list[Diagnosis]:
    """One :class:`Diagnosis` per variant (first seed), in ranking order.

    Args:
        store: an open study store.
        summaries: its variants (:func:`actlab.report.study_report.study_summaries`).
        data: the study's dataset (loaded from the study when ``None``), for theory's predicted
            gradient ratio (input size and second moment).
        thresholds: when the rules fire.

    Raises:
        ActlabError: the store holds no diagnostics.
    """
    chosen = variant_runs(store, summaries)
    if not chosen:
        raise ActlabError(
            f"{store.path.parent} holds no diagnostics; record them with "
            "'actlab compare --diagnostics'"
        )
    study, given, loaded = Study.from_dict(store.study), data, {}
    out = []
    for v in chosen:
        config = RunConfig.from_dict(v.run.config)
        key = config.dataset_params  # a study may sweep the dataset's parameters
        if given is None and key not in loaded:
            loaded[key] = load_data(study, dataset_params=key)
        data = given if given is not None else loaded[key]
        second_moment = float(data.x_train.double().pow(2).mean())
        spec = config.model_spec(data)
        batch = _batch(config, data)
        loss = config.loss or ("cross_entropy" if data.task == "classification" else None)
        chance = None if loss is None else chance_loss(loss, data.y_train)
        reference = None
        if chance is not None:
            reference = reference_grad_norms(
                spec, batch=batch, classes=data.n_outputs, input_second_moment=second_moment
            )
        out.append(
            diagnose(
                v.rows,
                label=_label(v, config),
                activation=config.activation,
                optimizer=config.optimizer,
                predicted_ratio=predicted_ratio(
                    spec, batch=batch, input_second_moment=second_moment
                ),
                reference=reference,
                loss={m["epoch"]: m["train_loss"] for m in store.metrics(v.run.key)},
                chance_loss=chance,
                thresholds=thresholds,
            )
        )
    return out


# ---------------------------------------------------------------------------- the terminal

COLUMNS = (
    ("layer", "layer", None),
    ("act mean", "act_mean", ".3g"),
    ("act std", "act_std", ".3g"),
    ("dead %", "dead_pct", ".1f"),
    ("saturated %", "saturated_pct", ".1f"),
    ("inactive %", "inactive_pct", ".1f"),
    ("grad norm", "grad_norm", ".2e"),
    ("update/weight", "update_ratio", ".2e"),
    ("eff. lr", "effective_lr", ".2e"),
)
"""Health-table columns: header, key in :func:`~actlab.diagnostics.health_table`, format."""

# which finding's evidence marks which column's cells
_FLAGGED = {
    "dead_pct": ("dying_relu", "dead_fraction"),
    "saturated_pct": ("saturation", "saturation_fraction"),
    "inactive_pct": ("inactive_units", "inactive_fraction"),
    "grad_norm": ("gradient_scale", "ratio"),
}


def _cell(value: Any, fmt: str | None, bad: bool) -> Text:
    if value is None:
        return Text("-", style="dim")
    text = str(value) if fmt is None else format(value, fmt)
    if isinstance(value, float) and not math.isfinite(value):
        bad = True
    return Text(text, style="bold red" if bad else "")


def health(d: Diagnosis) -> Table:
    """The per-layer health table (latest recorded values); cells a warning names in red."""
    flagged = {
        key: set(f.evidence.get(evidence, {}))
        for key, (code, evidence) in _FLAGGED.items()
        for f in d.warnings
        if f.code == code
    }
    last = d.steps[-1] if d.steps else "-"
    table = Table(title=f"per-layer health at step {last}", title_justify="left")
    for header, _, _ in COLUMNS:
        table.add_column(header, justify="left" if header == "layer" else "right")
    for row in d.table:
        table.add_row(
            *(_cell(row[key], fmt, row["layer"] in flagged.get(key, ())) for _, key, fmt in COLUMNS)
        )
    return table


def _ratio(d: Diagnosis) -> Text | None:
    if d.measured_ratio is None:
        return None
    first, last = d.table[0]["layer"], [r["layer"] for r in d.table if r["layer"] != "output"][-1]
    n = d.ratio_steps
    text = Text(f"gradient ratio ||dL/dW|| {first}/{last}: ", style="bold")
    text.append(f"{d.measured_ratio:.2g} measured (median of {n} recorded step{'s' * (n != 1)}")
    if d.start_ratio is not None:
        text.append(f"; {d.start_ratio:.2g} at the first")
    text.append(")")
    if d.predicted_ratio is not None:
        text.append(f" · {d.predicted_ratio:.2g} predicted by theory at initialization")
    return text


def render(d: Diagnosis) -> RenderableType:
    """A diagnosis for the terminal: verdict, health table, gradient ratio, findings."""
    head = Text(d.label + ": ", style="bold")
    verdict = d.verdict.upper() if d.healthy else d.verdict
    head.append(verdict, style="bold green" if d.healthy else "bold red")
    parts: list[RenderableType] = [head, health(d)]
    if d.saturating is False:
        note = (
            f"({d.activation}: 'saturated %' is its flat side, where f'(z) is about 0; the "
            "saturation rule judges only activations flat on both sides, such as sigmoid and tanh)"
        )
        parts.append(Text(note, style="dim"))
    ratio = _ratio(d)
    if ratio is not None:
        parts.append(ratio)
    for f in d.findings:
        warning = f.severity == "warning"
        line = Text("WARNING " if warning else "note ", style="bold red" if warning else "yellow")
        line.append(f"{f.code}: ", style="bold")
        line.append(f.message)
        parts += [line, Text("  try: " + f.advice, style="" if warning else "dim")]
    if d.healthy:
        parts.append(Text("no warnings: every rule passed", style="bold green"))
    return Group(*parts, Text(""))
