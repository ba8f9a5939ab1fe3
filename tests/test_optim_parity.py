"""Trajectory parity with ``torch.optim``: every registered optimizer that torch also has is run
next to torch's for >= 100 steps on a small MLP in float64; parameters (their displacement from
the start) and every state tensor torch keeps must agree to 1e-10 relative (max-norm).
Also with weight decay, with an LR scheduler, and across a state_dict save/load in the middle."""

from __future__ import annotations

import copy
import inspect
import io

import pytest
import torch

from actlab.optim import OPTIMIZERS, create

STEPS = 100
RTOL = 1e-10
TORCH_BACKED = [info for info in OPTIMIZERS if info.torch_ref is not None]

# Structural or numeric choices away from the defaults that torch supports too.
VARIANTS = {
    "momentum": {"dampening": 0.1, "lr": 0.01},
    "nag": {"momentum": 0.5, "lr": 0.01},
    "adagrad": {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "adadelta": {"rho": 0.8, "eps": 1e-4},
    "rmsprop": {"centered": True, "momentum": 0.5, "lr": 3e-3},
    "adam": {"betas": (0.8, 0.9), "lr": 1e-2},
    "adamw": {"amsgrad": True, "weight_decay": 0.1},
    "amsgrad": {"betas": (0.5, 0.95), "lr": 1e-2},
    "adamax": {"eps": 1e-3, "lr": 1e-2},
    "nadam": {"decoupled_weight_decay": True, "weight_decay": 0.1, "momentum_decay": 0.01},
    "radam": {"decoupled_weight_decay": True, "weight_decay": 0.1, "lr": 1e-2},
    "sgd": {"lr": 0.1},
}
# Defaults of ours that deliberately differ from the torch class's (the issue asks for them).
DESIGNED = {("momentum", "momentum"), ("nag", "momentum"), ("nag", "nesterov")}


@pytest.fixture(autouse=True)
def float64_default():
    # torch keeps scalar state (step, NAdam's mu_product) in the default dtype; float64 makes its
    # reference as exact as ours.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _problem():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (32,), generator=gen)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    return model.double(), x, y


def _step(model, opt, x, y):
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    return opt.step(closure)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    scale = b.abs().max().clamp_min(1e-300)
    return float((a - b).abs().max() / scale)


def _assert_same(ours, ref, model_ours, model_ref, start, where):
    for i, (p, q, p0) in enumerate(zip(model_ours.parameters(), model_ref.parameters(), start)):
        err = _rel(p - p0, q - p0)
        assert err <= RTOL, f"{where}: param {i} displacement differs by {err:.2e}"
        mine, theirs = ours.state[p], ref.state[q]
        tensors = {k: v for k, v in theirs.items() if isinstance(v, torch.Tensor)}
        assert tensors or not theirs.get("momentum_buffer"), where
        for key, value in tensors.items():
            assert key in mine, f"{where}: state {key!r} missing (have {sorted(mine)})"
            err = _rel(mine[key], value)
            assert err <= RTOL, f"{where}: state {key!r} of param {i} differs by {err:.2e}"


def _run(info, hparams, *, scheduler=False, reload_at=None):
    model, x, y = _problem()
    ref_model = copy.deepcopy(model)
    start = [p.detach().clone() for p in model.parameters()]
    ours = create(info.name, model.parameters(), **hparams)
    ref = info.torch_ref(ref_model.parameters(), ours.defaults)
    scheds = []
    if scheduler:
        scheds = [torch.optim.lr_scheduler.StepLR(o, step_size=25, gamma=0.5) for o in (ours, ref)]
    for t in range(STEPS):
        if t == reload_at:
            ours, scheds = _reload(info, model, ours, scheds)
        loss_ours, loss_ref = _step(model, ours, x, y), _step(ref_model, ref, x, y)
        assert _rel(loss_ours, loss_ref) <= RTOL, f"{info.name}: loss differs at step {t}"
        for s in scheds:
            s.step()
    _assert_same(ours, ref, model, ref_model, start, info.name)
    # the run must have gone somewhere, or the comparison proves nothing
    moved = max(float((p.detach() - p0).abs().max()) for p, p0 in zip(model.parameters(), start))
    assert moved > 1e-4


def _reload(info, model, ours, scheds):
    """Save the optimizer (and scheduler) to bytes, build fresh ones, load, continue."""
    buffer = io.BytesIO()
    sched_state = [s.state_dict() for s in scheds[:1]]
    torch.save(ours.state_dict(), buffer)
    buffer.seek(0)
    fresh = create(info.name, model.parameters(), lr=0.123)  # overwritten by the load
    fresh.load_state_dict(torch.load(buffer, weights_only=False))
    if not scheds:
        return fresh, []
    sched = torch.optim.lr_scheduler.StepLR(fresh, step_size=25, gamma=0.5)
    sched.load_state_dict(sched_state[0])
    return fresh, [sched, scheds[1]]


def _lr(info) -> float:
    return VARIANTS[info.name].get("lr", info.defaults["lr"])


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_defaults_match_torch(info):
    model, _, _ = _problem()
    ref_cls = type(info.torch_ref(model.parameters(), info.resolve()))
    signature = inspect.signature(ref_cls.__init__).parameters
    compared = 0
    for p in info.params:
        if p.name in signature and (info.name, p.name) not in DESIGNED:
            torch_default = signature[p.name].default
            if info.name == "amsgrad" and p.name == "amsgrad":
                continue
            assert p.default == torch_default, f"{info.name}.{p.name}"
            compared += 1
    assert compared >= 2


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_parity_defaults(info):
    _run(info, {"lr": _lr(info)})


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_parity_variant(info):
    _run(info, VARIANTS[info.name])


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_parity_weight_decay(info):
    _run(info, {"lr": _lr(info), "weight_decay": 0.05})


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_parity_scheduler(info):
    _run(info, VARIANTS[info.name], scheduler=True)


@pytest.mark.parametrize("info", TORCH_BACKED, ids=lambda i: i.name)
def test_parity_state_dict_reload(info):
    _run(info, VARIANTS[info.name], scheduler=True, reload_at=STEPS // 2)


def test_param_groups_and_parity():
    """Two param groups with their own hyperparameters, run against torch's Adam."""
    info = OPTIMIZERS.get("adam")
    model, x, y = _problem()
    ref_model = copy.deepcopy(model)
    first, second = list(model[0].parameters()), list(model[2].parameters())
    ours = create("adam", [{"params": first, "lr": 1e-2}, {"params": second}], lr=1e-3)
    ref = torch.optim.Adam(
        [
            {"params": list(ref_model[0].parameters()), "lr": 1e-2},
            {"params": list(ref_model[2].parameters())},
        ],
        lr=1e-3,
    )
    assert [g["lr"] for g in ours.param_groups] == [1e-2, 1e-3]
    start = [p.detach().clone() for p in model.parameters()]
    for _ in range(STEPS):
        _step(model, ours, x, y)
        _step(ref_model, ref, x, y)
    _assert_same(ours, ref, model, ref_model, start, info.name)
