"""Small offline benchmarks: MNIST-1D (generated) and scikit-learn's bundled 8x8 digits.

MNIST-1D (Greydanus & Kobak, 2024) is made here with the ``mnist1d`` package's ``make_dataset``
-- never its ``get_dataset``, which downloads -- from the package's own defaults
(``get_dataset_args``: 5000 examples, 80 % train, length 40, generator seed 42; that is the
published dataset). Generation takes seconds, so the arrays are cached under
``cache_dir()/mnist1d``, keyed by a hash of the arguments and the package version.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actlab._registry import Param
from actlab.data._core import DATASETS, STANDARDIZE, Dataset, DatasetInfo, split
from actlab.data.download import cache_dir
from actlab.errors import ActlabError

__all__ = ["mnist1d_arrays"]

MNIST1D_PARAMS = (
    Param(
        "num_samples",
        5000,
        "examples made, train + test (500 per class by default)",
        low=20,
        high=1_000_000,
    ),
    Param(
        "train_split",
        0.8,
        "fraction used for training",
        low=0,
        high=1,
        low_open=True,
        high_open=True,
    ),
    Param("final_seq_length", 40, "length of each signal", low=2, high=10_000),
    Param("iid_noise_scale", 2e-2, "std of the white noise", low=0.0),
    Param("corr_noise_scale", 0.25, "std of the correlated background noise", low=0.0),
    Param("shear_scale", 0.75, "largest shear", low=0.0),
    Param("scale_coeff", 0.4, "largest relative change of amplitude", low=0.0, high=1.0),
    Param("max_translation", 48, "largest circular shift", low=1, high=60),
    Param("shuffle_seq", False, "permute the positions (destroys spatial structure)"),
    Param(
        "generator_seed",
        42,
        "mnist1d's seed; 42 gives the published dataset",
        low=0,
        high=2**32 - 1,
    ),
)


def _mnist1d_check(p: dict[str, Any]) -> str | None:
    total = 10 * (p["num_samples"] // 10)
    if 1 <= int(total * p["train_split"]) < total:
        return None
    return (
        f"num_samples={p['num_samples']} with train_split={p['train_split']:g} leaves a split empty"
    )


def mnist1d_arrays(**params: Any) -> dict[str, np.ndarray]:
    """MNIST-1D as arrays ``x, y, x_test, y_test`` (``make_dataset``'s own split), cached.

    ``params`` are the declared MNIST-1D parameters (defaults from ``get_dataset_args``).
    """
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url")  # used only by get_dataset's download
    args.update({k: v for k, v in params.items() if k != "generator_seed"})
    args["seed"] = params.get("generator_seed", args["seed"])
    version = importlib.metadata.version("mnist1d")
    key = hashlib.sha256(json.dumps([version, args], sort_keys=True).encode()).hexdigest()
    path = cache_dir() / "mnist1d" / f"{key[:24]}.npz"
    if (cached := _read_npz(path)) is not None:
        return cached
    arrays = _make_mnist1d(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.stem}.{os.getpid()}.part")
    with open(part, "wb") as f:
        np.savez(f, **arrays)
    os.replace(part, path)  # a reader never sees a half-written cache file
    return arrays


def _make_mnist1d(args: dict[str, Any]) -> dict[str, np.ndarray]:
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    # make_dataset seeds the global `random` and `numpy.random` generators; put them back.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return {k: np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test")}


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in ("x", "y", "x_test", "y_test")}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # damaged cache entry: make it again


def _mnist1d(*, seed: int, **params: Any) -> Dataset:
    a = mnist1d_arrays(**params)
    return Dataset(
        name="mnist1d",
        task="classification",
        x_train=torch.from_numpy(a["x"]).float(),
        y_train=torch.from_numpy(a["y"]).long(),
        x_test=torch.from_numpy(a["x_test"]).float(),
        y_test=torch.from_numpy(a["y_test"]).long(),
        n_classes=10,
    )


def _digits(*, seed: int, train_ratio: float) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        message = "the digits dataset needs scikit-learn (pip install scikit-learn)"
        raise ActlabError(message) from None
    bunch = load_digits()
    x = torch.from_numpy(bunch.data).float().div_(16).reshape(-1, 1, 8, 8)
    y = torch.from_numpy(bunch.target).long()
    x_train, y_train, x_test, y_test = split(x, y, train_ratio, seed)
    return Dataset("digits", "classification", x_train, y_train, x_test, y_test, n_classes=10)


DATASETS.register(
    DatasetInfo(
        name="mnist1d",
        summary="MNIST-1D: ten 1-D digit templates, padded, shifted, sheared and noised "
        "(40 features, 4000 train / 1000 test by default, 10 classes).",
        params=(*MNIST1D_PARAMS, STANDARDIZE),
        aliases=("mnist_1d",),
        check=_mnist1d_check,
        reference="Greydanus & Kobak, Scaling Down Deep Learning with MNIST-1D, ICML 2024",
        build=_mnist1d,
    )
)
DATASETS.register(
    DatasetInfo(
        name="digits",
        summary="scikit-learn's bundled digits, 8x8 grayscale, 1797 images (10 classes).",
        params=(
            Param(
                "train_ratio",
                0.8,
                "fraction used for training",
                low=0,
                high=1,
                low_open=True,
                high_open=True,
            ),
            STANDARDIZE,
        ),
        reference="UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998)",
        build=_digits,
        source="bundled",
    )
)
