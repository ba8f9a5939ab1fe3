"""Your own data as a :class:`~actlab.data.Dataset`: a ``.csv``, ``.npz``, ``.npy`` or ``.pt``
file, or tensors / a map-style ``torch.utils.data.Dataset`` given in Python.

Formats (one dataset per file):

- ``.csv``: a header row naming the columns, then one example per row. The target is the column
  ``target_column`` (default: the last one); every other column is a numeric feature.
- ``.npz``: arrays ``x`` ``(n, *input_shape)`` and ``y`` ``(n,)`` or ``(n, k)``, and optionally
  ``x_test`` and ``y_test`` (both or neither); no other array.
- ``.npy``: one 2-D numeric array ``(n, features + 1)`` whose last column is the target (a CSV
  without its header). Anything else goes in an ``.npz``.
- ``.pt``: a dict of tensors with the keys of ``.npz``, read with
  ``torch.load(weights_only=True)`` (no code runs).
- In Python: ``(x, y)``, ``(x, y, x_test, y_test)``, a dict with those keys, or a map-style
  ``Dataset`` whose items are ``(x, y)`` pairs, materialized to tensors once. Such data is kept
  for this process under the name ``tensors:HASH`` (a hash of its content), which is what a
  study stores, so a study stays plain JSON.

The task is ``classification`` when the target is text, or integer-valued with at most
:data:`MAX_CLASSES` distinct values (and at least :data:`PER_CLASS` examples per value on
average); ``regression`` otherwise; the ``task`` parameter overrides it. Class labels become
``0..k-1`` in sorted order, the original labels kept in ``Dataset.params["classes"]``; regression
targets are float32 ``(n, k)``, unscaled.

The split: without a test set, the examples are shuffled with the data seed and cut into
``test_fraction`` (20%) test, ``val_fraction`` (10%) validation and the rest (70%) train; with a
test set, ``val_fraction`` of the training examples become the validation split
(``Dataset.x_val``, ``y_val``; training uses train, reports use test). Inputs are then
standardized with the training split's statistics, as the catalog's datasets are.

Bad data is refused with one line naming the file and the line and column (``data.csv:7:
column 'x2' is 'nan'...``) or the array and index (``data.npz: x[12, 3] is nan...``).

>>> import torch
>>> ds = load((torch.randn(50, 3), torch.arange(50) % 2), seed=0)
>>> ds.task, ds.n_classes, len(ds.x_train), len(ds.x_val), len(ds.x_test)
('classification', 2, 35, 5, 10)
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from actlab._registry import Param, closest
from actlab.data._core import STANDARDIZE, Dataset, DatasetInfo, split, standardized, validate
from actlab.errors import ActlabError

__all__ = ["MAX_CLASSES", "PER_CLASS", "SUFFIXES", "describe", "fingerprint", "info", "is_own"]
__all__ += ["load", "name_of", "resolve"]

SUFFIXES = (".csv", ".npz", ".npy", ".pt")
MEMORY = "tensors:"  # the name of data given in Python: MEMORY + a hash of its content
KEYS = ("x", "y", "x_test", "y_test")
MAX_CLASSES = 100
PER_CLASS = 5
_EXPECTED = "expected x, y and optionally x_test, y_test"

PARAMS = (
    Param("target_column", "", "the CSV column holding the target ('': the last column)"),
    Param(
        "task",
        "auto",
        "classification or regression ('auto': inferred from the target)",
        choices=("auto", "classification", "regression"),
    ),
    Param(
        "test_fraction",
        0.2,
        "share of the examples held out for testing when the data has no test set",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    ),
    Param("val_fraction", 0.1, "share held out for validation", low=0, high=1, high_open=True),
    STANDARDIZE,
)


def _split_check(p: Mapping[str, Any]) -> str | None:
    if p["test_fraction"] + p["val_fraction"] < 1:
        return None
    return "test_fraction + val_fraction must be below 1 (some examples must be left to train on)"


_INFO = DatasetInfo(
    name="file",
    summary="your own data: a .csv, .npz, .npy or .pt file, or tensors given in Python",
    params=PARAMS,
    check=_split_check,
)


# ---- names --------------------------------------------------------------------------------


def is_own(dataset: Any) -> bool:
    """Whether ``dataset`` is data of one's own rather than a catalog name: a path (a known
    suffix, any suffix, or a path separator), a ``tensors:`` name, or data given in Python."""
    if isinstance(dataset, os.PathLike) or not isinstance(dataset, str):
        return True
    name = dataset.strip()
    return name.startswith(MEMORY) or "/" in name or "\\" in name or bool(Path(name).suffix)


def name_of(dataset: Any) -> str:
    """The name a study stores for ``dataset``: the path as given, or ``tensors:HASH`` for data
    given in Python (which is kept for this process under that name)."""
    if isinstance(dataset, os.PathLike):
        return os.fspath(dataset)
    if isinstance(dataset, str):
        return dataset.strip()
    raw = _from_python(dataset)
    name = MEMORY + fingerprint(raw.tensors())[:16]
    _MEMORY[name] = raw
    return name


def info(name: str) -> DatasetInfo:
    """The declared parameters of an own dataset, under its name (for checking parameters)."""
    return dataclasses.replace(_INFO, name=name)


def resolve(dataset: Any, params: Mapping[str, Any]) -> DatasetInfo:
    """:func:`info` with the task the data has, after reading and checking all of it."""
    name = name_of(dataset)
    p = info(name).bind(params)
    ds = validate(_dataset(_read(name, p["target_column"]), name, 0, p))
    return dataclasses.replace(info(name), task=ds.task)


def load(
    dataset: Any, *, seed: int = 0, device: str | torch.device = "cpu", **params: Any
) -> Dataset:
    """Read ``dataset`` (a file, a ``tensors:`` name, or data given in Python) as a checked,
    split and (by default) standardized :class:`Dataset` on ``device``.

    Args:
        dataset: see the module docstring for the formats.
        seed: shuffles the train/validation/test split.
        device: where the tensors live.
        **params: ``target_column``, ``task``, ``test_fraction``, ``val_fraction``,
            ``standardize`` (see :data:`PARAMS`).

    Raises:
        ActlabError: one line naming the file and the line, column or array at fault.
    """
    name = name_of(dataset)
    p = info(name).bind(params)
    raw = _read(name, p["target_column"])
    ds = validate(_dataset(raw, name, int(seed), p))
    return (standardized(ds) if p[STANDARDIZE.name] else ds).to(device)


def fingerprint(tensors: Iterable[Tensor]) -> str:
    """SHA-256 of the tensors' dtypes, shapes and bytes (on the CPU)."""
    h = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dim() else t.numpy().tobytes())
    return h.hexdigest()


