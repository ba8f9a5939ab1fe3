"""The pure updates take tensor hyperparameters: one update of K stacked members ([K, ...] weights,
per-member lr/betas/eps/...) equals K separate updates with float hyperparameters."""

from __future__ import annotations

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
