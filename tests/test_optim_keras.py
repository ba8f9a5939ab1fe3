"""The ``convention="keras"`` presets against Keras 3's documented formulas, and the convention
switches against each other."""

from __future__ import annotations

import pytest
import torch

from actlab.optim import OPTIMIZERS, create, functional

W0 = (1.0, -2.0)
GRADS = ((0.5, -0.1), (-0.01, 0.2), (0.02, -0.05))

# Expected parameters after the three gradients above, starting from W0, with Keras's defaults.
# Derived with a standalone plain-Python script (float math, no torch, no actlab) that transcribes
# each `update_step` of keras/src/optimizers/{sgd,adagrad,adadelta,rmsprop,adam,adamax,nadam,
# lion}.py in Keras 3 and the decoupled decay of base_optimizer._apply_weight_decay
# (w <- w - w * weight_decay * lr, applied before the update). Keras defaults used: SGD lr 0.01,
# the others lr 0.001, epsilon 1e-7, Adagrad initial accumulator 0.1, Adadelta rho 0.95,
# RMSprop rho 0.9, Adam betas (0.9, 0.999), AdamW weight_decay 0.004, Lion betas (0.9, 0.99);
# our `momentum`/`nag` use momentum 0.9.
KERAS_EXPECTED = {
    "sgd": ({}, (0.9949, -2.0004999999999997)),
    "momentum": ({}, (0.98644, -2.0005900000000003)),
    "nag": ({}, (0.9826960000000001, -2.0010310000000002)),
    "adagrad": ({}, (0.9991379644905326, -2.000086849561881)),
    "adadelta": ({}, (0.9999985437447718, -1.9999997836847028)),
    "rmsprop": ({}, (0.9967640047800298, -1.9989625535845532)),
    "adam": ({}, (0.9978134841294232, -1.99950281874637)),
    "adamw": ({}, (0.9978014947974877, -1.9994788253777074)),
    "amsgrad": ({}, (0.9978136806675059, -1.99950281874637)),
    "adamax": ({}, (0.9982287528236986, -1.999379970894639)),
    "nadam": ({}, (0.9987673640078228, -1.999626750917643)),
    "lion": ({}, (0.997, -1.999)),
}
KERAS_VARIANTS = [
    ("rmsprop", {"centered": True, "momentum": 0.5}, (0.994124484051089, -1.9977722409359389)),
    ("sgd", {"weight_decay": 0.1}, (0.9919128939999999, -1.994505997)),
]
CASES = [(name, extra, expected) for name, (extra, expected) in KERAS_EXPECTED.items()]
CASES += KERAS_VARIANTS


def _run(name, grads=GRADS, lrs=None, **hparams):
    w = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt = create(name, [w], **hparams)
    for i, g in enumerate(grads):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[i]
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return w.detach()


@pytest.mark.parametrize(("name", "extra", "expected"), CASES, ids=lambda v: str(v)[:20])
def test_keras_preset_matches_keras_formulas(name, extra, expected):
    got = _run(name, convention="keras", **extra)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64), rtol=1e-12, atol=0)


def test_every_preset_is_pinned_or_documented():
    # RAdam is not in Keras 3; its keras preset only sets epsilon and decoupled decay.
    assert set(KERAS_EXPECTED) | {"radam"} == set(OPTIMIZERS.names())
    assert all("keras" in info.presets for info in OPTIMIZERS)


def test_keras_defaults_are_applied_and_overridable():
    keras = OPTIMIZERS.get("adagrad").resolve(convention="keras")
    assert (keras["eps"], keras["initial_accumulator_value"], keras["eps_inside"]) == (
        1e-7,
        0.1,
        True,
    )
    mine = OPTIMIZERS.get("adam").resolve(convention="keras", eps=1e-8)
    assert mine["eps"] == 1e-8 and mine["eps_hat"] is True
    assert OPTIMIZERS.get("adadelta").resolve(convention="keras")["rho"] == 0.95


def test_momentum_forms_agree_at_constant_lr_and_differ_under_a_schedule():
    """lr inside the buffer (Sutskever/Keras) == lr outside (torch) while lr is constant."""
    grads = GRADS * 3
    torch_form = _run("momentum", grads, lr=0.1)
    sutskever = _run("momentum", grads, lr=0.1, lr_in_buffer=True)
    torch.testing.assert_close(torch_form, sutskever, rtol=1e-13, atol=1e-15)
    lrs = [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]
    a = _run("momentum", grads, lrs=lrs, lr=0.1)
    b = _run("momentum", grads, lrs=lrs, lr=0.1, lr_in_buffer=True)
    assert float((a - b).abs().max()) > 1e-4


@pytest.mark.parametrize(
    ("name", "option", "value"),
    [
        ("rmsprop", "eps_inside", True),
        ("adagrad", "eps_inside", True),
        ("adam", "eps_hat", True),
        ("adam", "eps_inside", True),
        ("adamax", "eps_inside", False),
        ("momentum", "first_buffer", "zero"),
        ("adam", "decoupled_weight_decay", True),
    ],
)
def test_each_convention_switch_changes_the_step(name, option, value):
    extra = {"eps": 0.05} if "eps" in option else {}
    extra |= {"dampening": 0.5} if option == "first_buffer" else {}
    extra |= {"weight_decay": 0.5} if option == "decoupled_weight_decay" else {}
    base = _run(name, **extra)
    switched = _run(name, **extra, **{option: value})
    assert float((base - switched).abs().max()) > 1e-9  # rounding alone is ~1e-16


def test_adagrad_initial_accumulator():
    t, h = functional("adagrad", initial_accumulator_value=0.25)
    state = t.init(torch.zeros(3, dtype=torch.float64), **h)
    assert torch.equal(state["sum"], torch.full((3,), 0.25, dtype=torch.float64))
