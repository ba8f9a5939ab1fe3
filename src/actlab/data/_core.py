"""The dataset record, the registry every dataset is declared in, and :func:`load`.

A dataset is held whole, as tensors on one device: studies train small networks on small data,
where a per-sample ``DataLoader`` costs more than the model. Inputs are float32, standardized with
statistics fitted on the training split only; class labels are int64 indices ``0..n_classes-1``;
regression targets are float32 of shape ``(n, 1)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from actlab._registry import Info, Param, Registry
from actlab.errors import ActlabError

__all__ = [
    "DATASETS",
    "STANDARDIZE",
    "Dataset",
    "DatasetInfo",
    "hold_out",
    "load",
    "split",
    "standardized",
    "validate",
]

Task = Literal["classification", "regression"]
TASKS = ("classification", "regression")

STANDARDIZE = Param(
    "standardize",
    True,
    "subtract the training mean and divide by the training std (per feature for vectors, "
    "per channel for images)",
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split held as tensors.

    Attributes:
        name: the catalog name it was loaded under.
        task: ``"classification"`` or ``"regression"``.
        x_train, x_test: inputs ``(n, *input_shape)``, float.
        y_train, y_test: int64 class indices ``(n,)``, or float regression targets ``(n, k)``.
        n_classes: number of classes (``None`` for regression).
        params: the resolved parameters it was built with (for the record).
        x_val, y_val: a validation split, or ``None`` (own data files hold one out:
            :mod:`actlab.data.files`); training uses train, reports use test.

    Example::

        >>> ds = load("xor", n=100, seed=1)
        >>> ds.input_shape, ds.n_classes, len(ds.x_train) + len(ds.x_test)
        ((2,), 2, 100)
    """

    name: str
    task: Task
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    n_classes: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    x_val: Tensor | None = None
    y_val: Tensor | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        """Width of a network's last layer: the classes, or the regression targets."""
        return self.n_classes if self.n_classes is not None else int(self.y_train.shape[1])

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def to(self, device: str | torch.device) -> Dataset:
        """The same data on ``device`` (a copy only where it moves)."""
        keys = ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val")
        moved = {k: getattr(self, k).to(device) for k in keys if getattr(self, k) is not None}
        return dataclasses.replace(self, **moved)

    def __repr__(self) -> str:
        kind = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        return (
            f"Dataset({self.name!r}, {kind}, input {self.input_shape}, "
            f"train {len(self.x_train)}, test {len(self.x_test)}, {self.device})"
        )


@dataclass(frozen=True)
class DatasetInfo(Info):
    """One dataset, declared once.

    Attributes:
        build: ``build(seed, **params) -> Dataset`` before standardization, on the CPU.
        task: what it is for (shown by ``actlab list datasets``).
        source: ``"generated"`` (made here), ``"bundled"`` (shipped with a package) or
            ``"download"`` (fetched once into the cache, checksums verified).
    """

    build: Callable[..., Dataset] | None = None
    task: Task = "classification"
    source: Literal["generated", "bundled", "download"] = "generated"


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def load(name: Any, *, seed: int = 0, device: str | torch.device = "cpu", **params: Any) -> Dataset:
    """Load (or generate) a registered dataset as tensors on ``device``.

    Args:
        name: a catalog name or alias (``actlab list datasets``), or one's own data -- a
            ``.csv``, ``.npz``, ``.npy`` or ``.pt`` file, tensors ``(x, y)`` or a map-style torch
            ``Dataset`` (:mod:`actlab.data.files`).
        seed: seeds generated data and random train/test splits; fixed benchmarks (MNIST,
            CIFAR-10, MNIST-1D's published generator seed) do not depend on it.
        device: where the tensors live.
        **params: the dataset's declared parameters (validated against their ranges).

    Raises:
        ActlabError: unknown name, bad parameter, missing download, or malformed data.

    Example::

        >>> load("circle", n=200, noise=0.1, seed=3).x_train.shape
        torch.Size([100, 2])
    """
    from actlab.data import files

    if files.is_own(name):  # a data file, or data given in Python
        return files.load(name, seed=seed, device=device, **params)
    info = DATASETS.get(name)
    p = info.bind(params)
    scale = p.pop(STANDARDIZE.name, False)
    ds = info.build(seed=int(seed), **p)
    ds = dataclasses.replace(ds, name=info.name, params={**p, STANDARDIZE.name: scale})
    validate(ds)
    if scale:
        ds = standardized(ds)
    return ds.to(device)


