"""Numerics beyond torch (issue #11, point 7): softmax of a row holding +inf is its limit, and
a finite gradient whose update overflows never writes inf into a parameter."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations import activate
from actlab.optim import OPTIMIZERS, create
from actlab.optim.shell import NonFiniteGradientError

INF = math.inf


@pytest.mark.parametrize("impl", ["reference", "fast"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_of_a_row_holding_inf_is_its_limit(dtype, impl) -> None:
    x = torch.tensor(
        [[1.0, INF, 2.0], [INF, -INF, INF], [1.0, 2.0, 3.0], [-INF, 0.0, 1.0]], dtype=dtype
    )
    p = activate(x, "softmax", impl=impl)
    assert torch.equal(p[0], torch.tensor([0.0, 1.0, 0.0], dtype=dtype))
    assert torch.equal(p[1], torch.tensor([0.5, 0.0, 0.5], dtype=dtype))
    torch.testing.assert_close(p[2:], torch.softmax(x[2:], -1), rtol=0, atol=1e-7)
    log_p = activate(x, "log_softmax", impl=impl)
    assert torch.equal(log_p[0], torch.tensor([-INF, 0.0, -INF], dtype=dtype))
    assert torch.equal(log_p[1], torch.tensor([-math.log(2), -INF, -math.log(2)], dtype=dtype))
    torch.testing.assert_close(log_p[2:], torch.log_softmax(x[2:], -1))


def test_softmax_limit_along_another_dim_and_with_a_temperature() -> None:
    x = torch.tensor([[INF, 0.0], [1.0, 0.0]])
    p = activate(x, "softmax", impl="reference", dim=0, temperature=2.0)
    assert torch.equal(p[:, 0], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(p[:, 1], torch.softmax(x[:, 1] / 2, 0))


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_an_overflowing_update_changes_nothing(name: str) -> None:
    w = torch.nn.Parameter(torch.tensor([3e38, -1.0]))
    opt = create(name, [w], lr=1.0) if "lr" in OPTIMIZERS.get(name).defaults else create(name, [w])
    w.grad = torch.tensor([-3e38, 1.0])
    before = w.detach().clone()
    try:
        opt.step()
    except NonFiniteGradientError as e:
        assert "step not applied" in str(e)
        assert torch.equal(w.detach(), before) and not opt.state[w]
    assert torch.isfinite(w).all(), name


def test_nag_with_a_huge_gradient_is_refused_or_skipped() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = create("nag", [w], lr=0.1)
    w.grad = torch.tensor([3e38])
    with pytest.raises(NonFiniteGradientError, match="overflows"):
        opt.step()
    assert w.item() == 1.0 and not opt.state[w]
    opt = create("nag", [w], lr=0.1, on_nonfinite="skip")
    w.grad = torch.tensor([3e38])
    opt.step()
    assert w.item() == 1.0 and opt.skipped_steps == 1
    w.grad = torch.tensor([1.0])
    opt.step()
    assert w.item() == pytest.approx(1.0 - 0.1 * 1.9)