def describe(name: str, params: Mapping[str, Any], data: Dataset | None = None) -> str | None:
    """One line saying how an own dataset becomes train/validation/test tensors (``None`` for a
    catalog dataset); with ``data`` (the loaded set), its sizes and classes too."""
    if not is_own(name):
        return None
    p = info(name).bind(params)
    column, csv = p["target_column"], name.lower().endswith(".csv")
    target = f"column {column!r}" if column else "the last column" if csv else "y"
    how = "given" if p["task"] != "auto" else "inferred from the target"
    task = p["task"] if p["task"] != "auto" else "task inferred from the target"
    test, val = p["test_fraction"], p["val_fraction"]
    cut = (
        f"without a test set {1 - test - val:.0%} train / {val:.0%} validation / {test:.0%} test "
        f"(with one, {val:.0%} of train validates), shuffled with the data seed"
    )
    if data is not None:
        task = f"{data.task} ({how})"
        if data.n_classes is not None:
            shown = ", ".join(map(str, data.params["classes"][:5]))
            task += f", {data.n_classes} classes ({shown}{', ...' if data.n_classes > 5 else ''})"
        n_val = 0 if data.x_val is None else len(data.x_val)
        kept = "test set given" if data.params["test"] == "given" else f"{test:.0%} test"
        cut = (
            f"{len(data.x_train)} train / {n_val} validation / {len(data.x_test)} test examples "
            f"({kept}, shuffled with the data seed)"
        )
    scale = "standardized with the training split's mean and std"
    scale = scale if p[STANDARDIZE.name] else "not standardized"
    return f"data: {name}; target {target}; {task}; {cut}; inputs {scale}"