def standardized(ds: Dataset) -> Dataset:
    """Inputs scaled to zero mean and unit std using statistics of the training split only.

    Vectors ``(n, d)`` are scaled per feature; images ``(n, c, h, w)`` per channel. A feature
    that is constant in the training data (a blank MNIST corner) is only centred, never divided
    by zero.
    """
    x = ds.x_train.double()
    dims = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True)
    std = torch.where(std > 0, std, torch.ones_like(std))
    dtype = ds.x_train.dtype

    def apply(t: Tensor) -> Tensor:
        return ((t.double() - mean) / std).to(dtype)

    val = {} if ds.x_val is None else {"x_val": apply(ds.x_val)}
    return dataclasses.replace(ds, x_train=apply(ds.x_train), x_test=apply(ds.x_test), **val)


def split(
    x: Tensor, y: Tensor, train_ratio: float, seed: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Shuffle with ``seed``; cut at ``floor(n * train_ratio)``. Returns x/y train, x/y test."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    x, y = x[order], y[order]
    cut = int(len(x) * train_ratio)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def hold_out(ds: Dataset, fraction: float, seed: int) -> Dataset:
    """``ds`` with ``floor(n_train * fraction)`` training examples (chosen with ``seed``) moved
    to a validation split; ``ds`` itself if it already has one or ``fraction`` is 0. The
    inputs' standardization (fitted on the whole training split) is kept as it is."""
    if not fraction or ds.x_val is not None:
        return ds
    x_train, y_train, x_val, y_val = split(ds.x_train, ds.y_train, 1 - fraction, seed)
    if not len(x_val) or not len(x_train):
        raise ActlabError(
            f"dataset {ds.name!r}: validation={fraction:g} of {len(ds.x_train)} training "
            f"examples leaves an empty split"
        )
    return dataclasses.replace(ds, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)


def split_check(params: Mapping[str, Any]) -> str | None:
    """``check`` for datasets with ``n`` and ``train_ratio``: both splits must be non-empty."""
    n, cut = params["n"], int(params["n"] * params["train_ratio"])
    if 1 <= cut < n:
        return None
    return f"n={n} with train_ratio={params['train_ratio']:g} leaves an empty train or test split"


def validate(ds: Dataset) -> Dataset:
    """Return ``ds`` if its tensors are well-formed; raise a one-line :class:`ActlabError` if not.

    Checks: known task; float, finite inputs with matching per-example shapes; as many labels as
    inputs; int64 labels in ``[0, n_classes)`` or finite float regression targets ``(n, k)``;
    non-empty splits; all tensors on one device.
    """
    problem = _problem(ds)
    if problem:
        raise ActlabError(f"dataset {ds.name!r}: {problem}")
    return ds


def _problem(ds: Dataset) -> str | None:
    if ds.task not in TASKS:
        return f"task {ds.task!r} is not one of {TASKS}"
    parts = ("train", "test") if ds.x_val is None and ds.y_val is None else ("train", "test", "val")
    tensors = {f"{xy}_{part}": getattr(ds, f"{xy}_{part}") for part in parts for xy in "xy"}
    for key, t in tensors.items():
        if not isinstance(t, Tensor):
            return f"{key} is a {type(t).__name__}, not a tensor"
    if len({t.device for t in tensors.values()}) > 1:
        return "tensors are on different devices"
    for part in parts:
        x, y = tensors[f"x_{part}"], tensors[f"y_{part}"]
        if x.ndim < 2 or len(x) == 0:
            return f"x_{part} has shape {tuple(x.shape)}; expected (n >= 1, *input_shape)"
        if tuple(x.shape[1:]) != tuple(tensors["x_train"].shape[1:]):
            return f"x_{part} examples have shape {tuple(x.shape[1:])}, x_train's {ds.input_shape}"
        if not x.is_floating_point():
            return f"x_{part} has dtype {x.dtype}; expected a float dtype"
        if bad := int((~torch.isfinite(x)).sum()):
            return f"x_{part} has {bad} non-finite values"
        if len(y) != len(x):
            return f"{len(x)} inputs but {len(y)} labels in the {part} split"
        if problem := _label_problem(ds, y, f"y_{part}"):
            return problem
    return None


def _label_problem(ds: Dataset, y: Tensor, key: str) -> str | None:
    if ds.task == "regression":
        if y.ndim != 2 or not y.is_floating_point():
            return f"{key} has shape {tuple(y.shape)} and dtype {y.dtype}; expected float (n, k)"
        if bad := int((~torch.isfinite(y)).sum()):
            return f"{key} has {bad} non-finite values"
        return None
    if ds.n_classes is None or ds.n_classes < 2:
        return f"n_classes={ds.n_classes}; a classification set needs at least 2"
    if y.ndim != 1 or y.dtype != torch.int64:
        return f"{key} has shape {tuple(y.shape)} and dtype {y.dtype}; expected int64 (n,)"
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= ds.n_classes):
        return f"{key} has labels outside [0, {ds.n_classes})"
    return None
