"""The loss catalog against torch.nn, autograd and finite differences, parametrized by the registry.

Every differentiable entry is checked three ways: values equal ``torch.nn.functional`` where torch
has the loss (``torch_fn``); the declared analytic gradient equals autograd through the formula;
and the autograd function that backpropagates with it passes ``gradcheck``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from actlab.losses import LOSSES, Loss, loss, loss_grad, reduce

N, C = 6, 5

# (loss, params) variants: every declared parameter is exercised away from its default.
VARIANTS = [
    ("cross_entropy", {}),
    ("cross_entropy", {"label_smoothing": 0.2}),
    ("cross_entropy", {"temperature": 0.5}),
    ("cross_entropy", {"weight": (0.5, 1.0, 2.0, 0.1, 1.5)}),
    ("cross_entropy", {"weight": (0.5, 1.0, 2.0, 0.1, 1.5), "label_smoothing": 0.1}),
    ("binary_logistic", {}),
    ("binary_logistic", {"pos_weight": 3.0}),
    ("multilabel_logistic", {}),
    ("kl_div", {}),
    ("kl_div", {"log_target": True}),
    ("multiclass_hinge", {}),
    ("multiclass_hinge", {"margin": 0.5, "p": 2}),
    ("crammer_singer", {}),
    ("crammer_singer", {"margin": 2.0, "p": 2}),
    ("multilabel_hinge", {}),
    ("multilabel_hinge", {"margin": 0.3}),
    ("squared_error", {}),
    ("absolute_error", {}),
    ("huber", {}),
    ("huber", {"delta": 0.3}),
    ("smooth_l1", {}),
    ("smooth_l1", {"beta": 0.4}),
    ("smooth_l1", {"beta": 0.0}),
    ("zero_one", {}),
]
DIFFERENTIABLE = [(n, p) for n, p in VARIANTS if LOSSES.get(n).differentiable]


def test_variants_cover_the_catalog():
    assert {n for n, _ in VARIANTS} == set(LOSSES.names())


def _cases(name: str, params: dict, dtype=torch.float64, seed: int = 0):
    """(scores, target, params) for every target form the entry accepts."""
    g = torch.Generator().manual_seed(seed)
    info = LOSSES.get(name)
    scores = 2 * torch.randn(N, C, generator=g, dtype=dtype)
    out = []
    for form in info.targets:
        if form == "index":
            target = torch.randint(0, C, (N,), generator=g)
        elif form == "probs":
            target = torch.softmax(torch.randn(N, C, generator=g, dtype=dtype), -1)
            target[0, 1] = 0.0  # a zero probability: 0 log 0 = 0
            target = target / target.sum(-1, keepdim=True)
            if params.get("log_target"):
                target = torch.log(target)
        elif form == "binary":
            target = torch.rand(N, C, generator=g, dtype=dtype)
            target[:2] = target[:2].round()  # hard labels and soft ones
        else:
            target = torch.randn(N, C, generator=g, dtype=dtype)
        out.append((scores, target, dict(params)))
    return out


def _id(v):
    return f"{v[0]}-{'-'.join(f'{k}={x}' for k, x in v[1].items()) or 'default'}"


@pytest.mark.parametrize("variant", [v for v in VARIANTS if LOSSES.get(v[0]).torch_fn], ids=_id)
def test_unreduced_values_equal_torch(variant):
    name, params = variant
    info = LOSSES.get(name)
    for scores, target, p in _cases(name, params):
        torch_params = {
            k: torch.tensor(v, dtype=scores.dtype) if k == "weight" else v for k, v in p.items()
        }
        expected = info.torch_fn(scores, target, **torch_params)
        got = loss(scores, target, name, reduction="none", **p)
        if name == "kl_div" and p.get("log_target"):
            # torch computes exp(-inf) * (-inf - x) = NaN for a zero target probability given as
            # log 0 = -inf; the limit is 0 log 0 = 0, which is what the catalog returns
            assert torch.isnan(expected[0]) and torch.isfinite(got).all()
            got, expected = got[1:], expected[1:]
        else:
            assert got.shape == (scores.shape if info.per == "element" else scores.shape[:1])
        torch.testing.assert_close(got, expected)


def test_reductions_equal_torch_reductions():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(N, C, generator=g, dtype=torch.float64)
    y = torch.randint(0, C, (N,), generator=g)
    w = torch.rand(C, generator=g, dtype=torch.float64) + 0.2
    # weighted mean divides by the summed weights of the true classes, as torch does
    for eps in (0.0, 0.3):
        torch.testing.assert_close(
            loss(s, y, "cross_entropy", weight=w, label_smoothing=eps),
            F.cross_entropy(s, y, weight=w, label_smoothing=eps),
        )
        values = loss(s, y, "cross_entropy", weight=w, label_smoothing=eps, reduction="none")
        assert not torch.allclose(loss(s, y, "ce", weight=w, label_smoothing=eps), values.mean())
    p = torch.softmax(torch.randn(N, C, generator=g, dtype=torch.float64), -1)
    torch.testing.assert_close(
        loss(s, p, "kl_div"), F.kl_div(F.log_softmax(s, -1), p, reduction="batchmean")
    )
    t = torch.randn(N, C, generator=g, dtype=torch.float64)
    for name, ref in (("squared_error", F.mse_loss), ("absolute_error", F.l1_loss)):
        torch.testing.assert_close(loss(s, t, name), ref(s, t))
        torch.testing.assert_close(loss(s, t, name, reduction="sum"), ref(s, t, reduction="sum"))
        torch.testing.assert_close(loss(s, t, name, reduction="batchmean"), ref(s, t).mul(C))
    torch.testing.assert_close(
        loss(s, y, "multiclass_hinge", reduction="sum"),
        C * F.multi_margin_loss(s, y, reduction="sum"),
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
@pytest.mark.parametrize("variant", DIFFERENTIABLE, ids=_id)
def test_analytic_gradient_equals_autograd(variant, reduction):
    name, params = variant
    info = LOSSES.get(name)
    if reduction not in info.reductions:
        pytest.skip(f"{name} has no {reduction!r} reduction")
    for scores, target, p in _cases(name, params, seed=2):
        s = scores.clone().requires_grad_(True)
        bound = info.bind(p)
        den = info.mean_denominator(s, target, **bound) if info.mean_denominator else None
        plain = reduce(info.fn(s, target, **bound), reduction, batch=N, denominator=den)
        (expected,) = torch.autograd.grad(plain.sum(), s)  # autograd through the formula
        analytic = loss_grad(scores, target, name, reduction=reduction, **p)
        torch.testing.assert_close(analytic, expected)
        s2 = scores.clone().requires_grad_(True)
        loss(s2, target, name, reduction=reduction, **p).sum().backward()  # analytic backward
        torch.testing.assert_close(s2.grad, expected)


@pytest.mark.parametrize("variant", DIFFERENTIABLE, ids=_id)
def test_gradcheck(variant):
    name, params = variant
    for scores, target, p in _cases(name, params, seed=3):
        s = scores.clone().requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda x, t=target, p=p: loss(x, t, name, reduction="none", **p), s
        )


@pytest.mark.parametrize("variant", VARIANTS, ids=_id)
def test_stable_at_logits_1e4_apart(variant):
    name, params = variant
    for dtype in (torch.float32, torch.float64):
        for scores, target, p in _cases(name, params, dtype=dtype, seed=4):
            s = (scores.sign() * 1e4).clone()  # entries +-1e4: 2e4 apart within a row
            s[:, 0] = 0.0
            s.requires_grad_(True)
            value = loss(s, target, name, reduction="sum", **p)
            assert torch.isfinite(value), (name, dtype)
            if LOSSES.get(name).differentiable:
                value.backward()
                assert torch.isfinite(s.grad).all(), (name, dtype)


def test_softmax_cross_entropy_gradient_is_p_minus_onehot():
    g = torch.Generator().manual_seed(5)
    s = torch.randn(N, C, generator=g, dtype=torch.float64)
    y = torch.randint(0, C, (N,), generator=g)
    expected = torch.softmax(s, -1) - F.one_hot(y, C).to(s.dtype)
    torch.testing.assert_close(loss_grad(s, y, "cross_entropy", reduction="none"), expected)


def test_pinned_values_from_the_lecture():
    # uniform logits: -log(1/C)
    assert loss(torch.zeros(1, 4), torch.tensor([2]), "ce").item() == pytest.approx(math.log(4))
    # the lecture's temperature table: softmax([1, 1.1] / T) with beta = 1/T = 5 is
    # [0.378, 0.622]; the loss of the second class is -log(sigmoid(0.5)) = 0.474077
    value = loss(torch.tensor([[1.0, 1.1]]), torch.tensor([1]), "ce", temperature=0.2)
    assert value.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.5))), rel=1e-5)
    # hinge is "happy" at [10, 9, 9] and [10, -10, -10] with margin 1; cross-entropy is not
    happy = torch.tensor([[10.0, 9.0, 9.0], [10.0, -10.0, -10.0]])
    y = torch.tensor([0, 0])
    assert loss(happy, y, "multiclass_hinge", reduction="sum").item() == 0.0
    assert loss(happy[:1], y[:1], "ce").item() > 0.1
    # cs231n-style worked example: scores [3.2, 5.1, -1.7], y = 0, Delta = 1:
    # max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9; Crammer-Singer takes the same 2.9
    s = torch.tensor([[3.2, 5.1, -1.7]], dtype=torch.float64)
    assert loss(s, torch.tensor([0]), "multiclass_hinge").item() == pytest.approx(2.9)
    assert loss(s, torch.tensor([0]), "crammer_singer", p=2).item() == pytest.approx(2.9**2)


def test_multilabel_hinge_is_the_lecture_formula():
    g = torch.Generator().manual_seed(6)
    s = torch.randn(N, C, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (N, C), generator=g).to(s.dtype)
    sign = 2 * y - 1  # y_ij = +1 if labelled, else -1
    expected = torch.stack(
        [sum(max(0.0, 1 - sign[i, j] * s[i, j]) for j in range(C)) / C for i in range(N)]
    )
    torch.testing.assert_close(loss(s, y, "multilabel_hinge", reduction="none"), expected)


def test_zero_one_is_the_error_rate():
    s = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert loss(s, torch.tensor([0, 0, 1]), "zero_one").item() == pytest.approx(2 / 3)
    margins = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    ones = torch.ones(4)
    torch.testing.assert_close(
        loss(margins, ones, "zero_one", reduction="none"), torch.tensor([1.0, 1.0, 0.0, 0.0])
    )
    x = torch.randn(3, 2, requires_grad=True)
    assert not loss(x, torch.tensor([0, 1, 1]), "zero_one").requires_grad


def test_targets_that_require_grad_receive_gradients():
    g = torch.Generator().manual_seed(7)
    s = torch.randn(N, C, generator=g, dtype=torch.float64)
    teacher = torch.randn(N, C, generator=g, dtype=torch.float64, requires_grad=True)
    p = torch.softmax(teacher, -1)
    loss(s, p, "kl_div").backward()
    t2 = teacher.detach().clone().requires_grad_(True)
    F.kl_div(F.log_softmax(s, -1), torch.softmax(t2, -1), reduction="batchmean").backward()
    torch.testing.assert_close(teacher.grad, t2.grad)


def test_module_shell():
    m = Loss("ce", label_smoothing=0.1, reduction="sum")
    s, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(m(s, y), F.cross_entropy(s, y, label_smoothing=0.1, reduction="sum"))
    assert "cross_entropy" in repr(m) and "label_smoothing=0.1" in repr(m)


def test_every_entry_documents_formula_and_gradient():
    for info in LOSSES:
        assert info.formula and info.gradient and info.summary and info.reference, info.name