# ---- from raw arrays to a Dataset -----------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """What a file holds, checked: float64 inputs; targets as float64 or as text labels."""

    where: str  # the file (or "tensors") named in messages
    target: str  # the target as messages name it: "column 'label'" or "y"
    x: Tensor
    y: Tensor | tuple[str, ...]
    x_test: Tensor | None = None
    y_test: Tensor | tuple[str, ...] | None = None
    lines: tuple[int, ...] = ()  # a CSV example's line in the file

    def tensors(self) -> list[Tensor]:
        return [t for t in (self.x, self.y, self.x_test, self.y_test) if isinstance(t, Tensor)]

    def at(self, i: int) -> str:
        """Where example ``i`` (of train then test) is: a CSV line, else its index."""
        return f"line {self.lines[i]}" if i < len(self.lines) else f"example {i}"


def _task(y: Tensor | tuple[str, ...], task: str) -> str:
    if task != "auto":
        return task
    if isinstance(y, tuple):
        return "classification"
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    values = y.unique()
    integral = bool((values == values.round()).all())
    few = len(values) <= max(2, min(MAX_CLASSES, len(y) // PER_CLASS))
    return "classification" if integral and few else "regression"


def _targets(raw: _Raw, y: Tensor | tuple[str, ...], task: str) -> tuple[Tensor, tuple]:
    """The target as the trainer takes it (int64 class indices, or float ``(n, k)``), and the
    original class labels in index order (empty for regression)."""
    where, what = raw.where, f"the target {raw.target}"
    if task == "regression":
        if isinstance(y, tuple):
            raise ActlabError(f"{where}: {what} holds text ({y[0]!r}); regression needs numbers")
        return (y if y.ndim == 2 else y[:, None]).float(), ()
    if isinstance(y, tuple):
        classes = tuple(sorted(set(y)))
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[v] for v in y], dtype=torch.int64)
    else:
        if y.ndim == 2 and y.shape[1] != 1:
            raise ActlabError(
                f"{where}: {what} has {y.shape[1]} columns; classification needs one label per "
                "example (or use task regression)"
            )
        y = y.reshape(-1)
        if (bad := (y != y.round()).nonzero()).numel():
            i = int(bad[0])
            raise ActlabError(
                f"{where}: {what} is {float(y[i]):g} at {raw.at(i)}, not a class label; "
                "classification needs integer labels (or use task regression)"
            )
        values, labels = torch.unique(y, return_inverse=True)
        classes = tuple(int(v) for v in values)
    if len(classes) < 2:
        raise ActlabError(
            f"{where}: {what} has a single class ({classes[0]!r}) in all {len(labels)} "
            "examples; classification needs at least 2"
        )
    return labels, classes


def _dataset(raw: _Raw, name: str, seed: int, p: Mapping[str, Any]) -> Dataset:
    given = raw.x_test is not None
    y_all = raw.y
    if given:
        text = isinstance(raw.y, tuple)
        y_all = raw.y + raw.y_test if text else torch.cat([raw.y, raw.y_test])
    task = _task(y_all, p["task"])
    y, classes = _targets(raw, y_all, task)
    n = len(raw.x)
    x, y_rest = raw.x.float(), y[:n]
    test, val = p["test_fraction"], p["val_fraction"]
    if given:
        x_test, y_test = raw.x_test.float(), y[n:]
    else:
        x, y_rest, x_test, y_test = split(x, y_rest, 1 - test, seed)
        val = val / (1 - test)
    x_train, y_train, x_val, y_val = split(x, y_rest, 1 - val, seed)
    if not len(x_train) or not len(x_test):
        raise ActlabError(
            f"{raw.where}: {n} example(s) are too few to split into train and test "
            f"(test_fraction={test:g}, val_fraction={p['val_fraction']:g})"
        )
    params = {**p, "task": task, "classes": classes, "test": "given" if given else "split"}
    return Dataset(
        name=name,
        task=task,
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=len(classes) if task == "classification" else None,
        params=params,
        x_val=x_val if len(x_val) else None,
        y_val=y_val if len(x_val) else None,
    )


