"""A study's stored runs as TensorBoard event files (``actlab compare --tensorboard DIR``).

Each stored run gets a directory ``DIR/LABEL/seedN`` (its variant's label made safe as a folder
name) holding one event file: the scalars ``train/loss``, ``train/accuracy``, ``test/loss``,
``test/accuracy`` (and ``val/...`` when recorded) per epoch, from the store's metrics -- so
TensorBoard shows exactly what the report ranks -- and, for a study recorded with diagnostics,
``diagnostics/LAYER/METRIC`` per recorded step (gradient and weight norms, dead and saturated
fractions, ...) and the histograms ``weights/LAYER`` and ``gradients/LAYER``, drawn from the
eleven quantiles of each layer's weight and gradient entries the diagnostics record
(:data:`actlab.diagnostics.rows.QUANTILE_LEVELS`; see :func:`histogram`). A run is written
once its unit is stored, into a temporary directory renamed into place, so a run's directory is
whole or absent; a rerun writes only runs whose directory is missing. Written with
:class:`torch.utils.tensorboard.SummaryWriter`, which needs the
``tensorboard`` package (``pip install 'actlab[tensorboard]'``).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from actlab.diagnostics import rows as R
from actlab.errors import ActlabError

if TYPE_CHECKING:
    from actlab.study.store import Store

__all__ = ["TAGS", "TensorBoardRuns", "histogram", "require", "run_dir"]

TAGS = {
    "train_loss": "train/loss",
    "train_acc": "train/accuracy",
    "test_loss": "test/loss",
    "test_acc": "test/accuracy",
    "val_loss": "val/loss",
    "val_acc": "val/accuracy",
}
"""Store metric -> TensorBoard scalar tag."""

_QUANTILES = frozenset(name for names in R.DISTRIBUTIONS.values() for name in names)


def histogram(edges: Sequence[float], levels: Sequence[float] = R.QUANTILE_LEVELS) -> dict:
    """TensorBoard's raw histogram of a tensor known by its quantiles: ``edges[i]`` is the
    entries' ``levels[i]`` quantile, so bucket ``(edges[i], edges[i+1]]`` holds the share
    ``levels[i+1] - levels[i]`` of them. Counts are percent of the tensor's entries (``num``
    is 100); ``sum`` and ``sum_squares`` take each bucket's entries as spread evenly over it.
    Buckets of zero width (equal quantiles) are merged into their neighbour.

    >>> h = histogram([-1.0, 0.0, 1.0], [0.0, 0.5, 1.0])
    >>> h["bucket_limits"], h["bucket_counts"], h["sum"], h["sum_squares"]
    ([0.0, 1.0], [50.0, 50.0], 0.0, 33.333333333333336)
    """
    limits: list[float] = []
    counts: list[float] = []
    total = squares = 0.0
    for i in range(1, len(edges)):
        low, high = edges[i - 1], edges[i]
        share = 100.0 * (levels[i] - levels[i - 1])
        total += share * (low + high) / 2
        squares += share * (low * low + low * high + high * high) / 3
        if limits and high <= limits[-1]:
            counts[-1] += share
        else:
            limits.append(high)
            counts.append(share)
    return {
        "min": edges[0],
        "max": edges[-1],
        "num": 100.0,
        "sum": total,
        "sum_squares": squares,
        "bucket_limits": limits,
        "bucket_counts": counts,
    }


def _histograms(writer, quantiles: Mapping[tuple[int, str, str], float]) -> None:
    """``weights/LAYER`` and ``gradients/LAYER`` histograms at each step where every quantile
    of that tensor was recorded."""
    tags = {"weight": "weights", "grad": "gradients"}
    steps_layers = sorted({(step, layer) for step, layer, _ in quantiles})
    for step, layer in steps_layers:
        for kind, names in R.DISTRIBUTIONS.items():
            edges = [quantiles.get((step, layer, name)) for name in names]
            if any(e is None or not math.isfinite(e) for e in edges):
                continue
            writer.add_histogram_raw(f"{tags[kind]}/{layer}", global_step=step, **histogram(edges))


def require() -> None:
    """Raise one line naming the extra to install when ``tensorboard`` is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ActlabError(
            "--tensorboard needs the tensorboard package: pip install 'actlab[tensorboard]'"
        ) from None


def run_dir(label: str, seed: int | None, key: str) -> Path:
    """``LABEL/seedN``: the label with every character but letters, digits and ``._=+-,()``
    replaced by ``_`` (the run key when nothing is left); never a path outside the log dir."""
    name = re.sub(r"[^A-Za-z0-9._=+\-,()]+", "_", label).strip("_.")
    return Path(name or key) / (f"seed{seed}" if seed is not None else key)


class TensorBoardRuns:
    """Writes the stored runs of a study under ``logdir``; :meth:`sync` writes those not
    written yet.

    Args:
        logdir: the TensorBoard log directory (created).
        labels: run key -> ``(label, seed)``; a stored run not in it is named by its key.
    """

    def __init__(self, logdir: str | os.PathLike, labels: Mapping[str, tuple[str, int | None]]):
        require()
        self.logdir = Path(logdir)
        self.labels = dict(labels)
        self.written: set[str] = set()
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ActlabError(
                f"cannot create the TensorBoard directory {self.logdir}: {e}"
            ) from None

    def path(self, key: str) -> Path:
        label, seed = self.labels.get(key, (key, None))
        return self.logdir / run_dir(label, seed, key)

    def sync(self, store: Store) -> list[Path]:
        """Write every run of ``store`` whose directory is missing; return the new directories."""
        new = []
        for key in sorted(store.completed() - self.written):
            target = self.path(key)
            if not target.exists():
                self._write(store, key, target)
                new.append(target)
            self.written.add(key)
        return new

    def _write(self, store: Store, key: str, target: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            writer = SummaryWriter(log_dir=str(tmp))
            try:
                for row in store.metrics(key):
                    for metric, tag in TAGS.items():
                        if row.get(metric) is not None:
                            writer.add_scalar(tag, row[metric], row["epoch"])
                quantiles: dict[tuple[int, str, str], float] = {}
                for d in store.diagnostics(key):
                    if d["value"] is None:
                        continue
                    if d["metric"] in _QUANTILES:
                        quantiles[d["step"], d["layer"], d["metric"]] = d["value"]
                    else:
                        writer.add_scalar(f"diagnostics/{d['layer']}/{d['metric']}",
                                          d["value"], d["step"])  # fmt: skip
                _histograms(writer, quantiles)
            finally:
                writer.close()
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
