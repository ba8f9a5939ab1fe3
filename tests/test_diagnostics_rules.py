"""The rules without blind spots (issue #10, point 4): inactive units, each layer's gradient
against theory's critically initialized reference, the loss stuck at chance, the effective
learning rate's trend -- each on synthetic rows, on tiny real networks where it must fire, and
on healthy networks where it must not."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.activations import ACTIVATIONS
from actlab.data import load
from actlab.diagnostics import (
    Monitor,
    StackRecorder,
    Thresholds,
    chance_loss,
    findings,
    recommended_inits,
    reference_grad_norms,
)
from actlab.diagnostics.findings import low_gradient_region
from actlab.init import INITIALIZERS
from actlab.models import ModelSpec, build
from actlab.optim import create
from actlab.train import Member, train

LAYERS = ("layer1", "layer2", "layer3")


def rows(metric: str, values: dict[str, float], steps=(0, 10, 20)) -> list[tuple]:
    return [(s, layer, metric, v) for s in steps for layer, v in values.items()]


def codes(found) -> list[str]:
    return [f.code for f in found]


# -- inactive units --------------------------------------------------------------------------


def test_low_gradient_region_is_computed_from_the_catalogs_derivative():
    assert low_gradient_region("leaky_relu") == (pytest.approx(0.01), "negative")
    assert low_gradient_region("relu") == (0.0, "negative")
    passing, side = low_gradient_region("sigmoid")
    assert side == "both" and 0.09 < passing <= 0.1


def test_inactive_units_name_the_share_and_the_gradient_they_still_pass():
    inactive = rows("inactive_fraction", {"layer1": 0.0, "layer2": 0.94, "layer3": 1.0})
    dead = rows("dead_fraction", dict.fromkeys(LAYERS, 0.0))
    (f,) = findings(inactive + dead, activation="leaky_relu")
    assert (f.code, f.severity) == ("inactive_units", "warning")
    assert f.message == (
        "layers 2-3: 94-100% of units inactive at step 20 (threshold 50%): on every probe example "
        "their input is on leaky_relu's negative side, where |f'| <= 10% of its peak, so they "
        "pass at most 1% of the largest gradient f' can pass"
    )
    assert "negative_slope" in f.advice and "lower the learning rate" in f.advice
    assert "He (he_normal) or 'auto' initialization for leaky_relu" in f.advice
    assert findings(inactive + dead) == []  # activation unknown: no region to speak of
    assert findings(inactive, activation="leaky_relu", thresholds=Thresholds(inactive=0.99))


def test_units_reported_dead_are_not_reported_inactive_again():
    inactive = rows("inactive_fraction", dict.fromkeys(LAYERS, 0.9))
    dead = rows("dead_fraction", dict.fromkeys(LAYERS, 0.9))
    assert codes(findings(inactive + dead, activation="relu")) == ["dying_relu"]


def _monitor(spec, *, steps=8, bias=None, lr=0.1, optimizer="sgd", seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(128, 8, generator=g), torch.randint(0, 4, (128,), generator=g)
    model = build(spec, seed=0)
    if bias is not None:
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, bias)
    opt = create(optimizer, model.parameters(), lr=lr)
    with Monitor(model, optimizer=opt, probe=x) as monitor:
        for step in range(steps):
            opt.zero_grad()
            with monitor.record(step):
                F.cross_entropy(model(x), y).backward()
            opt.step()
    return monitor


def _spec(**fields) -> ModelSpec:
    return ModelSpec(input_shape=(8,), n_outputs=4, width=32, **fields)


def test_leaky_relu_units_pushed_negative_are_inactive_though_not_dead():
    # fails before issue #10: the layer was "0% dead", and no rule looked further
    spec = _spec(depth=3, activation="leaky_relu", init="he_normal")
    monitor = _monitor(spec, bias=-10.0)
    found = {f.code: f for f in findings(monitor.rows, activation=monitor.activation)}
    assert "dying_relu" not in found
    assert "inactive_units" in found
    assert all(v > 0.9 for v in found["inactive_units"].evidence["inactive_fraction"].values())


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh"])
def test_healthy_networks_have_no_inactive_units(activation):
    spec = _spec(depth=3, activation=activation, init="auto")
    monitor = _monitor(spec, lr=0.05)
    assert findings(monitor.rows, activation=monitor.activation) == []


# -- each layer's gradient against theory's reference ----------------------------------------


def test_gradient_scale_judges_every_layer_against_the_reference_at_the_start():
    reference = dict.fromkeys(LAYERS, 0.5)
    tiny = rows("grad_norm", dict.fromkeys(LAYERS, 1e-6))  # even: the ratio rule sees nothing
    (f,) = findings(tiny, reference=reference)
    assert (f.code, f.severity) == ("gradient_scale", "warning")
    assert f.message == (
        "layers 1-3 get 2e-06x (median 2e-06) the gradient norm theory predicts for a critically "
        "initialized network of the same shape, at step 0 (threshold 1e-03)"
    )
    assert findings(tiny) == []  # without a reference there is nothing to compare with
    assert findings(rows("grad_norm", dict.fromkeys(LAYERS, 0.2)), reference=reference) == []
    huge = rows("grad_norm", dict.fromkeys(LAYERS, 1e4))
    assert codes(findings(huge, reference=reference)) == ["gradient_scale"]


def _collapse_spec(activation: str, init: str, **init_params) -> ModelSpec:
    return ModelSpec(
        input_shape=(8,),
        n_outputs=4,
        depth=6,
        width=32,
        activation=activation,
        init=init,
        init_params=init_params,
    )


def test_uniform_collapse_under_tiny_weights_is_flagged():
    # N(0, 0.01^2) ReLU: every layer's gradient ~1e-8 of a critical network's, and alike from
    # first to last, so the first-to-last ratio (the only gradient rule before) passed it
    spec = _collapse_spec("relu", "normal", std=0.01)
    monitor = _monitor(spec, steps=3)
    reference = reference_grad_norms(spec, batch=128, classes=4)
    found = {f.code: f for f in findings(monitor.rows, activation="relu", reference=reference)}
    assert "vanishing_gradients" not in found
    assert "gradient_scale" in found and found["gradient_scale"].evidence["median"] < 1e-5


@pytest.mark.parametrize("activation, init", [("relu", "he_normal"), ("relu", "auto")])
def test_critical_networks_match_their_reference(activation, init):
    spec = _collapse_spec(activation, init)
    monitor = _monitor(spec, steps=3)
    reference = reference_grad_norms(spec, batch=128, classes=4)
    first = {layer: v for step, layer, m, v in monitor.rows if m == "grad_norm" and step == 0}
    ratios = [first[layer] / ref for layer, ref in reference.items()]
    assert all(0.1 < r < 10 for r in ratios), ratios
    assert findings(monitor.rows, activation=activation, reference=reference) == []


# -- stuck at chance -------------------------------------------------------------------------


def test_chance_loss_is_the_entropy_of_the_class_frequencies():
    assert chance_loss("cross_entropy", torch.arange(10).repeat(3)) == pytest.approx(math.log(10))
    assert chance_loss("cross_entropy", torch.tensor([0, 0, 0, 1])) == pytest.approx(0.5623, 1e-3)
    assert chance_loss("squared_error", torch.zeros(4, 1)) is None


def test_stuck_at_chance_fires_only_after_the_first_epochs():
    chance = math.log(10)
    (f,) = findings([], loss=[2.3026, 2.3025, 2.3021], chance_loss=chance)
    assert (f.code, f.severity) == ("stuck_at_chance", "warning")
    assert f.message.startswith("training loss 2.302 after 2 epochs (2.303 before training)")
    assert findings([], loss=[2.3026, 2.3], chance_loss=chance) == []  # one epoch: too early
    assert findings([], loss=[2.3, 1.9, 1.5], chance_loss=chance) == []
    assert findings([], loss={0: 2.3, 3: 2.29}, chance_loss=chance)  # within 2%
    assert findings([], loss=[2.3, 2.3, 2.3]) == []  # chance level unknown
    (f,) = findings([], loss=[2.7, 40.0, 976.6], chance_loss=chance)  # worse than chance
    assert "976.6 after 2 epochs (2.7 before training) is above the chance level" in f.message


# -- the sigmoid network stuck at 10% accuracy --------------------------------------------------


@pytest.fixture(scope="module")
def mnist1d():
    return load("mnist1d")


def test_monitor_warns_about_a_sigmoid_network_stuck_at_chance(mnist1d):
    """10-layer sigmoid MLP, N(0, 0.01^2) weights, SGD: it stays at chance accuracy."""
    data = mnist1d
    spec = ModelSpec.for_data(data, depth=10, width=64, activation="sigmoid", init="normal")
    spec = spec.replace(init_params={"std": 0.01})
    model = build(spec, seed=0)
    opt = create("sgd", model.parameters(), lr=0.1)
    x, y = data.x_train[:1000], data.y_train[:1000]
    losses = []
    with Monitor(model, optimizer=opt, every=10, probe=x[:256]) as monitor:
        step = 0
        for _ in range(4):
            total = 0.0
            for batch in torch.arange(len(x)).split(100):
                with monitor.record(step):
                    loss = F.cross_entropy(model(x[batch]), y[batch])
                    loss.backward()
                opt.step()
                opt.zero_grad()
                total += loss.item() / 10
                step += 1
            losses.append(total)
    accuracy = float((model(data.x_test).argmax(-1) == data.y_test).float().mean())
    assert accuracy < 0.15
    chance = chance_loss("cross_entropy", y)
    reference = reference_grad_norms(spec, batch=100, classes=10)
    found = findings(
        monitor.rows,
        activation="sigmoid",
        optimizer="sgd",
        reference=reference,
        loss=dict(enumerate(losses, 1)),
        chance_loss=chance,
    )
    warnings = {f.code for f in found if f.severity == "warning"}
    assert {"stuck_at_chance", "gradient_scale", "vanishing_gradients"} <= warnings


# -- the effective learning rate's trend -----------------------------------------------------


def test_effective_lr_decay_fires_for_adagrad_not_rmsprop_or_adadelta_at_the_same_settings(
    mnist1d,
):
    data = mnist1d
    spec = ModelSpec.for_data(data, depth=2, width=32, activation="tanh", init="auto")
    names = ["adagrad", "rmsprop", "adadelta"]
    members = [Member(spec, seed=0, optimizer=o, optimizer_params={"lr": 0.01}) for o in names]
    recorder = StackRecorder([m.spec for m in members], names, data=data)
    train(data, members, epochs=6, batch_size=100, recorder=recorder)
    found = {o: codes(findings(recorder.rows_of(k), optimizer=o)) for k, o in enumerate(names)}
    assert "effective_lr_decay" in found["adagrad"]
    assert "effective_lr_decay" not in found["rmsprop"]
    assert "effective_lr_decay" not in found["adadelta"]


# -- advice names only initializers that keep the network trainable ----------------------------


ELEMENTWISE = [n for n in ACTIVATIONS.names() if ACTIVATIONS.get(n).kind == "elementwise"]
DEPTH = 10


@pytest.mark.parametrize(
    "activation, init",
    [(a, i) for a in ELEMENTWISE for i in recommended_inits(a, DEPTH)],
)
def test_recommended_inits_neither_vanish_nor_explode_in_the_depth_probe(activation, init):
    from actlab.theory import depth_probe

    result = depth_probe(activation, init, depth=DEPTH, width=256, batch=256)
    grad = result.first_to_last("grad_norm")
    signal = result.measured[-1].rms / result.measured[0].rms
    assert 0.1 <= grad <= 10 and 0.1 <= signal <= 10, (grad, signal, result.phase)


def _every_rule(activation: str) -> list:
    """Rows on which every rule that gives advice fires."""
    rs = rows("dead_fraction", {"layer1": 0.9, "layer2": 0.0, "layer3": 0.0})
    rs += rows("inactive_fraction", {"layer1": 0.9, "layer2": 0.9, "layer3": 0.0})
    rs += rows("saturation_fraction", dict.fromkeys(LAYERS, 0.9))
    rs += rows("grad_norm", {"layer1": 1e-9, "layer2": 1e-3, "layer3": 1.0})
    return rs


INIT_WORDS = {n for n in INITIALIZERS.names()} | {"he", "xavier", "glorot", "lecun", "kaiming"}


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_advice_names_only_recommended_initializers(activation):
    found = findings(
        _every_rule(activation),
        activation=activation,
        reference=dict.fromkeys(LAYERS, 1e3),
        loss=[2.3, 2.3, 2.3],
        chance_loss=2.3,
    )
    exploding = rows("grad_norm", {"layer1": 1e4, "layer2": 1.0, "layer3": 1.0})
    found += findings(exploding, activation=activation)
    assert len({f.code for f in found}) >= 5
    allowed = set(recommended_inits(activation, 3))  # three hidden layers in these rows
    for f in found:
        words = {w.strip("'(),.:;").lower() for w in f.advice.split()}
        named = {w for w in words if w in INIT_WORDS}
        named = {"he_normal" if w == "he" else w for w in named}
        assert named <= allowed, (f.code, f.advice)


# -- the metric ------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_peak_slope_is_the_catalogs_computed_max_abs_df(activation):
    from actlab.activations.properties import compute
    from actlab.diagnostics import peak_slope

    info = ACTIVATIONS.get(activation)
    params = info.bind({})
    peak = peak_slope(lambda z: info.derivative_of_scalar(z, **params))
    assert peak == pytest.approx(compute(activation).max_abs_df, rel=1e-3, abs=1e-12)


def test_inactive_fraction_counts_units_low_on_every_example():
    from actlab.diagnostics import inactive_fraction

    df = torch.tensor([[0.01, 1.0, 0.1], [0.01, 0.01, 0.11]])  # 2 examples x 3 units
    assert float(inactive_fraction(df, peak=1.0)) == pytest.approx(1 / 3)
    assert float(inactive_fraction(df, peak=1.0, relative=0.11)) == pytest.approx(2 / 3)
    stacked = torch.stack([df, torch.zeros_like(df)])  # members lead
    assert inactive_fraction(stacked, peak=1.0).tolist() == pytest.approx([1 / 3, 1.0])
    with pytest.raises(Exception, match="peak=0"):
        inactive_fraction(df, peak=0.0)
