"""Diagnostic metric maths: exact values on hand-built tensors, and the stacked (member) form
equal to K separate calls."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations import ACTIVATIONS
from actlab.diagnostics import (
    SATURATION_THRESHOLD,
    dead_fraction,
    effective_lr,
    examples_by_units,
    gradient_ratio,
    moments,
    norm,
    saturation_fraction,
    update_ratio,
)
from actlab.errors import ActlabError

D = torch.float64


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=D)


# -- exact values ----------------------------------------------------------------------------


def test_moments_are_population_mean_and_std_over_examples_and_units():
    mean, std = moments(t([[1.0, 2.0], [3.0, 4.0]]))
    assert mean.shape == () and float(mean) == 2.5
    assert float(std) == math.sqrt(1.25)  # ((1.5^2 + 0.5^2) * 2) / 4, no Bessel correction


def test_dead_fraction_counts_units_zero_on_every_example():
    y = t([[0.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert float(dead_fraction(y)) == 0.5  # units 0 and 3
    assert float(dead_fraction(torch.zeros(5, 3))) == 1.0
    assert float(dead_fraction(torch.full((5, 3), -0.01))) == 0.0  # leaky: never exactly zero


def test_dead_fraction_from_gradients_catches_flat_parts_away_from_zero():
    y = t([[6.0, 1.0], [6.0, 2.0]])  # relu6 unit 0 stuck at its cap: output 6, gradient 0
    grad = t([[0.0, 0.3], [0.0, -0.1]])
    assert float(dead_fraction(y)) == 0.0
    assert float(dead_fraction(y, grad)) == 0.5


def test_saturation_fraction_of_sigmoid_derivative():
    sigmoid = ACTIVATIONS.get("sigmoid")
    z = t([[0.0, 2.0, 2.8], [3.0, -4.0, 10.0]])
    df = sigmoid.df(z)
    # sigmoid'(2.8) = 0.0535 > 0.05 > sigmoid'(3) = 0.0452: entries 3.0, -4.0, 10.0 saturate
    assert float(df[0, 2]) > SATURATION_THRESHOLD > float(df[1, 0])
    assert float(saturation_fraction(df)) == 0.5
    assert float(saturation_fraction(df, threshold=0.25)) == 5 / 6  # max slope 0.25 at z = 0
    assert float(saturation_fraction(df, threshold=0.0)) == 0.0


def test_norm_update_ratio_and_gradient_ratio():
    assert float(norm(t([3.0, 4.0]))) == 5.0
    assert float(norm(t([[1.0, 2.0], [2.0, 4.0]]))) == 5.0  # Frobenius
    assert float(update_ratio(t([0.3, 0.4]), t([3.0, 4.0]))) == pytest.approx(0.1, rel=1e-15)
    assert float(gradient_ratio(1e-3, 2.0)) == 5e-4
    assert math.isnan(gradient_ratio(0.0, 0.0)) and math.isinf(gradient_ratio(1.0, 0.0))
    assert math.isinf(update_ratio(t([1.0]), t([0.0])))


def test_effective_lr_is_median_over_nonzero_gradients():
    grad, update = t([1.0, -2.0, 0.0, 4.0]), t([-0.5, 1.0, 3.0, -1.0])
    # ratios 0.5, 0.5, 0.25 (the zero-gradient coordinate is left out): median 0.5
    assert float(effective_lr(grad, update)) == 0.5
    # even count: the lower middle value, as torch.median
    assert float(effective_lr(t([1.0, 1.0]), t([0.1, 0.3]))) == pytest.approx(0.1)
    assert math.isnan(effective_lr(torch.zeros(3), t([1.0, 2.0, 3.0])))


def test_examples_by_units_puts_channels_last():
    x = torch.arange(2 * 3 * 4, dtype=D).reshape(2, 3, 4)  # [B, C, L]
    flat = examples_by_units(x)
    assert flat.shape == (8, 3)
    assert torch.equal(flat[:, 1], x[:, 1, :].reshape(-1))  # channel 1 at every (b, l)
    assert examples_by_units(t([1.0, 2.0])).shape == (1, 2)
    stacked = torch.stack([x, 2 * x])  # [K, B, C, L]
    assert torch.equal(examples_by_units(stacked, member_dims=1)[1], 2 * flat)


# -- the member form equals K separate calls -------------------------------------------------


def _batch(k: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(k)
    x = torch.relu(torch.randn(6, 5, generator=g, dtype=D))
    x[:, k % 5] = 0  # at least one dead unit, a different one per member
    return x


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: moments(x)[0],
        lambda x: moments(x)[1],
        dead_fraction,
        lambda x: dead_fraction(x, grad=x - 0.5),
        lambda x: saturation_fraction(x, threshold=0.3),
    ],
    ids=["mean", "std", "dead", "dead_from_grad", "saturation"],
)
def test_batch_metrics_on_a_stack_equal_separate_calls(fn):
    members = [_batch(k) for k in range(4)]
    stacked = fn(torch.stack(members))
    assert stacked.shape == (4,)
    # equal up to float64 rounding (a batched reduction may sum in another order)
    torch.testing.assert_close(stacked, torch.stack([fn(x) for x in members]), rtol=1e-14, atol=0)
    nested = fn(torch.stack(members).reshape(2, 2, 6, 5))  # two leading member dims
    torch.testing.assert_close(nested.reshape(4), stacked, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b, m: norm(a, m),
        lambda a, b, m: update_ratio(a, b, m),
        lambda a, b, m: effective_lr(b, a, m),
    ],
    ids=["norm", "update_ratio", "effective_lr"],
)
def test_weight_metrics_on_a_stack_equal_separate_calls(fn):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, 5, generator=g, dtype=D)
    b = torch.randn(3, 4, 5, generator=g, dtype=D)
    b[1, 0] = 0  # some zero gradients in one member
    stacked = fn(a, b, 1)
    assert stacked.shape == (3,)
    separate = torch.stack([fn(a[k], b[k], 0) for k in range(3)])
    torch.testing.assert_close(stacked, separate, rtol=1e-14, atol=0)


def test_stacked_scalar_parameters():
    assert torch.equal(norm(t([-3.0, 4.0]), member_dims=1), t([3.0, 4.0]))


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: moments(t([1.0, 2.0])), r"expected \[..., examples, units\], got shape \(2,\)"),
        (lambda: dead_fraction(torch.zeros(0, 3)), "no examples or no units"),
        (lambda: dead_fraction(torch.zeros(2, 3), torch.zeros(3, 2)), "differ in shape"),
        (lambda: saturation_fraction(torch.zeros(2, 2), -1.0), "must be a finite number >= 0"),
        (lambda: norm(torch.zeros(2, 2), member_dims=3), r"member_dims=3 is not in \[0, 2\]"),
        (lambda: update_ratio(torch.zeros(2), torch.zeros(3)), "differ in shape"),
        (lambda: effective_lr(torch.zeros(2), torch.zeros(3)), "differ in shape"),
    ],
)
def test_bad_input_raises_one_clear_line(call, message):
    with pytest.raises(ActlabError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
