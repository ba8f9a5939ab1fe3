"""A store's tables as CSV files: ``runs.csv`` (each config flattened to ``config.*`` columns),
``metrics.csv`` and ``diagnostics.csv``, each written to a temporary name and renamed into place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab._files import replacing
from actlab.study.store import METRICS, RunRecord, Store, canonical_json

__all__ = ["export_csv"]


def export_csv(store: Store, directory: str | os.PathLike) -> dict[str, Path]:
    """Write the three tables of ``store`` into ``directory``; return their paths by table."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for r in store.runs():
        row = {k: v for k, v in vars(r).items() if k != "config"}
        row.update({f"config.{k}": v for k, v in _flatten(r.config).items()})
        runs.append(row)
    run_columns = [f for f in RunRecord.__dataclass_fields__ if f != "config"]
    tables = {
        "runs": (runs, run_columns),
        "metrics": (store.metrics(), ["run", "epoch", *METRICS]),
        "diagnostics": (store.diagnostics(), ["run", "step", "layer", "metric", "value"]),
    }
    return {
        name: _write_csv(out / f"{name}.csv", rows, columns)
        for name, (rows, columns) in tables.items()
    }


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, Mapping):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = canonical_json(v) if isinstance(v, list) else v
    return flat


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    import csv

    columns = list(dict.fromkeys([*columns, *(k for row in rows for k in row)]))
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path