# ---- reading --------------------------------------------------------------------------------

_MEMORY: dict[str, _Raw] = {}  # data given in Python, by name (kept for the process)
_PARSED: OrderedDict[tuple, _Raw] = OrderedDict()  # recent files, by content hash
_KEEP = 4


def _read(name: str, target_column: str) -> _Raw:
    if name.startswith(MEMORY):
        if target_column:
            raise ActlabError(f"{name}: target_column applies to .csv files; tensors give y")
        if name not in _MEMORY:
            raise ActlabError(
                f"dataset {name!r} was given as tensors in another Python process; "
                "pass the tensors again (Study(dataset=(x, y)))"
            )
        return _MEMORY[name]
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        kind = f"type {suffix!r}" if suffix else "without an extension"
        raise ActlabError(f"{name}: a data file {kind}; use {', '.join(SUFFIXES)}")
    if target_column and suffix != ".csv":
        raise ActlabError(f"{name}: target_column applies to .csv files; a {suffix} holds y")
    try:
        data = Path(name).read_bytes()
    except FileNotFoundError:
        raise ActlabError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ActlabError(f"{name} is a directory, not a data file") from None
    except OSError as e:
        raise ActlabError(f"{name}: {e.strerror or e}") from None
    if not data.strip():
        raise ActlabError(f"{name} is empty")
    key = (name, hashlib.sha256(data).hexdigest(), target_column)
    if key not in _PARSED:
        reader = {".csv": _read_csv, ".npy": _read_npy, ".npz": _read_npz, ".pt": _read_pt}
        _PARSED[key] = reader[suffix](name, data, target_column)
        while len(_PARSED) > _KEEP:
            _PARSED.popitem(last=False)
    _PARSED.move_to_end(key)
    return _PARSED[key]


