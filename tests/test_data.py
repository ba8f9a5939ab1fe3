"""The dataset catalog: toy sets against the Playground's definitions, splits, standardization,
validation, the bundled digits and generated MNIST-1D (checked against ``mnist1d`` itself)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import actlab.cli.list_cmd  # noqa: F401  (registers the command)
from actlab import data
from actlab.cli._app import app
from actlab.data import DATASETS, Dataset, load, standardized, validate
from actlab.data import benchmarks as bench
from actlab.errors import ActlabError, ParameterError, UnknownNameError

TOY = [i.name for i in DATASETS if i.reference.startswith(("TensorFlow", "as sklearn"))]
CLASSIFY_TOY = [n for n in TOY if DATASETS.get(n).task == "classification"]


def test_catalog_lists_every_kind_and_cli_shows_it() -> None:
    assert set(TOY) == {"circle", "xor", "gauss", "spiral", "plane", "multi_gauss", "moons"}
    assert {"mnist1d", "digits", "mnist", "fashion_mnist", "cifar10"} <= set(DATASETS.names())
    result = CliRunner().invoke(app, ["list", "datasets", "--plain"])
    assert result.exit_code == 0, result.output
    listed = [line.split("\t")[0].split(" ")[0] for line in result.output.splitlines()]
    assert listed == list(DATASETS.names())


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_entry_is_declared_completely(name: str) -> None:
    info = DATASETS.get(name)
    assert info.build is not None and info.summary and info.reference
    assert "standardize" in info.defaults


@pytest.mark.parametrize("name", TOY)
def test_toy_sets_shapes_dtypes_split_and_seed(name: str) -> None:
    ds = load(name, n=301, train_ratio=0.7, noise=0.1, seed=5)
    assert validate(ds) is ds and ds.name == name
    assert ds.input_shape == (2,) and ds.x_train.dtype == torch.float32
    assert len(ds.x_train) == math.floor(301 * 0.7) and len(ds.x_test) == 301 - 210
    if ds.task == "classification":
        assert ds.n_classes == 2 and ds.y_train.dtype == torch.int64
        assert set(ds.y_train.tolist()) == {0, 1}
    else:
        assert ds.n_classes is None and ds.y_train.shape == (210, 1) and ds.n_outputs == 1
    again, other = load(name, n=301, train_ratio=0.7, noise=0.1, seed=5), load(name, seed=6)
    assert torch.equal(ds.x_train, again.x_train) and torch.equal(ds.y_test, again.y_test)
    assert not torch.equal(ds.x_train[:10], other.x_train[:10])
    assert ds.params["n"] == 301 and ds.params["standardize"] is True


def raw(name: str, n: int = 2000, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, ...]:
    """All points (train + test) before standardization, as float64 numpy arrays."""
    ds = load(name, n=n, noise=noise, seed=seed, standardize=False)
    x = torch.cat([ds.x_train, ds.x_test]).double().numpy()
    return x, torch.cat([ds.y_train, ds.y_test]).double().numpy()


def test_circle_is_a_disc_inside_a_ring() -> None:
    x, y = raw("circle")
    r = np.hypot(x[:, 0], x[:, 1])
    assert (r[y == 1] < 2.5).all() and ((r[y == 0] >= 3.5 - 1e-5) & (r[y == 0] <= 5 + 1e-5)).all()
    assert (y == 1).sum() == 1000


def test_noise_mislabels_points_but_keeps_their_clean_position() -> None:
    # The Playground labels the jittered point and plots the clean one.
    x, y = raw("circle", noise=0.5)
    r = np.hypot(x[:, 0], x[:, 1])
    assert ((r < 2.5) | (r >= 3.5 - 1e-5)).all()
    assert 0 < ((r < 2.5) != (y == 1)).sum() < 1000
    x, y = raw("xor", noise=0.5)
    assert 0 < ((x[:, 0] * x[:, 1] >= 0) != (y == 1)).sum() < 1000


def test_xor_quadrants_with_padding() -> None:
    x, y = raw("xor")
    assert np.array_equal(y == 1, x[:, 0] * x[:, 1] >= 0)
    assert (np.abs(x) >= 0.3 - 1e-6).all() and (np.abs(x) <= 5.3 + 1e-5).all()


@pytest.mark.parametrize(("noise", "variance"), [(0.0, 0.5), (0.5, 4.0)])
def test_gauss_centres_and_variance_follow_noise(noise: float, variance: float) -> None:
    x, y = raw("gauss", n=40_000, noise=noise)
    for label, centre in ((1, 2.0), (0, -2.0)):
        pts = x[y == label]
        assert np.allclose(pts.mean(0), centre, atol=0.05)
        assert np.allclose(pts.var(0), variance, rtol=0.05)


def test_spiral_points_lie_on_two_arms() -> None:
    x, y = raw("spiral")
    r = np.hypot(x[:, 0], x[:, 1])
    for label, delta in ((1, 0.0), (0, math.pi)):
        t = 1.75 * 2 * math.pi * r[y == label] / 5 + delta
        arm = np.stack([r[y == label] * np.sin(t), r[y == label] * np.cos(t)], 1)
        assert np.allclose(x[y == label], arm, atol=1e-4)
    assert r.max() < 5


def test_plane_target_is_sum_over_ten() -> None:
    x, y = raw("plane")
    assert np.allclose(y[:, 0], x.sum(1) / 10, atol=1e-6) and (np.abs(x) <= 6).all()


def test_multi_gauss_target_is_the_strongest_signed_bump() -> None:
    x, y = raw("multi_gauss", n=300)
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for point, target in zip(x, y[:, 0]):
        best = 0.0
        for cx, cy, sign in centres:
            value = sign * min(max(1 - math.dist(point, (cx, cy)) / 2, 0.0), 1.0)
            if abs(value) > abs(best):
                best = value
        assert target == pytest.approx(best, abs=1e-5)
    assert (y != 0).any() and (y < 0).any() and (y > 0).any()


def test_moons_are_two_half_circles() -> None:
    x, y = raw("moons")
    upper, lower = x[y == 0], x[y == 1] - np.array([1.0, 0.5])
    for arc, sign in ((upper, 1), (lower, -1)):
        assert np.allclose(np.hypot(arc[:, 0], arc[:, 1]), 1, atol=1e-5)
        assert (sign * arc[:, 1] >= -1e-6).all()


def test_standardization_is_fitted_on_train_and_applied_to_test() -> None:
    plain = load("gauss", n=400, noise=0.3, seed=2, standardize=False)
    scaled = load("gauss", n=400, noise=0.3, seed=2)
    mean, std = plain.x_train.double().mean(0), plain.x_train.double().std(0)
    x_train, x_test = scaled.x_train.double(), scaled.x_test.double()
    assert torch.allclose(x_train.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(x_train.std(0), torch.ones(2, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(x_test, (plain.x_test.double() - mean) / std, atol=1e-5)
    assert scaled.x_test.double().mean(0).abs().max() > 1e-3  # test statistics were not used


def test_images_are_standardized_per_channel_and_constant_channels_survive() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 2, 3, 3, generator=g) * torch.tensor([1.0, 0.0]).view(1, 2, 1, 1)
    y = torch.arange(20) % 2
    ds = standardized(Dataset("img", "classification", x, y, x.clone(), y, n_classes=2))
    assert torch.isfinite(ds.x_train).all() and (ds.x_train[:, 1] == 0).all()
    assert ds.x_train[:, 0].mean().abs() < 1e-6 and (ds.x_train[:, 0].std() - 1).abs() < 1e-5


def _good() -> Dataset:
    x, y = torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])
    return Dataset("toy", "classification", x, y, x[:2], y[:2], n_classes=3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x_train": torch.tensor([[0.0, float("nan"), 1.0]] * 4)}, "4 non-finite"),
        ({"x_test": torch.tensor([[float("inf")] * 3] * 2)}, "non-finite"),
        ({"y_train": torch.tensor([0, 1, 2])}, "4 inputs but 3 labels"),
        ({"y_train": torch.tensor([0, 1, 3, 0])}, "outside [0, 3)"),
        ({"y_test": torch.tensor([0.0, 1.0])}, "expected int64"),
        ({"x_test": torch.zeros(2, 4)}, "examples have shape (4,)"),
        ({"x_train": torch.zeros(4, 3, dtype=torch.int64)}, "float dtype"),
        ({"x_test": torch.zeros(0, 3), "y_test": torch.zeros(0, dtype=torch.int64)}, "n >= 1"),
        ({"n_classes": 1}, "at least 2"),
        ({"task": "clustering"}, "task"),
        ({"task": "regression", "n_classes": None}, "expected float (n, k)"),
    ],
)
def test_validate_refuses_malformed_data_in_one_line(change: dict, message: str) -> None:
    assert validate(_good()) is not None
    with pytest.raises(ActlabError) as err:
        validate(dataclasses.replace(_good(), **change))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("dataset 'toy': ")


def test_regression_targets_must_be_finite() -> None:
    x = torch.zeros(3, 2)
    ds = Dataset("r", "regression", x, torch.tensor([[0.0], [1.0], [float("nan")]]), x, x[:, :1])
    with pytest.raises(ActlabError, match="y_train has 1 non-finite"):
        validate(ds)


def test_load_refuses_bad_names_and_parameters() -> None:
    with pytest.raises(UnknownNameError, match="did you mean: spiral"):
        load("spirals")
    with pytest.raises(
        ParameterError, match=r"noise=0.9 is out of range; valid range is \[0, 0.5\]"
    ):
        load("circle", noise=0.9)
    with pytest.raises(ParameterError, match="empty train or test split"):
        load("xor", n=3, train_ratio=0.2)
    with pytest.raises(ParameterError, match="has no parameter 'nosie'"):
        load("xor", nosie=0.1)
    assert load("reg-plane", n=10).name == "plane"  # the Playground's own name works


def test_to_moves_every_tensor_and_keeps_the_record() -> None:
    ds = load("xor", n=20)
    moved = ds.to("cpu")
    assert moved.device == torch.device("cpu") and moved.params == ds.params
    assert repr(moved) == "Dataset('xor', 2 classes, input (2,), train 10, test 10, cpu)"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_load_onto_cuda() -> None:
    ds = load("spiral", n=50, device="cuda")
    assert all(t.is_cuda for t in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))


def test_digits_are_sklearns_bundled_images() -> None:
    from sklearn.datasets import load_digits

    ref = load_digits()
    ds = load("digits", standardize=False, seed=1)
    assert ds.input_shape == (1, 8, 8) and ds.n_classes == 10
    assert len(ds.x_train) == int(1797 * 0.8) and len(ds.x_train) + len(ds.x_test) == 1797
    x = torch.cat([ds.x_train, ds.x_test]).reshape(-1, 64).double() * 16
    y = torch.cat([ds.y_train, ds.y_test])
    assert torch.equal(torch.bincount(y), torch.bincount(torch.from_numpy(ref.target)))
    # Same images, shuffled: compare as sorted rows.
    ours = sorted(map(tuple, np.round(x.numpy()).astype(int).tolist()))
    assert ours == sorted(map(tuple, ref.data.astype(int).tolist()))
    assert not torch.equal(load("digits", seed=2).y_train, load("digits", seed=1).y_train)


@pytest.fixture(scope="module")
def mnist1d_cache(tmp_path_factory: pytest.TempPathFactory):
    """One data cache for the MNIST-1D tests, so the default set is generated once."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("actlab-data")
        mp.setenv("ACTLAB_DATA", str(path))
        yield path


