"""Downloaded sets without the network: tiny IDX and CIFAR-10 files written here, in the cache
layout, test the parsers, checksum verification, the download path and the offline message."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import re
import struct
import tarfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

from actlab.data import cache_dir, images, load
from actlab.data import download as dl
from actlab.errors import ActlabError

RNG = np.random.default_rng(0)
IDX_CODES = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D}


def idx_bytes(array: np.ndarray, dtype: str = "u1") -> bytes:
    """The IDX encoding, written from the format's description: 0, 0, type, ndim, big-endian
    dimensions, big-endian data."""
    dt = np.dtype(dtype)
    header = bytes([0, 0, IDX_CODES[dt], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dt).tobytes()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data cache; any attempt to reach the network fails the test."""
    monkeypatch.setenv("ACTLAB_DATA", str(tmp_path))

    def no_network(url: str, timeout: float = 0) -> None:
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(dl, "urlopen", no_network)
    return tmp_path


def write_mnist(folder: Path, n_train: int = 6, n_test: int = 3) -> dict[str, np.ndarray]:
    arrays = {
        "train-images-idx3-ubyte.gz": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": RNG.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": RNG.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        (folder / name).write_bytes(gzip.compress(idx_bytes(a)))
    return arrays


def trust(monkeypatch: pytest.MonkeyPatch, table: dict[str, str], folder: Path) -> None:
    """Pin the checksums of the files written here in place of the published ones."""
    for name in table:
        monkeypatch.setitem(table, name, md5(folder / name))


def test_cache_dir_follows_actlab_data_then_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTLAB_DATA", "/somewhere/data")
    assert cache_dir() == Path("/somewhere/data")
    monkeypatch.delenv("ACTLAB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert cache_dir() == Path("/xdg/actlab")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path("~/.cache/actlab").expanduser()


@pytest.mark.parametrize(
    ("shape", "dtype"), [((5, 4, 3), "u1"), ((7,), "u1"), ((2, 3), ">i4"), ((3, 2, 2), ">f4")]
)
def test_read_idx_roundtrip(tmp_path: Path, shape: tuple[int, ...], dtype: str) -> None:
    a = (RNG.standard_normal(shape) * 100).astype(dtype) if "f" in dtype else None
    a = a if a is not None else RNG.integers(0, 120, shape).astype(dtype)
    plain, packed = tmp_path / "a-idx", tmp_path / "a-idx.gz"
    plain.write_bytes(idx_bytes(a, dtype))
    packed.write_bytes(gzip.compress(idx_bytes(a, dtype)))
    for path in (plain, packed):
        got = images.read_idx(path)
        assert got.shape == shape and np.array_equal(got, a) and got.dtype.isnative


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", re.escape("shape (5,) (5 bytes) but 3 bytes")),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01a", "bad magic"),
        (b"\x08\x03", "bad magic"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated"),
    ],
)
def test_read_idx_refuses_malformed_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(ActlabError, match=message):
        images.read_idx(path)
    path = tmp_path / "bad-idx.gz"
    path.write_bytes(content)  # not gzip
    with pytest.raises(ActlabError, match="not a readable IDX file"):
        images.read_idx(path)


@pytest.mark.parametrize(
    ("name", "table"), [("mnist", "MNIST_MD5"), ("fashion_mnist", "FASHION_MD5")]
)
def test_idx_sets_load_from_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch, name: str, table: str
) -> None:
    arrays = write_mnist(cache / name)
    trust(monkeypatch, getattr(images, table), cache / name)
    ds = load(name, standardize=False)
    assert ds.input_shape == (1, 28, 28) and ds.n_classes == 10 and len(ds.x_test) == 3
    expected = torch.from_numpy(arrays["train-images-idx3-ubyte.gz"]).float() / 255
    assert torch.equal(ds.x_train[:, 0], expected)
    assert ds.y_test.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    scaled = load(name)
    assert abs(float(scaled.x_train.mean())) < 1e-5


def test_a_tampered_file_is_refused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_mnist(cache / "mnist")
    trust(monkeypatch, images.MNIST_MD5, cache / "mnist")
    load("mnist")
    target = cache / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(raw[:-1] + bytes([(raw[-1] + 1) % 10])))  # one label
    with pytest.raises(ActlabError) as err:
        load("mnist")
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz fails its checksum" in message and "\n" not in message


