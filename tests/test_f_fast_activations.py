"""The fast path (torch's fused kernels) against the reference path (the catalog's formulas), for
every entry, on the same random points, kinks and extremes, in every floating dtype; and how the
implementation is chosen."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations import ACTIVATIONS, activate
from actlab.activations.fast import FAST
from actlab.errors import ParameterError
from actlab.nn import Activation, PReLU, Swish
from conftest import CASES

DTYPES = [torch.float64, torch.float32, torch.bfloat16, torch.float16]
# The tolerances of tests/test_activations.py (float64: its parity with torch; the others: its
# dtype test against float64).
TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 5e-2, torch.float16: 1e-2}
# torch's float64 hardsigmoid backward multiplies by a single-precision 1/6 (see
# tests/test_activations.py).
TOL_OF = {("hardsigmoid", torch.float64): 1e-7}
EXTREMES = [-math.inf, -1e4, -1e3, 1e3, 1e4, math.inf]


def _inputs(info, params) -> torch.Tensor:
    """float64: random points, every kink, and (elementwise) +-1e3, +-1e4 and +-inf."""
    g = torch.Generator().manual_seed(7)
    if info.kind == "vector":
        x = torch.randn(6, 12, generator=g, dtype=torch.float64) * 3
        x[0, :4] = torch.tensor([1e4, 0.0, -1e4, 5.0])
        return x
    kinks = info.kinks(info.bind(params))
    x = torch.randn(200, generator=g, dtype=torch.float64) * 4
    return torch.cat([x, torch.tensor([*kinks, *EXTREMES], dtype=torch.float64)])


def _run(x, info, params, impl):
    x = x.detach().clone().requires_grad_(True)
    y = activate(x, info, impl=impl, **params)
    g = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    (gx,) = torch.autograd.grad(y, x, g)
    return y.detach(), gx


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("info", "params"), CASES)
def test_fast_equals_reference(info, params, dtype):
    x = _inputs(info, params).to(dtype)
    y, gx = _run(x, info, params, "fast")
    assert y.dtype == dtype and gx.dtype == dtype
    # Low precision: both paths against the reference evaluated in float64 on the same points
    # (the reference composed op by op in bfloat16 rounds more than torch's fused kernels).
    y_ref, g_ref = _run(x.double(), info, params, "reference")
    tol = TOL_OF.get((info.name, dtype), TOL[dtype])
    torch.testing.assert_close(y.double(), y_ref, rtol=tol, atol=tol, equal_nan=True)
    torch.testing.assert_close(gx.double(), g_ref, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("info", "params"), [c for c in CASES if c.values[0].kind != "vector"])
def test_nan_stays_nan(info, params, dtype):
    # At a NaN input only the value is specified (NaN); the gradient there is the kernel's.
    x = torch.tensor([1.0, math.nan, -2.0], dtype=dtype)
    y = activate(x, info, impl="fast", **params)
    assert y[1].isnan() and not y[[0, 2]].isnan().any()


def test_every_entry_has_a_fast_path():
    assert {i.name for i in ACTIVATIONS} <= set(FAST)


def _saved_bytes(fn) -> int:
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn()
    y.sum().backward()
    return total


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize(
    "make", [PReLU, lambda: PReLU(3), lambda: Swish(beta=1.3, learnable=True)], ids=str
)
def test_learnable_parameters_get_gradients_through_the_fast_path(make, dtype):
    x = torch.randn(6, 3, 5, generator=torch.Generator().manual_seed(0)).to(dtype)
    grads = {}
    for impl in ("fast", "reference"):
        module = make().to(dtype)
        module.impl = impl
        module(x).square().sum().backward()
        grads[impl] = [p.grad for p in module.parameters()]
    assert grads["fast"] and all(g is not None for g in grads["fast"])
    for fast, ref in zip(grads["fast"], grads["reference"], strict=True):
        torch.testing.assert_close(fast, ref, rtol=TOL[dtype], atol=TOL[dtype])


def test_stacked_prelu_slopes_fall_back_to_the_reference():
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    w = torch.full((4, 1, 1), 0.2, dtype=torch.float64, requires_grad=True)
    y = activate(x, "prelu", weight=w)
    assert type(y.grad_fn).__name__ == "_AnalyticBackward"
    y.sum().backward()
    torch.testing.assert_close(w.grad.reshape(-1), x.clamp(max=0).sum(dim=(1, 2)))


def test_rrelu_training_fast_path_draws_slopes_and_saves_one_tensor():
    torch.manual_seed(3)
    x = torch.cat([-torch.rand(1000, dtype=torch.float64) - 0.1, torch.rand(10).double()])
    x.requires_grad_(True)
    saved = _saved_bytes(lambda: activate(x, "rrelu", impl="fast", training=True))
    assert saved == x.numel() * x.element_size()
    x.grad = None
    y = activate(x, "rrelu", impl="fast", training=True)
    y.sum().backward()
    slopes = (y / x).detach()
    neg = slopes[:1000]
    assert (neg >= 1 / 8).all() and (neg <= 1 / 3).all() and neg.std() > 0.03
    assert (slopes[1000:] == 1).all()
    torch.testing.assert_close(x.grad, slopes)


def test_impl_is_chosen_by_argument_module_flag_and_environment(monkeypatch):
    x = torch.randn(10, requires_grad=True)
    assert type(activate(x, "gelu").grad_fn).__name__ == "GeluBackward0"
    assert type(activate(x, "gelu", impl="reference").grad_fn).__name__ == "_AnalyticBackward"
    assert type(Activation("gelu", impl="reference")(x).grad_fn).__name__ == "_AnalyticBackward"
    monkeypatch.setenv("ACTLAB_ACTIVATIONS", "reference")
    assert type(activate(x, "gelu").grad_fn).__name__ == "_AnalyticBackward"
    assert type(activate(x, "gelu", impl="fast").grad_fn).__name__ == "GeluBackward0"
    with pytest.raises(ParameterError, match="'quick' is not one of fast, reference"):
        activate(x, "gelu", impl="quick")
    with pytest.raises(ParameterError):
        Activation("gelu", impl="quick")


def test_infinite_inputs_take_the_reference_path_and_give_the_limits():
    inf = math.inf
    x = torch.tensor([-inf, -1.0, inf], requires_grad=True)
    for name in ("silu", "gelu", "mish", "hardswish"):
        y = activate(x, name)
        assert y.tolist()[0] == 0.0 and y.tolist()[2] == inf, name
    assert activate(x, "softsign").tolist() == [-1.0, -0.5, 1.0]
