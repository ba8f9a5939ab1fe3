"""Computed properties: textbook facts must fall out of the computation."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest
import torch

from actlab.activations.properties import Cost, compute, gain, measure_relative_cost
from actlab.activations.smoothness import undeclared_jumps
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


def _autograd_limits(info, p, k: float, side: int) -> list[float]:
    """f, f', f'' just left (side -1) or right (+1) of k: f' by autograd through the forward
    formula (not the declared derivative), f'' by a central difference of that f'."""

    def df(x: float) -> float:
        t = torch.tensor([x], dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(info.scalar(t, **p).sum(), t)
        return float(g[0])

    scale = max(1.0, abs(k))
    x, near, step = k + side * 1e-5 * scale, k + side * 1e-7 * scale, 1e-7 * scale
    with torch.no_grad():
        f = float(info.scalar(torch.tensor([near], dtype=torch.float64), **p)[0])
    return [f, df(near), (df(x + step) - df(x - step)) / (2 * step)]


@pytest.mark.parametrize(("info", "params"), CASES)
def test_smoothness_follows_the_limits_on_both_sides_of_each_kink(info, params):
    p = info.bind(params)
    expected = "C2+"
    for k in info.kinks(p):
        left, right = (_autograd_limits(info, p, float(k), side) for side in (-1, 1))
        # the stated tolerance, 1e-6 relative; 1e-3 for f'', whose difference quotient taken
        # 1e-5 from k moves by 2e-5 |f'''| (softplus(beta=0.5, threshold=10): f jumps 4.5e-6)
        for level, (a, b) in enumerate(zip(left, right)):
            if abs(a - b) > (1e-6, 1e-6, 1e-3)[level] * max(1.0, abs(a), abs(b)):
                expected = min(expected, ("discontinuous", "C0", "C1")[level], key=SMOOTHNESS.index)
    assert compute(info, **params).smoothness == expected
    # and no jump of f, f' or f'' on [-15, 15] away from the declared kinks
    assert undeclared_jumps(info, p) == []


SMOOTHNESS = ["discontinuous", "C0", "C1", "C2+"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("softsign", "C1"),
        ("celu", "C1"),
        ("hardswish", "C0"),
        ("softplus", "C2+"),
        ("maxout", "C0"),
    ],
)
def test_smoothness_textbook(name, expected):
    # softsign'' jumps from 2 to -2 at 0; CELU' is continuous for any alpha, CELU'' is not;
    # softplus switches to x at beta x = 20, a jump of 2e-9, below the 1e-6 that counts
    assert compute(name).smoothness == expected


@pytest.mark.parametrize(("info", "params"), CASES)
def test_every_entry_has_consistent_properties(info, params):
    pr = compute(info, **params)
    lo, hi = pr.range[:2]
    assert lo <= pr.f0 <= hi
    assert pr.gain > 0 and pr.max_abs_df >= abs(pr.df0)


def test_cost_is_measured_relative_to_relu():
    cost = measure_relative_cost("relu", elements=1 << 14, repeats=3)
    assert 0.2 < cost.torch < 5  # torch's relu against itself: about 1, whatever the load
    assert cost.actlab > 0 and cost.torch_name == "torch.nn.functional.relu"
    assert measure_relative_cost("mish", elements=1 << 14, repeats=3).actlab > 0
    assert torch.get_default_dtype() == torch.float32


@pytest.mark.parametrize(
    ("name", "torch_name"), [("silu", "torch.nn.functional.silu"), ("leaky_relu6", None)]
)
def test_cost_row_names_what_it_measures(name, torch_name):
    pr = replace(compute(name), cost=measure_relative_cost(name, elements=1 << 12, repeats=1))
    (value,) = [v for row, v, _ in pr.rows() if row.startswith("cost")]
    assert re.fullmatch(r"actlab's implementation: [0-9.]+x relu(; .*)?", value), value
    if torch_name is None:
        assert ";" not in value and pr.cost.torch is None
    else:
        assert re.search(f"; {re.escape(torch_name)}: [0-9.]+x relu$", value), value


def test_expensive_finding_judges_torch_builtin_where_torch_has_one():
    slow_composition = replace(compute("silu"), cost=Cost(7.6, 1.1, "torch.nn.functional.silu"))
    assert not any("expensive" in f for f in slow_composition.findings())
    slow_builtin = replace(compute("silu"), cost=Cost(1.0, 3.0, "torch.nn.functional.silu"))
    assert any("torch.nn.functional.silu takes 3x" in f for f in slow_builtin.findings())
    no_torch = replace(compute("leaky_relu6"), cost=Cost(2.5))
    assert any("actlab's implementation takes 2.5x" in f for f in no_torch.findings())
