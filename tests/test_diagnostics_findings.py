"""Findings: each rule fires on its own synthetic case and none on healthy rows; the health table;
and end to end on tiny real networks (vanishing sigmoid stack, dead ReLUs, a healthy He-ReLU
net, AdaGrad's shrinking step)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.diagnostics import Monitor, Thresholds, findings, health_table
from actlab.errors import ActlabError
from actlab.models import ModelSpec, build
from actlab.optim import create
from actlab.theory import predict

STEPS = (0, 10, 20)
LAYERS = ("layer1", "layer2", "layer3", "layer4")
HEALTHY = {
    "pre_mean": 0.0,
    "pre_std": 1.0,
    "act_mean": 0.4,
    "act_std": 0.6,
    "dead_fraction": 0.05,
    "saturation_fraction": 0.5,
    "grad_norm": 0.5,
    "weight_norm": 3.0,
    "update_ratio": 1e-3,
    "effective_lr": 0.1,
}


def healthy() -> dict[tuple[int, str, str], float]:
    rows = {(s, layer, m): v for s in STEPS for layer in LAYERS for m, v in HEALTHY.items()}
    for m in ("grad_norm", "weight_norm", "update_ratio", "effective_lr"):
        rows.update({(s, "output", m): HEALTHY[m] for s in STEPS})
    return rows


def rows_with(changes: dict[tuple[int, str, str], float] | None = None) -> list[tuple]:
    rows = {**healthy(), **(changes or {})}
    return [(*key, value) for key, value in rows.items()]


def codes(rows, **kwargs) -> list[str]:
    return [f.code for f in findings(rows, **kwargs)]


# -- synthetic rows --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", None])
def test_healthy_rows_give_no_findings(activation):
    assert findings(rows_with(), activation=activation, optimizer="adagrad") == []


def test_dying_relu_names_layers_and_numbers():
    dead = {(20, f"layer{i}", "dead_fraction"): v for i, v in ((2, 0.63), (3, 0.81), (4, 0.7))}
    (f,) = findings(rows_with(dead), activation="relu")
    assert f.code == "dying_relu" and f.severity == "warning"
    assert f.message == (
        "layers 2-4: 63-81% of units dead (zero output on every example) at step 20 (threshold 50%)"
    )
    assert "Leaky ReLU" in f.advice and "He (he_normal) or 'auto' initialization for relu" in (
        f.advice
    )
    assert f.evidence["dead_fraction"] == {"layer2": 0.63, "layer3": 0.81, "layer4": 0.7}
    assert findings(rows_with(dead), thresholds=Thresholds(dead=0.9)) == []


def test_vanishing_gradients_shows_the_theory_beside_the_measurement():
    small = {(s, "layer1", "grad_norm"): 1e-5 for s in STEPS}
    (f,) = findings(rows_with(small), predicted_ratio=4e-5)
    assert f.code == "vanishing_gradients"
    assert f.message == (
        "gradient norm ratio layer1/layer4 = 2e-05 (median over 3 recorded steps; theory "
        "predicts 4e-05; threshold 1e-03)"
    )
    assert "ReLU" in f.advice and "residual" in f.advice
    assert f.evidence["ratio"] == pytest.approx(2e-5)


def test_exploding_gradients_from_the_ratio_growth_or_non_finite_values():
    big = {(s, "layer1", "grad_norm"): 1e3 for s in STEPS}
    (f,) = findings(rows_with(big))
    assert f.code == "exploding_gradients" and "= 2e+03" in f.message and "clip" in f.advice.lower()
    growth = {(20, "layer3", "grad_norm"): 5e3}
    (f,) = findings(rows_with(growth))
    assert f.message == "layer3's gradient norm grew 1e+04x from step 0 to step 20"
    (f,) = findings(rows_with({(10, "layer2", "grad_norm"): math.nan}))
    assert f.message == "non-finite grad_norm in layer2 at step 10"


def test_saturation_is_judged_only_for_activations_flat_on_both_sides():
    sat = {(20, layer, "saturation_fraction"): 0.9 for layer in LAYERS}
    (f,) = findings(rows_with(sat), activation="sigmoid")
    assert f.code == "saturation"
    assert f.message.startswith("layers 1-4: 90% of sigmoid outputs saturated")
    assert codes(rows_with(sat), activation="hardtanh") == ["saturation"]
    assert codes(rows_with(sat), activation="relu") == []  # its flat side is the dead region
    assert codes(rows_with(sat)) == []  # activation unknown


def test_not_zero_centred_in_most_layers_is_info():
    off = {(20, layer, "act_mean"): 0.5 for layer in LAYERS[:3]}
    off.update({(20, layer, "act_std"): 0.1 for layer in LAYERS[:3]})
    (f,) = findings(rows_with(off))
    assert (f.code, f.severity) == ("not_zero_centred", "info")
    assert f.message.startswith("layers 1-3 (3 of 4): |mean| / std of activations 5 ")
    assert "tanh" in f.advice
    half = {k: v for k, v in off.items() if k[1] != "layer3"}
    assert findings(rows_with(half)) == []  # 2 of 4 is not most


@pytest.mark.parametrize(
    "ratio, code", [(0.3, "lr_too_high"), (1e-6, "lr_too_low"), (0.05, None), (1e-5, None)]
)
def test_learning_rate_from_the_median_update_ratio(ratio, code):
    rows = rows_with({k: ratio for k in healthy() if k[2] == "update_ratio"})
    assert codes(rows) == ([code] if code else [])


def test_learning_rate_rules_stay_quiet_when_gradient_flow_explains_the_updates():
    changes = {k: 1e-7 for k in healthy() if k[2] == "update_ratio"}
    changes.update({(s, "layer1", "grad_norm"): 1e-5 for s in STEPS})
    assert codes(rows_with(changes)) == ["vanishing_gradients"]


def test_effective_lr_decay_judges_the_trend_after_warm_up_not_the_optimizer_name():
    steps = (0, 100, 200, 300, 400, 500)
    falling = {
        (s, layer, "effective_lr"): 0.1 / math.sqrt(1 + s) for s in steps for layer in LAYERS
    }
    (f,) = findings(rows_with(falling), optimizer="adagrad")
    assert f.code == "effective_lr_decay"
    assert f.message == (
        "AdaGrad's effective learning rate keeps falling: log(eff. lr) against log(step) has "
        "slope -0.50 over steps 300-500 (median over 4 layers; 1/sqrt(t) is -0.5, a level rate 0; "
        "threshold -0.35), 1.29x lower at the end of that window"
    )
    assert "RMSProp" in f.advice and "Adam" in f.advice
    assert codes(rows_with(falling), optimizer="adam") == ["effective_lr_decay"]  # the series
    # a 10x fall at the first steps that then levels off (RMSProp warming up) is not decay
    level = {
        (s, layer, "effective_lr"): 0.1 if s < 200 else 0.01 for s in steps for layer in LAYERS
    }
    assert codes(rows_with(level), optimizer="rmsprop") == []
    assert codes(rows_with(level), optimizer="adagrad") == []


def test_store_mappings_and_missing_values_are_accepted():
    rows = [
        {"run": "r", "step": s, "layer": layer, "metric": m, "value": v}
        for s, layer, m, v in rows_with({(0, "layer2", "effective_lr"): None})
    ]
    assert findings(rows) == []


def test_warnings_come_before_info():
    changes = {(20, layer, "act_mean"): 0.5 for layer in LAYERS}
    changes.update({(20, layer, "act_std"): 0.1 for layer in LAYERS})
    changes.update({(20, "layer1", "dead_fraction"): 0.9})
    assert codes(rows_with(changes)) == ["dying_relu", "not_zero_centred"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: Thresholds(dead=-1), "threshold dead=-1 must be a finite number > 0"),
        (lambda: Thresholds(lr_low=1.0), "lr_low must be below lr_high"),
        (lambda: findings([], activation="sigmod"), "did you mean: sigmoid"),
        (lambda: findings([], optimizer="adagard"), "did you mean: adagrad"),
        (lambda: findings([(0.5, "layer1", "grad_norm", 1.0)]), "step=0.5 is not an integer"),
        (lambda: findings([(0, "layer1", 1.0)]), r"a diagnostic row is \(step, layer"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ActlabError, match=message):
        call()


def test_health_table_has_each_layers_latest_values():
    table = health_table(rows_with({(20, "layer2", "dead_fraction"): 0.25}))
    assert [row["layer"] for row in table] == [*LAYERS, "output"]
    assert table[1] == {
        "layer": "layer2",
        "step": 20,
        "act_mean": 0.4,
        "act_std": 0.6,
        "dead_pct": 25.0,
        "saturated_pct": 50.0,
        "inactive_pct": None,
        "grad_norm": 0.5,
        "update_ratio": 1e-3,
        "effective_lr": 0.1,
    }
    assert table[-1]["act_mean"] is None and table[-1]["grad_norm"] == 0.5


# -- end to end on tiny real networks --------------------------------------------------------


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(128, 8, generator=g), torch.randint(0, 4, (128,), generator=g)


def _train(spec, *, steps=10, optimizer="sgd", bias=None, **hparams) -> Monitor:
    model = build(spec, seed=0)
    if bias is not None:
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, bias)
    opt = create(optimizer, model.parameters(), **hparams)
    x, y = _data()
    with Monitor(model, optimizer=opt) as monitor:
        for step in range(steps):
            opt.zero_grad()
            with monitor.record(step):
                F.cross_entropy(model(x), y).backward()
            opt.step()
    return monitor


def _spec(**fields) -> ModelSpec:
    return ModelSpec(input_shape=(8,), n_outputs=4, width=16, **fields)


def test_deep_sigmoid_stack_vanishes_as_theory_predicts():
    spec = _spec(depth=10, activation="sigmoid", init="xavier_uniform")
    monitor = _train(spec, steps=5, lr=0.1)
    # Xavier on equal widths: sigma_w^2 = fan_in * 2 / (fan_in + fan_out) = 1
    layers = predict("sigmoid", sigma_w2=1.0, depth=10, width=16, batch=128)
    predicted = layers[0].grad_norm / layers[-1].grad_norm
    found = {
        f.code: f for f in findings(monitor.rows, activation="sigmoid", predicted_ratio=predicted)
    }
    assert "vanishing_gradients" in found
    measured = found["vanishing_gradients"].evidence["ratio"]
    assert measured < 1e-4 and 0.1 < measured / predicted < 10
    assert f"theory predicts {predicted:.2g}" in found["vanishing_gradients"].message
    assert "not_zero_centred" in found  # sigmoid outputs sit around 0.5


def test_relu_with_large_negative_bias_dies():
    monitor = _train(_spec(depth=4, activation="relu", init="he_normal"), bias=-10.0, lr=0.1)
    (f,) = [f for f in findings(monitor.rows, activation="relu") if f.severity == "warning"]
    assert f.code == "dying_relu"
    assert set(f.evidence["dead_fraction"]) == set(LAYERS)
    assert all(v > 0.9 for v in f.evidence["dead_fraction"].values())


def test_he_initialized_relu_net_is_healthy():
    monitor = _train(_spec(depth=4, activation="relu", init="he_normal"), lr=0.05)
    assert findings(monitor.rows, activation=monitor.activation, optimizer="sgd") == []


def test_adagrad_effective_lr_only_shrinks_and_levels_off_once_fitted():
    spec = _spec(depth=3, activation="tanh", init="xavier_normal")
    monitor = _train(spec, steps=240, optimizer="adagrad", lr=0.05)
    falls = []
    for layer, by_step in monitor.frame()["effective_lr"].items():
        rates = list(by_step.values())[:20]
        assert all(a >= b for a, b in itertools.pairwise(rates)), layer
        falls.append(rates[0] / rates[-1])
    assert min(falls) > 2
    # full batch on 128 points: fitted within 100 steps, the gradients (and so the sum AdaGrad
    # divides by) stop growing and its rate levels off -- the rule judges the series
    assert findings(monitor.rows, optimizer="adagrad") == []
