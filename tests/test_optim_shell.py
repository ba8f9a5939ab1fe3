"""The torch.optim shell: bad input, non-finite gradients, introspection, classes, param groups,
closures, and Nesterov's look-ahead form."""

from __future__ import annotations

import itertools

import pytest
import torch

import actlab.optim as optim
from actlab.optim import OPTIMIZERS, NonFiniteGradientError, create, inspect

ALL = list(OPTIMIZERS)


def _param(values=(1.0, -2.0, 0.5)):
    return torch.nn.Parameter(torch.tensor(values, dtype=torch.float64))


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("info", ALL, ids=lambda i: i.name)
def test_negative_lr_names_parameter_and_range(info):
    with pytest.raises(ValueError, match=r"lr=-0\.1 is out of range; valid range is \[0, inf\)"):
        create(info.name, [_param()], lr=-0.1)


@pytest.mark.parametrize("info", [i for i in ALL if "eps" in i.defaults], ids=lambda i: i.name)
def test_negative_eps(info):
    with pytest.raises(ValueError, match=r"eps=-1e-08 is out of range; valid range is \[0, inf\)"):
        create(info.name, [_param()], eps=-1e-8)


@pytest.mark.parametrize("info", [i for i in ALL if "betas" in i.defaults], ids=lambda i: i.name)
@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, -0.1), (0.9, 1.5)])
def test_betas_outside_unit_interval(info, betas):
    with pytest.raises(ValueError, match=r"betas=.* is out of range; valid range is \[0, 1\)"):
        create(info.name, [_param()], betas=betas)


@pytest.mark.parametrize("info", [i for i in ALL if "momentum" in i.defaults], ids=lambda i: i.name)
def test_negative_momentum(info):
    with pytest.raises(
        ValueError, match=r"momentum=-0\.5 is out of range; valid range is \[0, 1\]"
    ):
        create(info.name, [_param()], momentum=-0.5)


@pytest.mark.parametrize("name", ["momentum", "nag"])
def test_nesterov_without_momentum(name):
    with pytest.raises(ValueError, match=r"nesterov=True needs momentum in \(0, 1\]"):
        create(name, [_param()], nesterov=True, momentum=0.0)
    with pytest.raises(ValueError, match="dampening=0"):
        create(name, [_param()], nesterov=True, dampening=0.1)


def test_unknown_names_get_closest_matches():
    with pytest.raises(ValueError, match="did you mean: adam"):
        create("adma", [_param()])
    with pytest.raises(ValueError, match="did you mean: betas"):
        create("adam", [_param()], beta=(0.9, 0.99))
    with pytest.raises(ValueError, match="convention='tf' is not one of"):
        create("adam", [_param()], convention="tf")


def test_param_group_values_are_validated():
    with pytest.raises(ValueError, match="lr=-1"):
        create("sgd", [{"params": [_param()], "lr": -1.0}])


# -- non-finite gradients --------------------------------------------------------------------


