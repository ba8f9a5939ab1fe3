"""The pure updates take tensor hyperparameters: one update of K stacked members ([K, ...] weights,
per-member lr/betas/eps/...) equals K separate updates with float hyperparameters."""

from __future__ import annotations

import copy
import io

import pytest
import torch

from actlab.errors import ParameterError
from actlab.optim import CONVENTIONS, OPTIMIZERS, functional

K = 3
SHAPE = (4, 5)
STEPS = 6


def _member_values(info, convention):
    """K valid values per numeric hyperparameter, different across members where allowed."""
    base = info.resolve(convention=convention)
    values = {}
    for name in info.numeric:
        d = base[name]
        if name == "betas":
            values[name] = [(0.8, 0.99), d, (0.5, 0.9)]
            continue
        high = info.param(name).high
        top = d * 1.5 if high is None else d + (high - d) / 2
        spread = [d * 0.5, d, top] if d > 0 else [0.0, 0.01, 0.1]
        if name == "momentum":
            spread = [0.5, 0.9, 0.0] if d > 0 else [0.0, 0.5, 0.9]
        values[name] = spread
    members = [{**base, **{k: v[m] for k, v in values.items()}} for m in range(K)]
    for name in values:
        try:
            for m in members:
                info.resolve({**base, name: m[name]})
        except ParameterError:  # e.g. momentum 0 with nesterov: keep the default for all
            for m in members:
                m[name] = base[name]
    return members


def _stack(members, name, shape=(K, 1, 1)):
    if name == "betas":
        return tuple(
            torch.tensor([m["betas"][i] for m in members], dtype=torch.float64).view(shape)
            for i in range(2)
        )
    return torch.tensor([m[name] for m in members], dtype=torch.float64).view(shape)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("info", list(OPTIMIZERS), ids=lambda i: i.name)
def test_stacked_update_equals_separate_updates(info, convention):
    members = _member_values(info, convention)
    varied = [n for n in info.numeric if len({repr(m[n]) for m in members}) > 1]
    assert "lr" in varied
    structural = {k: members[0][k] for k in info.structural}
    stacked_h = {n: _stack(members, n) for n in info.numeric}
    t, h = functional(info.name, **structural, **stacked_h)

    gen = torch.Generator().manual_seed(0)
    w = torch.randn(K, *SHAPE, generator=gen, dtype=torch.float64)
    grads = [torch.randn(K, *SHAPE, generator=gen, dtype=torch.float64) for _ in range(STEPS)]

    state = t.init(w, **h)
    stacked = w.clone()
    for g in grads:
        u, state = t.update(g, state, stacked, **h)
        stacked = stacked + u

    for k, m in enumerate(members):
        tk, hk = functional(info.name, **structural, **{n: m[n] for n in info.numeric})
        assert all(not isinstance(v, torch.Tensor) for v in hk.values() if v is not None)
        sk = tk.init(w[k], **hk)
        alone = w[k].clone()
        for g in grads:
            u, sk = tk.update(g[k], sk, alone, **hk)
            alone = alone + u
        torch.testing.assert_close(stacked[k], alone, rtol=1e-12, atol=1e-14)
        assert set(sk) == set(state)
        for key, value in sk.items():
            mine = state[key][k] if state[key].dim() == 3 else state[key]
            torch.testing.assert_close(
                *torch.broadcast_tensors(mine, value), rtol=1e-12, atol=1e-14
            )
    assert float((stacked - w).abs().max()) > 0


def test_tensor_hyperparameters_are_range_checked():
    with pytest.raises(ValueError, match=r"lr=-0\.1 is out of range; valid range is \[0, inf\)"):
        functional("adam", lr=torch.tensor([1e-3, -0.1]).view(2, 1))
    with pytest.raises(ValueError, match=r"betas"):
        functional("adam", betas=(torch.tensor([0.9, 1.0]), 0.999))
    with pytest.raises(ValueError, match="structural"):
        functional("rmsprop", centered=torch.tensor(True))


def test_update_is_pure():
    t, h = functional("adam")
    p = torch.randn(5, dtype=torch.float64)
    state = t.init(p, **h)
    _, state = t.update(torch.ones(5, dtype=torch.float64), state, p, **h)
    before = {k: v.clone() for k, v in state.items()}
    p_before = p.clone()
    t.update(torch.randn(5, dtype=torch.float64), state, p, **h)
    assert all(torch.equal(before[k], state[k]) for k in state)
    assert torch.equal(p, p_before)


