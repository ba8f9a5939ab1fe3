"""Every catalog activation, parametrized over the registry: a new entry is tested here with no
new test code. References: torch.nn.functional (values and gradients), autograd of the entry's own
formula (its analytic derivatives), torch.autograd.gradcheck, and pinned limits."""

from __future__ import annotations

import math

import pytest
import torch

from actlab.activations import ACTIVATIONS, activate
from conftest import CASES

torch.manual_seed(0)


def _points(info, params, *, kinks: bool = True, away: float = 0.0) -> torch.Tensor:
    """float64 inputs: random points (and, for elementwise entries, every kink)."""
    g = torch.Generator().manual_seed(1)
    if info.kind == "vector":
        return torch.randn(6, 12, generator=g, dtype=torch.float64) * 3
    x = torch.randn(200, generator=g, dtype=torch.float64) * 4
    p = info.bind(params)
    ks = torch.tensor(info.kinks(p), dtype=torch.float64)
    if away:  # move random points off the kinks, where derivatives are not defined
        for k in ks:
            x = torch.where((x - k).abs() < away, x + 2 * away, x)
    if kinks and len(ks):
        x = torch.cat([x, ks])
    return x


def _torch_reference(info, params):
    p = info.bind(params)
    p.pop("training", None) if info.name != "rrelu" else None
    return lambda x: info.torch_fn(x, **p)


WITH_TORCH = [c for c in CASES if c.values[0].torch_fn is not None]
# torch's float64 hardsigmoid backward multiplies by a single-precision 1/6 (relative error
# 3e-8); ours uses the exact double. Every other entry matches torch to 1e-10.
GRAD_RTOL = {"hardsigmoid": 1e-7}


IMPLS = pytest.mark.parametrize("impl", ["fast", "reference"])


@IMPLS
@pytest.mark.parametrize(("info", "params"), WITH_TORCH)
def test_forward_and_backward_equal_torch(info, params, impl):
    x = _points(info, params).requires_grad_(True)
    xt = x.detach().clone().requires_grad_(True)
    y, yt = activate(x, info, impl=impl, **params), _torch_reference(info, params)(xt)
    torch.testing.assert_close(y, yt, rtol=1e-12, atol=1e-12)
    g = torch.randn_like(y)
    (gx,) = torch.autograd.grad(y, x, g)
    (gt,) = torch.autograd.grad(yt, xt, g)
    torch.testing.assert_close(gx, gt, rtol=GRAD_RTOL.get(info.name, 1e-10), atol=1e-12)


@pytest.mark.parametrize(("info", "params"), CASES)
def test_analytic_derivative_equals_autograd_of_formula(info, params):
    p = info.bind(params)
    x = _points(info, params, kinks=False, away=1e-3).requires_grad_(True)
    if info.kind == "vector":
        y = info.fn(x, **p)
        g = torch.randn_like(y)
        (expected,) = torch.autograd.grad(y, x, g)
        saved = y.detach() if info.saves == "output" else x.detach()
        torch.testing.assert_close(info.vjp(saved, g, **p), expected, rtol=1e-10, atol=1e-12)
        return
    (expected,) = torch.autograd.grad(info.fn(x, **p).sum(), x, create_graph=True)
    torch.testing.assert_close(info.df(x, **p), expected, rtol=1e-10, atol=1e-12)
    if info.df_out is not None:
        y = info.fn(x, **p).detach()
        torch.testing.assert_close(info.df_out(y, **p), expected, rtol=1e-10, atol=1e-12)
    if info.d2f is not None:
        d = info.df(x, **p)
        # piecewise-linear entries: f' is piecewise constant, autograd records no graph -> f'' = 0
        second = (
            torch.autograd.grad(d.sum(), x, allow_unused=True, materialize_grads=True)[0]
            if d.requires_grad
            else torch.zeros_like(x)
        )
        torch.testing.assert_close(info.d2f(x, **p), second, rtol=1e-9, atol=1e-12)


@IMPLS
@pytest.mark.parametrize(("info", "params"), CASES)
def test_gradcheck(info, params, impl):
    x = _points(info, params, kinks=False, away=1e-2)[:24].clone().requires_grad_(True)
    f = lambda t: activate(t, info, impl=impl, **params)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,))
    if info.kind == "elementwise":
        assert torch.autograd.gradgradcheck(f, (x,))


ELEMENTWISE = [c for c in CASES if c.values[0].kind == "elementwise"]


@pytest.mark.parametrize(("info", "params"), ELEMENTWISE)
def test_extremes_give_limits_not_nan(info, params):
    x = torch.tensor([-math.inf, -1e4, -1e3, 1e3, 1e4, math.inf], dtype=torch.float64)
    x.requires_grad_(True)
    y = activate(x, info, **params)
    (g,) = torch.autograd.grad(y.sum(), x)
    assert not y.isnan().any(), f"{info.name}({x.tolist()}) = {y.tolist()}"
    assert not g.isnan().any(), f"{info.name}'({x.tolist()}) = {g.tolist()}"
    nan = activate(torch.tensor([math.nan], dtype=torch.float64), info, **params)
    assert nan.isnan().all(), "NaN input must stay NaN"