@pytest.mark.parametrize("info", ALL, ids=lambda i: i.name)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nonfinite_gradient_never_corrupts_state(info, bad):
    w, v = _param(), _param((0.3, 0.2))
    opt = create(info.name, [w, v], lr=0.01)
    for g in ((0.5, -1.0, 2.0), (0.1, 0.2, -0.3)):
        w.grad, v.grad = torch.tensor(g, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
        opt.step()
    before = {p: {k: t.clone() for k, t in opt.state[p].items()} for p in (w, v)}
    params = (w.detach().clone(), v.detach().clone())
    w.grad = torch.tensor((1.0, bad, 0.0), dtype=torch.float64)
    with pytest.raises(NonFiniteGradientError, match=r"param_groups\[0\]\['params'\]\[0\]"):
        opt.step()
    assert torch.equal(w.detach(), params[0]) and torch.equal(v.detach(), params[1])
    for p in (w, v):
        assert all(torch.equal(before[p][k], opt.state[p][k]) for k in before[p])

    skipping = create(info.name, [w, v], lr=0.01, on_nonfinite="skip")
    skipping.load_state_dict(opt.state_dict())
    skipping.step()
    assert skipping.skipped_steps == 1
    assert torch.equal(w.detach(), params[0])
    assert all(torch.isfinite(t).all() for t in skipping.state[w].values())


# -- introspection ---------------------------------------------------------------------------


def test_adagrad_effective_rate_shrinks_towards_zero():
    w = _param()
    opt = create("adagrad", [w], lr=0.1)
    rates = []
    for _ in range(400):
        w.grad = torch.tensor((0.5, -1.0, 2.0), dtype=torch.float64)
        rates.append(inspect(opt)[0].effective_lr)
        opt.step()
    assert all(b < a for a, b in itertools.pairwise(rates))
    # constant gradient g: rate_t = lr / (sqrt(t) |g|); the median coordinate has |g| = 1
    assert rates[0] == pytest.approx(0.1, rel=1e-9)
    assert rates[-1] == pytest.approx(0.1 / 400**0.5, rel=1e-9)


def test_effective_rate_of_sgd_is_lr_and_inspect_changes_nothing():
    w = _param()
    opt = create("momentum", [w], lr=0.05, momentum=0.0)
    w.grad = torch.tensor((0.5, -1.0, 2.0), dtype=torch.float64)
    opt.step()
    state = {k: t.clone() for k, t in opt.state[w].items()}
    report = inspect(opt)[0]
    assert report.effective_lr == pytest.approx(0.05, rel=1e-12)
    assert (report.group, report.index, report.shape) == (0, 0, (3,))
    assert all(torch.equal(state[k], opt.state[w][k]) for k in state)


def test_factors_bias_correction_rectification_and_momentum_schedule():
    w = _param()
    adam, radam, nadam = (create(n, [w]) for n in ("adam", "radam", "nadam"))
    rectified = []
    for t in range(1, 9):
        w.grad = torch.tensor((0.5, -1.0, 2.0), dtype=torch.float64)
        fa, fr, fn = (inspect(o)[0].factors for o in (adam, radam, nadam))
        assert fa["bias_correction1"] == pytest.approx(1 - 0.9**t, rel=1e-12)
        assert fa["bias_correction2"] == pytest.approx(1 - 0.999**t, rel=1e-12)
        assert fn["mu"] == pytest.approx(0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)), rel=1e-12)
        rectified.append(fr["rectified"])
        for o in (adam, radam, nadam):
            o.step()
    # rho_t > 5 first holds at t = 6 for beta2 = 0.999 (RAdam's warm-up)
    assert rectified == [0.0] * 5 + [1.0] * 3


# -- classes, groups, closures ---------------------------------------------------------------


@pytest.mark.parametrize("info", ALL, ids=lambda i: i.name)
def test_one_class_per_optimizer(info):
    cls = getattr(optim, info.class_name)
    assert issubclass(cls, torch.optim.Optimizer)
    opt = cls([_param()])
    assert type(create(info.name, [_param()])) is cls
    assert opt.defaults == info.resolve()


def test_param_group_with_its_own_convention():
    a, b = _param(), _param()
    opt = create("adam", [{"params": [a]}, {"params": [b], "convention": "keras"}])
    assert opt.param_groups[0]["eps"] == 1e-8 and opt.param_groups[1]["eps"] == 1e-7
    assert opt.param_groups[1]["eps_hat"] is True


def test_closure_loss_is_returned():
    w = _param()
    opt = create("rmsprop", [w])

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.detach()) == pytest.approx(5.25)
    assert not torch.equal(w.detach(), _param().detach())


def test_nesterov_is_sutskevers_look_ahead():
    """Literal look-ahead NAG (gradient at theta + mu v) in the shifted variable phi = theta + mu v
    equals our `nag` with the learning rate in the buffer, and torch's form at constant lr."""
    a = torch.tensor([[3.0, 0.5], [0.5, 1.0]], dtype=torch.float64)

    def grad(x):
        return a @ x

    lr, mu = 0.05, 0.9
    theta = torch.tensor([1.0, -1.5], dtype=torch.float64)
    v = torch.zeros(2, dtype=torch.float64)
    phis = []
    for _ in range(30):
        v = mu * v - lr * grad(theta + mu * v)
        theta = theta + v
        phis.append(theta + mu * v)

    for kwargs in ({"lr_in_buffer": True, "first_buffer": "zero"}, {}):
        w = torch.nn.Parameter(torch.tensor([1.0, -1.5], dtype=torch.float64))
        opt = create("nag", [w], lr=lr, momentum=mu, **kwargs)
        for phi in phis:
            w.grad = grad(w.detach())
            opt.step()
            torch.testing.assert_close(w.detach(), phi, rtol=1e-12, atol=1e-14)


def test_pickle_round_trip_and_positional_lr():
    import pickle

    w = _param()
    opt = optim.Adam([w], 0.01)
    assert opt.param_groups[0]["lr"] == 0.01
    w.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    twin_w, twin = pickle.loads(pickle.dumps((w, opt)))
    assert twin.info.name == "adam" and twin.state[twin_w]["step"] == 1
    for p, o in ((w, opt), (twin_w, twin)):
        p.grad = torch.full((3,), 0.5, dtype=torch.float64)
        o.step()
    assert torch.equal(w.detach(), twin_w.detach())