# -- StackedOptimizer.state_dict / load_state_dict ---------------------------------------------

MIXED = [
    ("sgd", {"lr": 0.1}),
    ("momentum", {"lr": 0.05}),
    ("nag", {"lr": 0.05}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5}),
    ("adagrad", {"lr": 0.1}),
    ("adadelta", {}),
    ("adam", {"lr": 0.01}),  # shares member 3's group: a group of two, not adjacent
    ("momentum", {"lr": 0.05}),
]


def _stacked_params(dtype, gen):
    """A stacked weight and bias ([K, ...], row k = member k) and a grouped parameter whose rows
    belong to members 1, 4 and 8 (an activation group's learnable slope)."""
    K = len(MIXED)
    shapes = [((K, 4, 3), torch.arange(K)), ((K, 1, 3), torch.arange(K))]
    shapes.append(((3, 1, 1), torch.tensor([1, 4, 8])))
    return [(torch.nn.Parameter(torch.randn(*s, generator=gen, dtype=dtype)), m) for s, m in shapes]


def _steps(opt, params, grads):
    for g in grads:
        for (p, _), gp in zip(params, g):
            p.grad = gp.clone()
        opt.step()
        opt.zero_grad()


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacked_optimizer_state_dict_continues_bit_identically(dtype, flat):
    from actlab.train import StackedOptimizer

    gen = torch.Generator().manual_seed(0)
    params = _stacked_params(dtype, gen)
    grads = [
        [torch.randn(p.shape, generator=gen, dtype=dtype) for p, _ in params] for _ in range(10)
    ]
    opt = StackedOptimizer(params, MIXED, flat=flat)
    _steps(opt, params, grads[:3])
    opt.freeze([5])
    _steps(opt, params, grads[3:5])

    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    copies = [(torch.nn.Parameter(p.detach().clone()), m) for p, m in params]

    _steps(opt, params, grads[5:])
    fresh = StackedOptimizer(copies, MIXED, flat=flat)
    fresh.load_state_dict(saved)
    assert fresh.frozen == {5}
    _steps(fresh, copies, grads[5:])
    for (p, _), (q, _) in zip(params, copies):
        assert torch.equal(p, q)
    for k in range(len(MIXED)):
        mine, theirs = opt.state_of(k), fresh.state_of(k)
        assert mine.keys() == theirs.keys()
        for i in mine:
            assert all(torch.equal(mine[i][key], theirs[i][key]) for key in mine[i])
    assert opt.state_of(5) == {} and opt.state_of(0)  # frozen member: no state; others: some


def test_stacked_optimizer_state_dict_is_a_copy():
    from actlab.train import StackedOptimizer

    gen = torch.Generator().manual_seed(1)
    params = _stacked_params(torch.float64, gen)
    opt = StackedOptimizer(params, MIXED)
    _steps(opt, params, [[torch.randn(p.shape, generator=gen, dtype=p.dtype) for p, _ in params]])
    state = opt.state_dict()
    before = copy.deepcopy(state)
    _steps(opt, params, [[torch.ones_like(p) for p, _ in params]])
    tensors = [
        (a, b)
        for group, old in zip(state["slots"], before["slots"])
        for slot, slot_old in zip(group, old)
        if slot is not None
        for a, b in zip(slot.values(), slot_old.values())
    ]
    assert tensors and all(torch.equal(a, b) for a, b in tensors)