@pytest.mark.parametrize("info", [c.values[0] for c in CASES if c.values[0].kind == "vector"])
def test_vector_activations_stable_for_logits_far_apart(info):
    x = torch.tensor([[1e4, 0.0, -1e4, 5.0], [-1e4, 1e4, 3.0, -2.0]], dtype=torch.float64)
    x.requires_grad_(True)
    y = activate(x, info)
    (g,) = torch.autograd.grad(y, x, torch.randn_like(y))
    assert torch.isfinite(y).all() and torch.isfinite(g).all()


def test_pinned_limits():
    # The values the limits take; torch.nn.functional agrees where it is finite.
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    assert activate(t(-1000.0), "sigmoid").item() == 0.0
    assert activate(t(1000.0), "softplus").item() == 1000.0
    p = activate(t(1e4, 0.0, -1e4), "softmax")
    assert p.tolist() == [1.0, 0.0, 0.0]
    assert activate(t(1e4, 0.0, -1e4), "log_softmax").tolist() == [0.0, -1e4, -2e4]
    inf = math.inf
    assert activate(t(-inf, inf), "silu").tolist() == [0.0, inf]  # torch: nan at -inf
    assert activate(t(-inf, inf), "gelu").tolist() == [0.0, inf]
    assert activate(t(-inf, inf), "mish").tolist() == [0.0, inf]
    assert activate(t(-inf, inf), "softsign").tolist() == [-1.0, 1.0]
    assert activate(t(-inf, inf), "selu").tolist()[0] == pytest.approx(
        -1.0507009873554805 * 1.6732632423543772
    )


@pytest.mark.parametrize(
    ("name", "params", "at", "expected"),
    [
        ("relu", {}, 0.0, 0.0),
        ("leaky_relu", {"negative_slope": 0.2}, 0.0, 0.2),
        ("relu6", {}, 0.0, 0.0),
        ("relu6", {}, 6.0, 0.0),
        ("hardswish", {}, -3.0, 0.0),
        ("hardswish", {}, 3.0, 1.0),
        ("elu", {"alpha": 2.0}, 0.0, 2.0),
        ("celu", {"alpha": 2.0}, 0.0, 1.0),
        ("leaky_relu6", {}, 0.0, 0.01),
        ("leaky_relu6", {}, 6.0, 0.0),
        ("leaky_relu6", {"cap_slope": 0.1}, 6.0, 0.1),
        ("hardtanh", {}, 1.0, 0.0),
    ],
)
def test_kink_conventions(name, params, at, expected):
    # Pinned from PyTorch's backward formulas (checked against torch in the parity test too).
    x = torch.tensor([at], dtype=torch.float64, requires_grad=True)
    activate(x, name, **params).backward()
    assert x.grad.item() == expected


@pytest.mark.parametrize(("info", "params"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_dtype_preserved(info, params, dtype):
    x64 = _points(info, params, kinks=False)[:48]
    x = x64.to(dtype).requires_grad_(True)
    y = activate(x, info, **params)
    y.backward(torch.ones_like(y))
    assert y.dtype == dtype and x.grad.dtype == dtype
    tol = {torch.float32: 1e-5, torch.bfloat16: 5e-2, torch.float16: 1e-2}[dtype]
    expected = activate(x.detach().double(), info, **params)
    if not params.get("training", False):
        torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)


@IMPLS
@pytest.mark.parametrize(("info", "params"), CASES)
def test_saves_one_input_sized_tensor(info, params, impl):
    # The reference saves exactly the input (or the output); the fast path at most one
    # input-sized tensor (torch's clone saves nothing for identity).
    x = torch.randn(8, 12, dtype=torch.float32, requires_grad=True)
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = activate(x, info, impl=impl, **params)
    y.sum().backward()
    out_bytes = y.numel() * y.element_size()
    one = x.numel() * x.element_size() if info.saves == "input" else out_bytes
    if impl == "reference":
        assert saved == [one]
    else:
        assert sum(saved) <= x.numel() * x.element_size(), saved


def test_rrelu_training_draws_slopes_and_backprops_them():
    torch.manual_seed(3)
    x = -torch.rand(1000, dtype=torch.float64) - 0.1
    x.requires_grad_(True)
    y = activate(x, "rrelu", training=True)
    y.sum().backward()
    slopes = (y / x).detach()
    assert (slopes >= 1 / 8).all() and (slopes <= 1 / 3).all() and slopes.std() > 0.03
    torch.testing.assert_close(x.grad, slopes)


def test_every_entry_is_documented():
    for info in ACTIVATIONS:
        assert info.formula and info.summary and info.reference, info.name
        assert info.kind == "vector" or info.df is not None, info.name