def test_mnist1d_default_is_the_published_shape(mnist1d_cache: Path) -> None:
    ds = load("mnist1d")
    assert (len(ds.x_train), len(ds.x_test), ds.input_shape, ds.n_classes) == (
        4000,
        1000,
        (40,),
        10,
    )
    assert torch.equal(torch.bincount(torch.cat([ds.y_train, ds.y_test])), torch.full((10,), 500))
    assert len(list((mnist1d_cache / "mnist1d").glob("*.npz"))) == 1


def test_mnist1d_equals_make_dataset_and_leaves_global_rngs_alone(mnist1d_cache: Path) -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    ds = load("mnist1d", num_samples=300, shear_scale=0.5, standardize=False)
    assert np.array_equal(np.random.get_state()[1], state)

    args = get_dataset_args()
    args.num_samples, args.shear_scale = 300, 0.5
    ref = make_dataset(args)
    assert np.allclose(ds.x_train.numpy(), ref["x"], atol=1e-6)
    assert np.allclose(ds.x_test.numpy(), ref["x_test"], atol=1e-6)
    assert np.array_equal(ds.y_train.numpy(), ref["y"]) and len(ds.x_test) == 60


def test_mnist1d_is_cached_by_its_arguments(
    mnist1d_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load("mnist1d", num_samples=200, generator_seed=7, standardize=False)
    files = set((mnist1d_cache / "mnist1d").glob("*.npz"))

    def no_generation(args: dict) -> None:
        raise AssertionError("a cached MNIST-1D set was generated again")

    monkeypatch.setattr(bench, "_make_mnist1d", no_generation)
    again = load("mnist1d", num_samples=200, generator_seed=7, standardize=False)
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)
    monkeypatch.undo()

    other = load("mnist1d", num_samples=200, generator_seed=8, standardize=False)
    assert not torch.equal(first.x_train, other.x_train)
    assert len(set((mnist1d_cache / "mnist1d").glob("*.npz")) - files) == 1


def test_a_damaged_mnist1d_cache_entry_is_made_again(mnist1d_cache: Path) -> None:
    before = set((mnist1d_cache / "mnist1d").glob("*.npz"))
    good = load("mnist1d", num_samples=100, standardize=False)
    (entry,) = set((mnist1d_cache / "mnist1d").glob("*.npz")) - before
    entry.write_bytes(b"not a zip file")
    assert torch.equal(load("mnist1d", num_samples=100, standardize=False).x_train, good.x_train)
    assert entry.stat().st_size > 100


def test_mnist1d_parameters_are_checked() -> None:
    with pytest.raises(ParameterError, match="leaves a split empty"):
        load("mnist1d", num_samples=20, train_split=0.01)
    with pytest.raises(ParameterError, match="max_translation=0 is out of range"):
        load("mnist1d", max_translation=0)


def test_module_api() -> None:
    assert data.get("fashion").name == "fashion_mnist" and data.names() == DATASETS.names()