def test_stacked_optimizer_load_state_dict_refuses_another_structure():
    from actlab.errors import ActlabError
    from actlab.train import StackedOptimizer

    gen = torch.Generator().manual_seed(2)
    params = _stacked_params(torch.float32, gen)
    opt = StackedOptimizer(params, MIXED)
    _steps(opt, params, [[torch.randn(p.shape, generator=gen) for p, _ in params]])
    state = opt.state_dict()
    other_opts = [("adam", {"lr": 0.01}) if name == "sgd" else (name, h) for name, h in MIXED]
    other_lr = [(name, {**h, "lr": 0.5}) if name == "sgd" else (name, h) for name, h in MIXED]
    wider = [(torch.nn.Parameter(torch.zeros(len(MIXED), 5, 3)), torch.arange(len(MIXED)))]
    others = [
        StackedOptimizer(params, other_opts),
        StackedOptimizer(params, other_lr),
        StackedOptimizer(wider + params[1:], MIXED),
        StackedOptimizer(params[:2], MIXED),
    ]
    for other in others:
        with pytest.raises(ActlabError, match="another stack") as err:
            other.load_state_dict(state)
        assert "\n" not in str(err.value)
    with pytest.raises(ActlabError, match="another stack"):
        opt.load_state_dict({"slots": []})


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacked_optimizer_flat_buffers_equal_per_parameter_updates(dtype):
    """One flat buffer per group gives the same bits as one update per parameter, through a
    freeze and a state saved in one layout and loaded in the other."""
    from actlab.train import StackedOptimizer

    gen = torch.Generator().manual_seed(3)
    params = _stacked_params(dtype, gen)
    grads = [
        [torch.randn(p.shape, generator=gen, dtype=dtype) for p, _ in params] for _ in range(8)
    ]
    copies = [(torch.nn.Parameter(p.detach().clone()), m) for p, m in params]
    start = params[0][0].detach().clone()
    flat = StackedOptimizer(params, MIXED, flat=True)
    apart = StackedOptimizer(copies, MIXED, flat=False)
    assert any(len(f.params) > 1 for g in flat.groups for f in g.flats)
    assert all(len(f.params) == 1 for g in apart.groups for f in g.flats)
    for opt, ps in ((flat, params), (apart, copies)):
        _steps(opt, ps, grads[:3])
        opt.freeze([3, 6])
        _steps(opt, ps, grads[3:5])
    for (p, _), (q, _) in zip(params, copies):
        assert torch.equal(p, q)
    swapped = [
        StackedOptimizer(copies, MIXED, flat=True),
        StackedOptimizer(params, MIXED, flat=False),
    ]
    swapped[0].load_state_dict(apart.state_dict())
    swapped[1].load_state_dict(flat.state_dict())
    _steps(swapped[0], copies, grads[5:])
    _steps(swapped[1], params, grads[5:])
    for (p, _), (q, _) in zip(params, copies):
        assert torch.equal(p, q)
    assert not torch.equal(params[0][0], start)


def test_trainer_finiteness_check_marks_exactly_the_members_with_non_finite_gradients():
    """The trainer's check decides from sums; a finite overflow must not mark anyone, and a NaN
    or inf marks exactly the member owning that row (of a stacked or a grouped parameter)."""
    from actlab.train import StackedOptimizer
    from actlab.train.batched import _finite_gradients

    params = _stacked_params(torch.float32, torch.Generator().manual_seed(4))
    opt = StackedOptimizer(params, MIXED)
    K = len(MIXED)
    for p, _ in params:
        p.grad = torch.full_like(p, 3e38)  # every entry finite, every sum inf
    assert _finite_gradients(opt, K).all()
    params[0][0].grad[2, 1, 1] = float("nan")
    params[2][0].grad[1, 0, 0] = float("-inf")  # row 1 of the grouped parameter: member 4
    expected = torch.ones(K, dtype=torch.bool)
    expected[[2, 4]] = False
    assert torch.equal(_finite_gradients(opt, K), expected)
    for p, _ in params:
        p.grad = torch.zeros_like(p)
    assert _finite_gradients(opt, K).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("eps_inside", [False, True])
def test_adam_in_place_rounds_as_the_written_formula(dtype, eps_inside):
    # Adam runs its formula's operations in place on its own temporaries (fewer allocations and
    # passes): every step must round exactly as the out-of-place expressions written here --
    # operand order included, which decides bfloat16's rounding of a scalar
    transform, h = functional("adam", lr=3e-3, betas=(0.8, 0.95), eps=1e-6, eps_inside=eps_inside)
    gen = torch.Generator().manual_seed(5)
    p = torch.randn(7, 37, generator=gen, dtype=torch.float64).to(dtype)
    m, v, t = torch.zeros_like(p), torch.zeros_like(p), torch.zeros((), dtype=torch.float64)
    state = transform.init(p, **h)
    for _ in range(STEPS):
        g = torch.randn(7, 37, generator=gen, dtype=torch.float64).to(dtype)
        u, state = transform.update(g, state, p, **h)
        t = t + 1
        m = m + (1 - 0.8) * (g - m)
        v = 0.95 * v + (1 - 0.95) * g * g
        bc1, bc2 = 1 - 0.8**t, 1 - 0.95**t
        denom = torch.sqrt(v / bc2 + 1e-6) if eps_inside else torch.sqrt(v / bc2) + 1e-6
        expected = -(3e-3 / bc1) * m / denom
        assert torch.equal(u, expected) and u.dtype == dtype
        assert torch.equal(state["exp_avg"], m) and torch.equal(state["exp_avg_sq"], v)
        p = p + u
