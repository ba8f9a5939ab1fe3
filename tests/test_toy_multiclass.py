"""The k-class toy sets (``spiral_arms``, ``blobs``): shapes, labels, balance, seeds, geometry."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.data import DATASETS, load
from actlab.data.toy import N_CLASSES, TWO_D
from actlab.errors import ParameterError

MULTI = ["spiral_arms", "blobs"]


def everything(name: str, **params) -> tuple[torch.Tensor, torch.Tensor]:
    """All points (train + test) before standardization, and their labels."""
    ds = load(name, standardize=False, **params)
    return torch.cat([ds.x_train, ds.x_test]).double(), torch.cat([ds.y_train, ds.y_test])


def test_registered_as_two_d_classification_sets():
    for name in MULTI:
        info = DATASETS.get(name)
        assert name in TWO_D and info.task == "classification"
        assert info.defaults["n_classes"] == 3
        assert (N_CLASSES.low, N_CLASSES.high) == (2, 6)


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("k", range(2, 7))
def test_shapes_labels_and_balance(name, k):
    n = 301
    ds = load(name, n=n, n_classes=k, train_ratio=0.7, noise=0.1, seed=4)
    assert ds.n_classes == k == ds.n_outputs and ds.input_shape == (2,)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    assert len(ds.x_train) == math.floor(n * 0.7) and len(ds.x_test) == n - len(ds.x_train)
    counts = torch.bincount(torch.cat([ds.y_train, ds.y_test]), minlength=k)
    assert len(counts) == k and counts.sum() == n
    assert counts.max() - counts.min() <= 1  # balanced to within one point
    assert set(ds.y_train.tolist()) == set(range(k))  # every class reaches the training split


@pytest.mark.parametrize("name", MULTI)
def test_seeded_determinism(name):
    a = load(name, n=200, n_classes=4, noise=0.2, seed=7)
    b = load(name, n=200, n_classes=4, noise=0.2, seed=7)
    c = load(name, n=200, n_classes=4, noise=0.2, seed=8)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("bad", [1, 7, 2.5])
def test_n_classes_out_of_range_is_one_line(name, bad):
    with pytest.raises(ParameterError) as e:
        load(name, n_classes=bad)
    assert "n_classes" in str(e.value) and "\n" not in str(e.value)


def test_spiral_arms_are_rotated_copies():
    # Without noise, arm j is arm 0 turned by 2 pi j / k about the origin.
    k = 5
    x, y = everything("spiral_arms", n=500, n_classes=k, noise=0.0, seed=0)

    def arm(j: int) -> torch.Tensor:  # the split shuffled the points: order them along the arm
        points = x[y == j]
        return points[points.norm(dim=1).argsort()]

    for j in range(1, k):
        a = 2 * math.pi * j / k
        # Angles run clockwise from the y axis: (x, y) @ turn adds a to a point's angle.
        turn = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]).double()
        assert torch.allclose(arm(0) @ turn, arm(j), atol=1e-5)
    radius = x.norm(dim=1)
    assert radius.max() < 5 and radius.min() == 0


def test_blobs_sit_on_a_circle_and_noise_spreads_them():
    k = 6
    x, y = everything("blobs", n=6000, n_classes=k, noise=0.0, seed=1)
    centres = torch.stack([x[y == j].mean(dim=0) for j in range(k)])
    assert torch.allclose(centres.norm(dim=1), torch.full((k,), 4.0, dtype=torch.float64), atol=0.1)
    assert centres[0, 0].abs() < 0.1 and centres[0, 1] > 3.9  # class 0 at the top
    spread = x[y == 0].std(dim=0)
    assert torch.allclose(spread, torch.full((2,), math.sqrt(0.5), dtype=torch.float64), atol=0.05)
    noisy, labels = everything("blobs", n=6000, n_classes=k, noise=0.5, seed=1)
    assert torch.allclose(
        noisy[labels == 0].std(dim=0), torch.full((2,), 2.0, dtype=torch.float64), atol=0.1
    )  # variance 0.5 + 7 * 0.5 = 4
