"""The dataset catalog: every dataset declared once in :data:`DATASETS`, loaded as tensors.

:func:`load` also takes your own data -- a ``.csv``, ``.npz``, ``.npy`` or ``.pt`` file, tensors
``(x, y)`` or a map-style torch ``Dataset`` (:mod:`actlab.data.files`).

>>> from actlab import data
>>> ds = data.load("spiral", n=200, noise=0.1, seed=0)
>>> ds.task, ds.input_shape, ds.n_classes
('classification', (2,), 2)
"""

from __future__ import annotations

# Importing the modules registers their entries (order = catalog order: toy sets first).
from actlab.data import toy  # noqa: F401

# isort: split
from actlab.data import benchmarks, images  # noqa: F401

# isort: split
from actlab.data._core import (
    DATASETS,
    Dataset,
    DatasetInfo,
    load,
    split,
    standardized,
    validate,
)
from actlab.data.download import cache_dir

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "cache_dir",
    "get",
    "load",
    "names",
    "split",
    "standardized",
    "validate",
]

get = DATASETS.get
names = DATASETS.names
