"""Real image sets, downloaded once into the cache: MNIST, Fashion-MNIST and CIFAR-10.

Inputs are ``(n, channels, height, width)`` float32 in ``[0, 1]`` (before standardization);
labels are int64 class indices. The parsers read the published formats directly: IDX (gzip) for
the MNIST family, the python pickle batches for CIFAR-10 -- unpickled only after the file's
checksum matched, and through an unpickler that admits nothing but numpy arrays.
"""

from __future__ import annotations

import gzip
import importlib
import io
import math
import pickle
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from actlab.data._core import DATASETS, STANDARDIZE, Dataset, DatasetInfo
from actlab.data.download import RemoteFile, cache_dir, ensure, verify
from actlab.errors import ActlabError

__all__ = ["read_cifar_batch", "read_idx"]

# IDX element types (third byte of the magic number), big-endian, as specified on
# http://yann.lecun.com/exdb/mnist/ ("THE IDX FILE FORMAT").
IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed if it ends in ``.gz``) as a native-endian array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ActlabError(f"{path} is not a readable IDX file ({e})") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise ActlabError(f"{path} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim, dtype = data[3], np.dtype(IDX_TYPES[data[2]])
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ActlabError(f"{path} is truncated inside its IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        raise ActlabError(
            f"{path}: the IDX header promises shape {shape} ({expected} bytes) "
            f"but {len(data) - start} bytes follow"
        )
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays -- and refuses every other global."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),  # how numpy < 2 (and CIFAR-10) names it
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),  # bytes pickled by Python 3 at protocol < 3
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        module = module.replace("numpy.core.", "numpy._core.")
        return getattr(importlib.import_module(module), name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images ``(n, 3, 32, 32)`` uint8 and labels ``(n,)`` int64.

    The format (https://www.cs.toronto.edu/~kriz/cifar.html): a pickled dict whose ``b"data"`` is
    an ``(n, 3072)`` uint8 array, each row the 1024 red, then green, then blue values of a 32x32
    image in row-major order, and whose ``b"labels"`` lists n numbers in 0..9.
    """
    try:
        with open(path, "rb") as f:
            batch = _ArraysOnly(io.BytesIO(f.read()), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, OSError) as e:
        raise ActlabError(f"{path} is not a CIFAR-10 batch ({e})") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ActlabError(
            f"{path}: data has shape {data.shape}, dtype {data.dtype}; expected (n, 3072) uint8"
        )
    return data.reshape(-1, 3, 32, 32), labels


def _images(x: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255)
    return x.unsqueeze(1) if x.ndim == 3 else x


def _idx_set(name: str, md5s: dict[str, str], mirrors: tuple[str, ...]) -> Callable[..., Dataset]:
    """The builder of an MNIST-like set: four IDX files in ``cache_dir()/name``."""

    def build(*, seed: int) -> Dataset:
        files = [RemoteFile(f, md5, tuple(m + f for m in mirrors)) for f, md5 in md5s.items()]
        x_train, y_train, x_test, y_test = (read_idx(p) for p in ensure(name, files))
        return Dataset(
            name=name,
            task="classification",
            x_train=_images(x_train),
            y_train=torch.from_numpy(y_train.astype(np.int64)),
            x_test=_images(x_test),
            y_test=torch.from_numpy(y_test.astype(np.int64)),
            n_classes=10,
        )

    return build


IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# MD5s as published with the datasets and pinned by torchvision (torchvision/datasets/mnist.py,
# MNIST.resources and FashionMNIST.resources); Fashion-MNIST's also in its README's table.
MNIST_MD5 = dict(
    zip(
        IDX_NAMES,
        (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3",
            "ec29112dd5afa0611ce80d1b7f02629c",
        ),
    )
)
FASHION_MD5 = dict(
    zip(
        IDX_NAMES,
        (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79",
            "bb300cfdad3c16e7a12a480ee83cd310",
        ),
    )
)
MNIST_MIRRORS = (
    "http://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)

# The archive's MD5 is published on https://www.cs.toronto.edu/~kriz/cifar.html; the per-batch
# MD5s are those pinned by torchvision (torchvision/datasets/cifar.py, CIFAR10.train_list and
# CIFAR10.test_list).
CIFAR_ARCHIVE = RemoteFile(
    "cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
)
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


def _cifar_batches() -> dict[str, Path]:
    """The six batch files, extracted from the (downloaded, verified) archive if missing."""
    directory = cache_dir() / "cifar10" / CIFAR_DIR
    paths = {name: directory / name for name in CIFAR_MD5}
    if not all(p.exists() for p in paths.values()):
        (archive,) = ensure("cifar10", [CIFAR_ARCHIVE])
        directory.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            for name, path in paths.items():
                # Read only the expected members: nothing in the archive picks a path on disk.
                try:
                    member = tar.extractfile(f"{CIFAR_DIR}/{name}")
                except KeyError:
                    raise ActlabError(f"{archive} has no member {CIFAR_DIR}/{name}") from None
                part = path.with_suffix(".part")
                part.write_bytes(member.read())
                part.replace(path)
        archive.unlink()
    return {name: verify(path, CIFAR_MD5[name]) for name, path in paths.items()}


def _cifar10(*, seed: int) -> Dataset:
    batches = _cifar_batches()
    train = [read_cifar_batch(batches[f"data_batch_{i}"]) for i in range(1, 6)]
    x_test, y_test = read_cifar_batch(batches["test_batch"])
    return Dataset(
        name="cifar10",
        task="classification",
        x_train=_images(np.concatenate([x for x, _ in train])),
        y_train=torch.from_numpy(np.concatenate([y for _, y in train])),
        x_test=_images(x_test),
        y_test=torch.from_numpy(y_test),
        n_classes=10,
    )


DATASETS.register(
    DatasetInfo(
        name="mnist",
        summary="Handwritten digits, 28x28 grayscale, 60000 train / 10000 test (10 classes).",
        params=(STANDARDIZE,),
        reference="LeCun et al., Proc. IEEE 86(11), 1998; http://yann.lecun.com/exdb/mnist/",
        build=_idx_set("mnist", MNIST_MD5, MNIST_MIRRORS),
        source="download",
    )
)
DATASETS.register(
    DatasetInfo(
        name="fashion_mnist",
        summary="Zalando clothing images, 28x28 grayscale, 60000 / 10000 (10 classes).",
        params=(STANDARDIZE,),
        aliases=("fashion",),
        reference="Xiao, Rasul & Vollgraf, arXiv:1708.07747, 2017",
        build=_idx_set("fashion_mnist", FASHION_MD5, FASHION_MIRRORS),
        source="download",
    )
)
DATASETS.register(
    DatasetInfo(
        name="cifar10",
        summary="Small natural images, 32x32 RGB, 50000 train / 10000 test (10 classes).",
        params=(STANDARDIZE,),
        aliases=("cifar_10",),
        reference="Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009",
        build=_cifar10,
        source="download",
    )
)