def _read_csv(where: str, data: bytes, target_column: str) -> _Raw:
    import csv

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ActlabError(f"{where}: not UTF-8 text (byte {e.start})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next((row for row in rows if row), [])
    names = [h.strip() for h in header]
    for j, h in enumerate(names):
        if h in names[:j]:
            raise ActlabError(f"{where}:{rows.line_num}: the header names column {h!r} twice")
    if len(names) < 2:
        raise ActlabError(
            f"{where}: the header names {len(names)} column; a data file needs feature columns "
            "and a target column"
        )
    t = _column(where, names, target_column)
    features, labels, lines = [], [], []
    for row in rows:
        if not row:
            continue
        line = rows.line_num
        if len(row) != len(names):
            raise ActlabError(
                f"{where}:{line}: {len(row)} values, but the header names {len(names)} columns"
            )
        features.append([_number(where, line, names[j], c) for j, c in enumerate(row) if j != t])
        labels.append(row[t].strip())
        lines.append(line)
    if not features:
        raise ActlabError(f"{where} has a header but no data rows")
    target = f"column {names[t]!r}"
    return _Raw(where, target, torch.tensor(features, dtype=torch.float64),
                _csv_target(where, target, labels, lines), lines=tuple(lines))  # fmt: skip


def _column(where: str, names: list[str], target_column: str) -> int:
    if not target_column:
        return len(names) - 1
    if target_column in names:
        return names.index(target_column)
    near = closest(target_column, names)
    hint = f"; did you mean: {', '.join(near)}?" if near else ""
    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    raise ActlabError(f"{where}: no column {target_column!r}{hint} (columns: {shown})")


def _number(where: str, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise ActlabError(f"{where}:{line}: column {column!r} is empty (a missing value)")
    try:
        value = float(text)
    except ValueError:
        raise ActlabError(
            f"{where}:{line}: column {column!r} holds {text!r}, not a number; feature columns "
            "must be numeric (encode categories as numbers first)"
        ) from None
    if not math.isfinite(value):
        raise ActlabError(f"{where}:{line}: column {column!r} is {text!r}; values must be finite")
    return value


def _csv_target(where: str, target: str, labels: list[str], lines: list[int]) -> Any:
    """Numbers if every label is one, text labels if none is; anything else is an error."""
    numbers = []
    for label, line in zip(labels, lines):
        if not label:
            raise ActlabError(f"{where}:{line}: {target} is empty (a missing value)")
        try:
            numbers.append(float(label))
        except ValueError:
            numbers.append(None)
    text = [(label, line) for label, n, line in zip(labels, numbers, lines) if n is None]
    if len(text) == len(labels):
        return tuple(labels)
    if text:
        label, line = text[0]
        raise ActlabError(
            f"{where}:{line}: {target} holds {label!r} among numbers; give every label as a "
            "number or every label as text"
        )
    for value, line in zip(numbers, lines):
        if not math.isfinite(value):
            raise ActlabError(f"{where}:{line}: {target} is {value}; values must be finite")
    return torch.tensor(numbers, dtype=torch.float64)


def _read_npy(where: str, data: bytes, _: str) -> _Raw:
    import numpy as np

    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ActlabError(f"{where}: not a readable .npy file ({_first(e)})") from None
    if not isinstance(a, np.ndarray) or a.ndim != 2 or a.shape[1] < 2:
        shape = getattr(a, "shape", "not one array")
        raise ActlabError(
            f"{where}: a .npy file holds one 2-D array whose last column is the target, shape "
            f"(n, features + 1); this one has {shape} (save x and y with numpy.savez instead)"
        )
    return _arrays(where, {"x": a[:, :-1], "y": a[:, -1]})


def _read_npz(where: str, data: bytes, _: str) -> _Raw:
    import zipfile

    import numpy as np

    if not data.startswith(b"PK"):
        raise ActlabError(f"{where}: not a .npz file (not a zip archive); save with numpy.savez")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as e:
        raise ActlabError(f"{where}: not a readable .npz file ({_first(e)})") from None
    return _arrays(where, arrays)


def _read_pt(where: str, data: bytes, _: str) -> _Raw:
    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception:  # unpickling raises many kinds; all mean "not a file of tensors"
        raise ActlabError(
            f"{where}: not a readable torch file of tensors (torch.load(weights_only=True) "
            "refuses it); save a dict of tensors with torch.save"
        ) from None
    if not isinstance(obj, Mapping):
        raise ActlabError(f"{where} holds a {type(obj).__name__}; {_EXPECTED} in a dict")
    return _arrays(where, obj)


def _first(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


# ---- arrays and Python data -------------------------------------------------------------------


def _from_python(obj: Any) -> _Raw:
    """``(x, y)``, ``(x, y, x_test, y_test)``, a dict of those, or a map-style Dataset."""
    if isinstance(obj, Mapping):
        return _arrays("tensors", obj)
    pair = isinstance(obj, (tuple, list)) and len(obj) in (2, 4)
    if pair and all(hasattr(v, "shape") for v in obj):
        return _arrays("tensors", dict(zip(KEYS, obj)))
    if isinstance(obj, torch.utils.data.Dataset):
        return _arrays("Dataset", _materialize(obj))
    raise ActlabError(
        f"dataset={type(obj).__name__} is not a dataset name, a data file ({', '.join(SUFFIXES)}),"
        " tensors (x, y) or (x, y, x_test, y_test), or a map-style torch Dataset"
    )


def _materialize(ds: Any) -> dict[str, Tensor]:
    """Every ``(x, y)`` item of a map-style Dataset, stacked."""
    try:
        n = len(ds)
    except TypeError:
        raise ActlabError(
            f"a {type(ds).__name__} has no len(): give a map-style Dataset or tensors (x, y)"
        ) from None
    xs, ys = [], []
    for i in range(n):
        item = ds[i]
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ActlabError(f"Dataset item {i} is a {type(item).__name__}, not an (x, y) pair")
        try:
            xs.append(torch.as_tensor(item[0]))
            ys.append(torch.as_tensor(item[1]))
        except (TypeError, ValueError, RuntimeError):
            kinds = f"{type(item[0]).__name__}, {type(item[1]).__name__}"
            raise ActlabError(f"Dataset item {i} is ({kinds}), not tensors or numbers") from None
    if not xs:
        raise ActlabError("the Dataset is empty")
    for i, (xi, yi) in enumerate(zip(xs, ys)):
        if xi.shape != xs[0].shape or yi.shape != ys[0].shape:
            raise ActlabError(
                f"Dataset item {i} has shapes {tuple(xi.shape)}, {tuple(yi.shape)}; item 0 "
                f"has {tuple(xs[0].shape)}, {tuple(ys[0].shape)}"
            )
    return {"x": torch.stack(xs), "y": torch.stack(ys)}


def _arrays(where: str, arrays: Mapping[str, Any]) -> _Raw:
    """Check arrays ``x, y[, x_test, y_test]`` and hold them as float64 (text ``y`` as str)."""
    held = ", ".join(map(str, arrays)) or "nothing"
    for key in ("x", "y"):
        if key not in arrays:
            raise ActlabError(f"{where} has no array {key!r} (it holds {held}); {_EXPECTED}")
    for key in arrays:
        if key not in KEYS:
            near = closest(str(key), list(KEYS))
            hint = f"; did you mean: {', '.join(near)}?" if near else ""
            raise ActlabError(f"{where}: unknown array {key!r}{hint}; {_EXPECTED}")
    if ("x_test" in arrays) != ("y_test" in arrays):
        has, lacks = ("x_test", "y_test") if "x_test" in arrays else ("y_test", "x_test")
        raise ActlabError(f"{where} has {has} but no {lacks}; give both or neither")
    t = {k: _tensor(where, k, v) for k, v in arrays.items()}
    for x_key, y_key in (("x", "y"), ("x_test", "y_test")):
        if x_key not in t:
            continue
        x, y = t[x_key], t[y_key]
        if isinstance(x, tuple):
            raise ActlabError(f"{where}: {x_key} holds text; inputs must be numbers")
        if x.ndim == 0 or len(x) == 0:
            raise ActlabError(f"{where}: {x_key} has shape {tuple(x.shape)}; it holds no examples")
        if len(x) != len(y):
            raise ActlabError(f"{where}: {x_key} has {len(x)} rows but {y_key} has {len(y)}")
        if not isinstance(y, tuple) and y.ndim not in (1, 2):
            shape = tuple(y.shape)
            raise ActlabError(f"{where}: {y_key} has shape {shape}; expected (n,) or (n, k)")
        for key, v in ((x_key, x), (y_key, y)):
            if isinstance(v, Tensor) and (bad := (~torch.isfinite(v)).nonzero()).numel():
                index = ", ".join(str(int(i)) for i in bad[0])
                value = v[tuple(bad[0])].item()
                raise ActlabError(f"{where}: {key}[{index}] is {value}; values must be finite")
    if "y_test" in t and _shape(t["y_test"])[1:] != _shape(t["y"])[1:]:
        y_test, y = _shape(t["y_test"]), _shape(t["y"])
        raise ActlabError(f"{where}: y_test has shape {y_test}, y {y}; they must match but for n")
    x = t["x"] if t["x"].ndim > 1 else t["x"][:, None]
    x_test = t.get("x_test")
    if x_test is not None:
        x_test = x_test if x_test.ndim > 1 else x_test[:, None]
        if x_test.shape[1:] != x.shape[1:]:
            raise ActlabError(
                f"{where}: x_test examples have shape {tuple(x_test.shape[1:])}, "
                f"x's {tuple(x.shape[1:])}"
            )
    return _Raw(where, "y", x, t["y"], x_test, t.get("y_test"))


def _shape(v: Tensor | tuple[str, ...]) -> tuple:
    """A target's shape; text labels count as ``(n, "text")`` so they never match numbers."""
    return (len(v), "text") if isinstance(v, tuple) else tuple(v.shape)


def _tensor(where: str, key: str, value: Any) -> Tensor | tuple[str, ...]:
    kind = getattr(getattr(value, "dtype", None), "kind", None)  # numpy's dtype letter
    if kind in ("U", "S") and key.startswith("y") and getattr(value, "ndim", 0) == 1:
        return tuple(str(v) for v in value.tolist())
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise ActlabError(
            f"{where}: {key} is a {type(value).__name__} that is not numeric; expected numbers"
        ) from None
    if t.is_complex():
        raise ActlabError(f"{where}: {key} has dtype {t.dtype}; expected real numbers")
    return t.detach().cpu().double()