def test_published_checksums_are_always_checked(cache: Path) -> None:
    write_mnist(cache / "mnist")  # right names, wrong content
    with pytest.raises(ActlabError, match="expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        load("mnist")


def test_loaders_validate_what_they_parse(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = write_mnist(cache / "mnist")
    labels = arrays["train-labels-idx1-ubyte.gz"][:-1]
    (cache / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    trust(monkeypatch, images.MNIST_MD5, cache / "mnist")
    with pytest.raises(ActlabError, match="6 inputs but 5 labels in the train split"):
        load("mnist")


def test_offline_gives_one_clear_line(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tried = []

    def offline(url: str, timeout: float = 0) -> None:
        tried.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(dl, "urlopen", offline)
    with pytest.raises(ActlabError) as err:
        load("fashion_mnist")
    message = str(err.value)
    assert "\n" not in message and "cannot download train-images-idx3-ubyte.gz" in message
    assert "offline?" in message and str(cache / "fashion_mnist") in message
    assert "name resolution" in message
    assert [u.rsplit("/", 1)[1] for u in tried] == ["train-images-idx3-ubyte.gz"] * 2  # mirrors
    assert list((cache / "fashion_mnist").iterdir()) == []  # no partial file left behind


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns, for the parts ``fetch`` uses."""


def test_download_verifies_and_falls_back_to_the_next_mirror(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = write_mnist(cache / "staging")
    files = {f.name: f.read_bytes() for f in (cache / "staging").iterdir()}
    trust(monkeypatch, images.MNIST_MD5, cache / "staging")
    calls = []

    def mirror(url: str, timeout: float = 0) -> FakeResponse:
        calls.append(url)
        name = url.rsplit("/", 1)[1]
        if "yann.lecun.com" in url:
            return FakeResponse(b"<html>403 Forbidden</html>")  # damaged: wrong checksum
        return FakeResponse(files[name])

    monkeypatch.setattr(dl, "urlopen", mirror)
    ds = load("mnist", standardize=False)
    assert len(calls) == 8 and all(c.startswith("https://ossci") for c in calls[1::2])
    assert ds.y_train.tolist() == served["train-labels-idx1-ubyte.gz"].tolist()
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(files)
    calls.clear()
    load("mnist")
    assert calls == []  # cached now


def cifar_batch(n: int, seed: int) -> tuple[dict, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    return {b"batch_label": b"batch", b"labels": labels, b"data": data}, data, labels


def write_cifar(folder: Path, n: int = 4) -> dict[str, tuple[np.ndarray, list[int]]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, name in enumerate(images.CIFAR_MD5):
        batch, data, labels = cifar_batch(n, i)
        # Protocol 2, as the published batches (written by Python 2's cPickle).
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        out[name] = (data, labels)
    return out


def test_cifar10_parses_python_batches(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = cache / "cifar10" / images.CIFAR_DIR
    written = write_cifar(folder)
    trust(monkeypatch, images.CIFAR_MD5, folder)
    ds = load("cifar10", standardize=False)
    assert ds.input_shape == (3, 32, 32) and len(ds.x_train) == 20 and len(ds.x_test) == 4
    data, labels = written["data_batch_2"]
    # Row layout: 1024 red, 1024 green, 1024 blue values, each image row-major.
    for c, i, j in [(0, 0, 0), (1, 5, 7), (2, 31, 31), (2, 0, 31)]:
        assert torch.round(ds.x_train[4 + 1, c, i, j] * 255) == data[1, c * 1024 + i * 32 + j]
    assert ds.y_train[4:8].tolist() == labels
    assert ds.y_test.tolist() == written["test_batch"][1]
    scaled = load("cifar10")
    means = scaled.x_train.mean(dim=(0, 2, 3))
    assert torch.allclose(means, torch.zeros(3), atol=1e-5)


def test_cifar10_downloads_and_extracts_the_archive(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = cache / "staging" / images.CIFAR_DIR
    written = write_cifar(staging, n=2)
    trust(monkeypatch, images.CIFAR_MD5, staging)
    archive = cache / "staging" / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging, arcname=images.CIFAR_DIR)
    remote = dataclasses.replace(images.CIFAR_ARCHIVE, md5=md5(archive))
    monkeypatch.setattr(images, "CIFAR_ARCHIVE", remote)
    monkeypatch.setattr(dl, "urlopen", lambda url, timeout=0: FakeResponse(archive.read_bytes()))
    ds = load("cifar10", standardize=False)
    assert ds.y_test.tolist() == written["test_batch"][1]
    folder = cache / "cifar10"
    assert sorted(p.name for p in (folder / images.CIFAR_DIR).iterdir()) == sorted(images.CIFAR_MD5)
    assert not (folder / "cifar-10-python.tar.gz").exists()  # archive removed once extracted


def test_cifar10_offline(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout: float = 0) -> None:
        raise URLError("Network is unreachable")

    monkeypatch.setattr(dl, "urlopen", offline)
    with pytest.raises(ActlabError, match=r"cannot download cifar-10-python.tar.gz \(Network"):
        load("cifar10")


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_cifar_unpickler_admits_only_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Payload(marker), b"labels": []}, protocol=2))
    with pytest.raises(ActlabError, match=r"not a CIFAR-10 batch .*refusing to load"):
        images.read_cifar_batch(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({b"labels": [1]}, protocol=2))
    with pytest.raises(ActlabError, match="not a CIFAR-10 batch"):
        images.read_cifar_batch(path)
    bad = {b"data": np.zeros((2, 10), np.uint8), b"labels": [1, 2]}
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ActlabError, match=r"expected \(n, 3072\) uint8"):
        images.read_cifar_batch(path)
