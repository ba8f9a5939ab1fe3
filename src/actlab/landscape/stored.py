"""Loss landscapes of a study's stored runs: the network of a run rebuilt from the store's final
weights (and snapshots), on the study's own data, with the run's own loss.

A run's initial weights are not stored: they are what ``build(spec, seed)`` draws, exactly as the
trainer started from them. Its final parameters and buffers are always stored; its parameters
along training only when the study ran with ``snapshots`` (``actlab compare --snapshots N``).

>>> # doctest: +SKIP
>>> from actlab.study import Store
>>> with Store.open("actlab-runs/quickstart") as store:
...     run = StoredRun.load(store, "3f2a")        # a key or a unique prefix
...     line = run.slice("line", split="train")    # a Slice: alphas, loss, accuracy
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from actlab.errors import ActlabError
from actlab.landscape.slices import Plane, Slice, interpolate, line, plane
from actlab.landscape.trajectory import Path, path

__all__ = ["KINDS", "StoredRun", "best_run", "check_kind"]

KINDS = ("line", "interp", "plane", "path")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class StoredRun:
    """One stored run, ready to slice: its key and label, its config, the network with its final
    weights, the initial network, its snapshots, its loss and the study's data."""

    key: str
    label: str
    config: Any  # RunConfig
    model: nn.Module
    initial: nn.Module
    snapshots: tuple[tuple[int, dict[str, Tensor]], ...]
    loss: nn.Module
    data: Any  # actlab.data.Dataset

    @classmethod
    def load(cls, store: Any, key: str | None = None, *, data: Any = None) -> StoredRun:
        """The run ``key`` (a key or a unique prefix; ``None``: the best run, see
        :func:`best_run`) of the open ``store``; ``data``: the study's dataset if already loaded.

        Raises:
            ActlabError: no such run (close keys named), several runs with that prefix, a run
                that failed, or a store written before final weights were stored.
        """
        from actlab.losses import Loss
        from actlab.models import build
        from actlab.study.run_config import RunConfig
        from actlab.study.runner import load_data
        from actlab.study.spec import Study

        records = {r.key: r for r in store.runs()}
        study = Study.from_dict(store.study)
        key = best_run(store) if key is None else _find(key, records, study, store.path.parent)
        record = records[key]
        if record.status == "failed":
            raise ActlabError(f"run {key} failed ({record.error}); it has no weights to draw")
        final = store.weights(key)
        if not final:
            raise ActlabError(
                f"run {key} has no stored weights (a store written before actlab kept them); "
                f"rerun the study into a new directory"
            )
        config = RunConfig.from_dict(record.config)
        given = getattr(data, "params", None) or {}
        if any(given.get(k, v) != v for k, v in config.dataset_params):
            data = None  # another data set of a study that sweeps the dataset's parameters
        data = load_data(study, dataset_params=config.dataset_params) if data is None else data
        dtype = getattr(torch, config.dtype)
        spec = config.model_spec(data)
        initial = build(spec, seed=config.seed).to(dtype).eval()
        model = build(spec, seed=config.seed).to(dtype)
        model.load_state_dict(final[-1][1])
        snaps = tuple(store.weights(key, final=False))
        loss = Loss(config.loss, **dict(config.loss_params))
        label = config.label(study.varying())
        return cls(key, label, config, model.eval(), initial, snaps, loss, data)

    def xy(self, split: str) -> tuple[Tensor, Tensor]:
        """The study's training or test inputs and targets."""
        if split not in SPLITS:
            raise ActlabError(f"unknown split {split!r}; valid splits: {', '.join(SPLITS)}")
        d = self.data
        return (d.x_train, d.y_train) if split == "train" else (d.x_test, d.y_test)

    def slice(
        self,
        kind: str,
        *,
        other: StoredRun | None = None,
        split: str = "train",
        steps: int = 51,
        span: float = 1.0,
        seed: int = 0,
    ) -> Slice | Plane | Path:
        """``kind``: ``line`` (a filter-normalized random direction through the final weights,
        ``[-span, span]``), ``interp`` (from the initial weights to the final ones, or to
        ``other`` 's final weights: two seeds, two optimizers), ``plane`` (two random directions,
        ``steps x steps``), ``path`` (the snapshots on their principal plane)."""
        check_kind(kind)
        if other is not None and kind != "interp":
            raise ActlabError(f"a second run (--to) is for --kind interp, not {kind}")
        x, y = self.xy(split)
        x = x.to(getattr(torch, self.config.dtype))
        gen = torch.Generator().manual_seed(seed)
        if kind == "line":
            return line(self.model, self.loss, x, y, steps=steps, span=span, generator=gen)
        if kind == "plane":
            return plane(self.model, self.loss, x, y, steps=steps, span=span, generator=gen)
        if kind == "interp":
            start = self.initial if other is None else self.model
            end = self.model if other is None else other.model
            if other is not None:
                _check_same_shapes(self, other)
            return interpolate(start, end, self.loss, x, y, steps=steps, margin=0.25)
        if len(self.snapshots) < 3:
            raise ActlabError(
                f"run {self.key} has {len(self.snapshots)} weight snapshots; a path needs at "
                f"least 3: rerun the study into a new directory with --snapshots N (N >= 2)"
            )
        return path([w for _, w in self.snapshots], self.model, self.loss, x, y, steps=steps)


def check_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`KINDS`, else one line naming the closest."""
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ActlabError(f"unknown kind {kind!r}{hint}; valid kinds: {', '.join(KINDS)}")
    return kind


def best_run(store: Any) -> str:
    """The key of the run with the best final test metric (accuracy, or loss for regression),
    the first stored on ties; failed and diverged runs only if there is nothing else."""
    records = store.runs()
    if not records:
        raise ActlabError(f"{store.path.parent} holds no finished runs")
    finals: dict[str, Mapping[str, Any]] = {}
    for row in store.metrics():
        finals[row["run"]] = row  # rows come ordered by epoch: the last one stays

    def score(r) -> tuple[int, float]:
        row = finals.get(r.key, {})
        acc, loss = row.get("test_acc"), row.get("test_loss")
        good = r.status == "done"
        if acc is not None:
            return (good, acc)
        return (good, -loss if loss is not None else float("-inf"))

    return max(records, key=score).key


def _find(key: str, records: Mapping[str, Any], study: Any, where: Any) -> str:
    """The one stored key starting with ``key``, or one line naming the closest runs."""
    from actlab.study.run_config import RunConfig

    matches = [k for k in records if k.startswith(key)] if key else []
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ActlabError(f"run {key!r} matches {len(matches)} runs in {where}; give more digits")
    close = difflib.get_close_matches(key, list(records), n=3, cutoff=0.5) or list(records)[:3]
    varying = study.varying()
    shown = ", ".join(
        f"{k} ({RunConfig.from_dict(records[k].config).label(varying)})" for k in close
    )
    more = f" of {len(records)}" if len(records) > len(close) else ""
    raise ActlabError(f"no run {key!r} in {where}; runs{more}: {shown}")


def _check_same_shapes(a: StoredRun, b: StoredRun) -> None:
    pa, pb = dict(a.model.named_parameters()), dict(b.model.named_parameters())
    if {n: p.shape for n, p in pa.items()} != {n: p.shape for n, p in pb.items()}:
        raise ActlabError(
            f"runs {a.key} and {b.key} have different architectures; interpolation needs two "
            f"networks of the same shape"
        )
