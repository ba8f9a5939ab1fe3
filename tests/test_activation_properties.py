"""Computed properties: textbook facts must fall out of the computation."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations.properties import compute, gain, measure_relative_cost
from conftest import CASES


def test_relu_gain_is_sqrt2_and_identity_gain_is_1():
    assert gain("relu") == pytest.approx(math.sqrt(2), rel=1e-12)
    assert gain("identity") == pytest.approx(1.0, rel=1e-12)
    # SELU's constants were chosen so that E[selu(z)^2] = 1 for z ~ N(0, 1)
    assert gain("selu") == pytest.approx(1.0, abs=1e-4)
    # leaky ReLU: E[f^2] = (1 + a^2) / 2, He et al. 2015
    assert gain("leaky_relu", negative_slope=0.2) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-12)


def test_zero_centred_and_means():
    relu = compute("relu")
    assert relu.mean == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-9)  # E[max(0, z)]
    assert not relu.zero_centred and compute("tanh").zero_centred
    assert not compute("sigmoid").zero_centred and compute("selu").zero_centred


@pytest.mark.parametrize(
    ("name", "field", "expected"),
    [
        ("relu", "dead", ((-math.inf, 0.0),)),
        ("relu6", "dead", ((-math.inf, 0.0), (6.0, math.inf))),
        ("leaky_relu", "dead", ()),
        ("sigmoid", "saturates", ("soft", "soft")),
        ("relu", "saturates", ("hard", "no")),
        ("elu", "saturates", ("soft", "no")),
        ("leaky_relu6", "saturates", ("no", "hard")),
        ("relu", "smoothness", "C0"),
        ("elu", "smoothness", "C1"),
        ("selu", "smoothness", "C0"),
        ("gelu", "smoothness", "C2+"),
        ("binary_step", "smoothness", "discontinuous"),
        ("tanh", "monotonic", "increasing"),
        ("relu", "monotonic", "non-decreasing"),
        ("silu", "monotonic", "no"),
        ("sigmoid", "range", (0.0, 1.0, False, False)),
        ("relu6", "range", (0.0, 6.0, True, True)),
        ("leaky_relu6", "range", (-math.inf, 6.0, False, True)),
        ("sigmoid", "max_abs_df", 0.25),
        ("tanh", "df0", 1.0),
    ],
)
def test_textbook_facts(name, field, expected):
    assert getattr(compute(name), field) == expected


def test_parameters_change_properties():
    assert compute("leaky_relu6", cap_slope=0.1).saturates == ("no", "no")
    assert compute("elu", alpha=2.0).range[0] == -2.0


def test_findings_state_the_textbook_cons():
    text = " ".join(compute("sigmoid").findings())
    assert "saturates" in text and "not zero-centred" in text and "0.25" in text
    assert any("dead region" in f for f in compute("relu").findings())
    assert compute("tanh").findings()[0].startswith("saturates")


@pytest.mark.parametrize(("info", "params"), CASES)
def test_every_entry_has_consistent_properties(info, params):
    pr = compute(info, **params)
    lo, hi = pr.range[:2]
    assert lo <= pr.f0 <= hi
    assert pr.gain > 0 and pr.max_abs_df >= abs(pr.df0)


def test_cost_is_measured_relative_to_relu():
    cost = measure_relative_cost("relu", elements=1 << 14, repeats=3)
    assert 0.2 < cost < 5  # relu against itself: about 1, whatever the machine's load
    assert measure_relative_cost("mish", elements=1 << 14, repeats=3) > 0
    assert torch.get_default_dtype() == torch.float32
