"""A store's tables as files: ``runs``, ``metrics`` (per epoch), ``ranking`` (the report's
statistics over seeds) and ``diagnostics`` (and ``step_metrics``, for a study evaluated inside
epochs), as CSV, JSON or Parquet, one file per table, each written to a temporary name and
renamed into place.

Every format holds the same values: a run's config is nested in JSON and flattened to
``config.*`` columns in CSV and Parquet (lists as canonical JSON text); a missing or non-finite
number (a metric of a diverged epoch, the CI of a single seed) is an empty cell, JSON ``null``
or a Parquet null. Floats are written exactly (CSV and JSON with Python's shortest round-trip
``repr``, Parquet as float64).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from actlab._files import replacing
from actlab._jsonable import jsonable
from actlab.errors import ActlabError
from actlab.study.store import METRICS, RunRecord, Store, canonical_json

__all__ = ["FORMATS", "RANKING", "check_format", "export", "export_csv", "jsonable", "tables"]

FORMATS = ("csv", "json", "parquet")
RANKING = (
    "rank", "label", "lr", "metric", "final_mean", "final_ci", "final_low", "final_high",
    "best_seed", "n_runs", "n_done", "n_diverged", "n_failed", "epochs_to_target", "n_reached",
    "target", "wall_s",
)  # fmt: skip
"""The ranking table's columns (then the variant's config, without the seed), in the report's
order: ``rank`` is the position (the best mean first, then the variants tied with it, then the
others by mean); ``lr`` the learning rate the variant ran at (a tuned study: the rate chosen on
validation, and only the final runs count); ``best_seed`` the best single seed's final value,
shown for reference -- the best variant is the best *mean*, never the best seed."""


def tables(store: Store) -> dict[str, tuple[list[dict[str, Any]], list[str]]]:
    """The store's four tables (five with ``step_metrics``): ``name -> (rows, leading
    columns)``; rows are JSON-able, a run's ``config`` (in ``runs`` and ``ranking``) nested."""
    from actlab.study.paired import rank
    from actlab.study.stats import summarize
    from actlab.study.tuning import reported

    runs = store.runs()
    ranking = []
    if runs:
        target = store.study.get("target")
        if isinstance(target, bool) or not isinstance(target, int | float):
            target = None
        ranked = rank(summarize(*reported(store), target=target)).summaries
        for i, s in enumerate(ranked, 1):
            low, high = s.final_interval
            lr = (s.config.get("optimizer_params") or {}).get("lr")
            row = {"rank": i, "label": s.label, "lr": lr, "metric": s.metric,
                   "final_mean": s.final_mean, "final_ci": s.final_ci, "final_low": low,
                   "final_high": high, "best_seed": s.best,
                   "n_runs": s.n_runs, "n_done": s.n_done, "n_diverged": s.n_diverged,
                   "n_failed": s.n_failed, "epochs_to_target": s.epochs_to_target,
                   "n_reached": s.n_reached, "target": s.target, "wall_s": s.wall_s,
                   "config": s.config}  # fmt: skip
            ranking.append(jsonable(row))
    run_columns = [f for f in RunRecord.__dataclass_fields__ if f != "config"]
    out = {
        "runs": ([jsonable(vars(r)) for r in runs], [*run_columns, "config"]),
        "metrics": (jsonable(store.metrics()), ["run", "epoch", *METRICS]),
        "ranking": (ranking, [*RANKING, "config"]),
        "diagnostics": (jsonable(store.diagnostics()), ["run", "step", "layer", "metric", "value"]),
    }
    if steps := store.step_metrics():  # a study evaluated inside epochs (eval_every, steps)
        out["step_metrics"] = (jsonable(steps), ["run", "step", "epoch", "seconds", *METRICS])
    return out


def export(store: Store, directory: str | os.PathLike, fmt: str = "csv") -> dict[str, Path]:
    """Write the four tables of ``store`` into ``directory`` as ``NAME.csv``, ``NAME.json``
    (a list of row objects) or ``NAME.parquet``; return their paths by table name.

    Raises:
        ActlabError: an unknown format, or ``parquet`` without pyarrow (``actlab[parquet]``).
    """
    write = _WRITERS[check_format(fmt)]
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (rows, columns) in tables(store).items():
        paths[name] = out / f"{name}.{fmt}"
        write(paths[name], rows, columns)
    return paths


def check_format(fmt: str) -> str:
    """``fmt`` if it is an export format this installation can write, else one line saying why
    (an unknown name; ``parquet`` without pyarrow names the extra to install)."""
    if fmt not in FORMATS:
        raise ActlabError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "parquet":
        _pyarrow()
    return fmt


def export_csv(store: Store, directory: str | os.PathLike) -> dict[str, Path]:
    """:func:`export` as CSV."""
    return export(store, directory, "csv")


def _flat_rows(rows: list[dict[str, Any]], columns: list[str]) -> tuple[list[dict], list[str]]:
    """Rows with ``config`` flattened to ``config.*`` columns, and every column in order."""
    flat = []
    for row in rows:
        out = {k: v for k, v in row.items() if k != "config"}
        if "config" in row:
            out.update({f"config.{k}": v for k, v in _flatten(row["config"]).items()})
        flat.append(out)
    leading = [c for c in columns if c != "config"]
    return flat, list(dict.fromkeys([*leading, *(k for row in flat for k in row)]))


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, Mapping):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = canonical_json(v) if isinstance(v, list) else v
    return flat


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    import csv

    rows, columns = _flat_rows(rows, columns)
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _write_json(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    order = {c: i for i, c in enumerate(columns)}
    ordered = [dict(sorted(r.items(), key=lambda kv: order.get(kv[0], len(order)))) for r in rows]
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(ordered, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _write_parquet(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    pa = _pyarrow()
    import pyarrow.parquet as pq

    rows, columns = _flat_rows(rows, columns)
    table = pa.table({c: pa.array([row.get(c) for row in rows]) for c in columns})
    with replacing(path) as tmp:
        pq.write_table(table, tmp)


_WRITERS: dict[str, Callable[[Path, list[dict[str, Any]], list[str]], None]] = {
    "csv": _write_csv,
    "json": _write_json,
    "parquet": _write_parquet,
}


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise ActlabError(
            "--export parquet needs pyarrow: pip install 'actlab[parquet]' (or use csv or json)"
        ) from None
    return pyarrow
