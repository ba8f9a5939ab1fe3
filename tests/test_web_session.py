"""The playground's session object and configuration, without a browser or a server."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch

from actlab.activations import ACTIVATIONS
from actlab.data import DATASETS
from actlab.data.toy import TWO_D
from actlab.errors import ParameterError
from actlab.init import INITIALIZERS
from actlab.losses import LOSSES
from actlab.optim import OPTIMIZERS
from actlab.web import FEATURES, LIMITS, Config, PlaygroundSession, menus
from actlab.web.config import hidden_activations, losses_for


def weights(session: PlaygroundSession) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in session.model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_data_weights_and_trajectory():
    cfg = {"dataset": "spiral", "noise": 0.2, "seed": 7, "hidden": [5, 3]}
    a, b = PlaygroundSession(cfg), PlaygroundSession(cfg)
    assert torch.equal(a.dataset.x_train, b.dataset.x_train)
    assert same(weights(a), weights(b))
    fa, fb = a.step(3), b.step(3)
    assert fa.train_loss == fb.train_loss and same(weights(a), weights(b))


def test_reset_restores_the_initial_weights_and_batch_order():
    s = PlaygroundSession({"seed": 3})
    start = weights(s)
    first = s.step(2).train_loss
    assert not same(start, weights(s))
    s.reset()
    assert s.epoch == 0 and same(start, weights(s))
    assert s.step(2).train_loss == first


def test_other_seed_other_data_and_weights():
    a, b = PlaygroundSession({"seed": 1}), PlaygroundSession({"seed": 2})
    assert not torch.equal(a.dataset.x_train, b.dataset.x_train)
    assert not same(weights(a), weights(b))


def test_a_url_query_reproduces_the_session():
    s = PlaygroundSession({"dataset": "xor", "seed": 11, "features": ["x1", "x1*x2"]})
    s.step(2)
    again = PlaygroundSession(Config.from_query(s.config.to_query()))
    s.reset()
    assert again.config == s.config and same(weights(again), weights(s))


def test_loss_falls_on_circle():
    s = PlaygroundSession({"dataset": "circle", "hidden": [4, 2], "learning_rate": 0.03})
    before = s.frame()
    after = s.step(40)
    assert after.epoch == 40
    assert after.train_loss < 0.5 * before.train_loss
    assert after.test_loss < 0.6 * before.test_loss


def test_regression_trains_on_plane():
    s = PlaygroundSession({"dataset": "plane", "hidden": [3], "learning_rate": 0.01})
    assert s.config.problem == "regression" and s.config.loss == "squared_error"
    before = s.frame().train_loss
    assert s.step(10).train_loss < 0.2 * before


def test_frame_shapes_come_from_one_grid():
    s = PlaygroundSession({"hidden": [3, 1], "features": ["x1", "x2", "sin_x1"]})
    f = s.frame()
    g, t = LIMITS.grid, LIMITS.thumb
    assert f.output.shape == (g, g) and f.features.shape == (3, t, t)
    assert [n.shape for n in f.neurons] == [(3, t, t), (1, t, t)]
    assert [tuple(w.shape) for w, _ in f.weights] == [(3, 3), (1, 3), (1, 1)]
    assert f.output.abs().max() <= 1  # classification: 2 p - 1
    # Row 0 is the top of the picture (x2 = +extent), column 0 its left (x1 = -extent).
    x1, x2 = f.features[0], f.features[1]
    assert x1[0, 0] == -LIMITS.extent and x2[0, 0] == LIMITS.extent


def test_neuron_pictures_are_the_hidden_activations():
    s = PlaygroundSession({"hidden": [2], "activation": "relu"})
    f = s.frame()
    lin = s.model[0]
    corner = torch.tensor([[-LIMITS.extent, LIMITS.extent]])
    assert torch.allclose(f.neurons[0][:, 0, 0], torch.relu(lin(corner))[0].detach())


@pytest.mark.parametrize("name", hidden_activations())
def test_every_width_keeping_activation_trains(name):
    s = PlaygroundSession({"activation": name, "hidden": [3], "init": "he_normal"})
    f = s.step(1)
    assert f.epoch == 1 and math.isfinite(f.train_loss)


def test_menus_are_the_catalogs():
    m = menus()
    assert [d["name"] for d in m["datasets"]] == list(TWO_D)
    assert [o["name"] for o in m["optimizers"]] == list(OPTIMIZERS.names())
    assert [i["name"] for i in m["initializers"]] == list(INITIALIZERS.names())
    shown = [a["name"] for a in m["activations"]]
    assert set(shown) == set(hidden_activations()) and "maxout" not in shown
    assert len(shown) == len(ACTIVATIONS.names()) - 1  # only maxout changes a layer's width
    for problem, entries in m["losses"].items():
        assert [e["name"] for e in entries] == losses_for(problem)
        task = "classification" if problem == "multiclass" else problem
        assert all(LOSSES.get(e["name"]).task == task for e in entries)
    multiclass = [e["name"] for e in m["losses"]["multiclass"]]
    assert "cross_entropy" in multiclass and "binary_logistic" not in multiclass
    assert all("index" in LOSSES.get(n).targets for n in multiclass)
    assert m["features"] == list(FEATURES)
    assert m["limits"]["max_layers"] == LIMITS.max_layers


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_every_initializer(name):
    s = PlaygroundSession({"init": name, "activation": "tanh", "hidden": [3]})
    if name == "zeros":
        assert all(w.abs().sum() == 0 for w, _ in s.frame().weights)
    assert math.isfinite(s.step(1).train_loss)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer(name):
    s = PlaygroundSession({"optimizer": name, "learning_rate": 0.01, "hidden": [3]})
    assert math.isfinite(s.step(1).train_loss)


@pytest.mark.parametrize(
    "dataset, loss",
    [(d, loss) for d in ("circle", "plane") for loss in losses_for(DATASETS.get(d).task)],
)
def test_every_loss(dataset, loss):
    s = PlaygroundSession({"dataset": dataset, "loss": loss, "hidden": [3]})
    f = s.step(1)
    assert math.isfinite(f.train_loss) and f.output.shape == (LIMITS.grid, LIMITS.grid)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"activation": "relux"}, "unknown activation 'relux'; did you mean: relu"),
        ({"activation": "maxout"}, "unknown activation 'maxout'"),
        ({"hidden": [4] * 1000}, "at most 6"),
        ({"hidden": [9]}, "hidden[0]=9 is out of range"),
        ({"hidden": [0]}, "hidden[0]=0 is out of range"),
        ({"learning_rate": -0.1}, "learning_rate=-0.1 is out of range"),
        ({"learning_rate": 0}, "learning_rate=0.0 must be > 0"),
        ({"learning_rate": float("nan")}, "learning_rate=nan is out of range"),
        ({"noise": 0.9}, "noise=0.9 is out of range"),
        ({"n_points": 10**9}, "n_points=1000000000 is out of range"),
        ({"batch_size": 2.5}, "batch_size=2.5 is not an integer"),
        ({"seed": "x"}, "seed='x' is not a number"),
        ({"features": []}, "features must be a non-empty list"),
        ({"features": ["x3"]}, "unknown feature 'x3'"),
        ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
        ({"problem": "regression"}, "dataset 'circle' is a classification set"),
        ({"loss": "squared_error"}, "unknown loss 'squared_error'"),
        ({"depth": 3}, "unknown config field 'depth'"),
    ],
)
def test_bad_config_one_line(fields, words):
    with pytest.raises(ParameterError) as e:
        Config.from_dict(fields)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_refused_change_changes_nothing():
    s = PlaygroundSession({"hidden": [3]})
    s.step(2)
    cfg, w = s.config, weights(s)
    for bad in ({"activation": "nope"}, {"hidden": [3, 99]}, {"learning_rate": -1}):
        with pytest.raises(ParameterError):
            s.configure(bad)
        assert s.config == cfg and same(w, weights(s)) and s.epoch == 2


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularization_shrinks_the_weights(kind):
    def norm(s):
        return sum(m.weight.abs().sum().item() for m in s.linears)

    base = {"hidden": [4, 2], "seed": 1, "learning_rate": 0.03}
    plain = PlaygroundSession(base)
    shrunk = PlaygroundSession({**base, "regularization": kind, "reg_rate": 0.03})
    plain.step(10), shrunk.step(10)
    assert norm(shrunk) < 0.9 * norm(plain)
    from actlab.losses import loss

    with torch.no_grad():  # the reported loss is the data term alone, without the penalty
        data_term = loss(shrunk.model(shrunk.inputs), shrunk._y_train, shrunk.config.loss)
    assert shrunk.frame().train_loss == pytest.approx(data_term.item())


def test_live_fields_keep_the_network():
    s = PlaygroundSession()
    s.step(1)
    w = weights(s)
    assert s.configure({"learning_rate": 0.1, "batch_size": 5}) is False
    assert s.epoch == 1 and same(w, weights(s))
    assert s.optimizer.param_groups[0]["lr"] == 0.1
    assert s.configure({"activation": "relu"}) is True and s.epoch == 0


def test_alias_names_resolve_to_catalog_names():
    assert Config.from_dict({"dataset": "reg_plane", "activation": "swish"}).activation == "silu"


def test_set_weight_and_its_limits():
    s = PlaygroundSession({"hidden": [2]})
    s.set_weight(0, 1, 0, 0.5)
    s.set_weight(1, 0, None, -2.0)
    assert s.model[0].weight[1, 0] == 0.5 and s.model[2].bias[0] == -2.0
    for args in ((5, 0, 0, 1.0), (0, 2, 0, 1.0), (0, 0, 7, 1.0), (0, 0, 0, math.nan)):
        with pytest.raises(ParameterError):
            s.set_weight(*args)
    with pytest.raises(ParameterError, match="<= 1000"):
        s.set_weight(0, 0, 0, 1e9)


def test_json_round_trip():
    s = PlaygroundSession({"dataset": "xor", "hidden": [3, 2], "activation": "prelu"})
    s.step(3)
    again = PlaygroundSession.from_json(s.to_json())
    assert again.config == s.config and again.epoch == 3 and same(weights(again), weights(s))
    assert again.frame().train_loss == s.frame().train_loss


@pytest.mark.parametrize(
    "mutate, words",
    [
        (lambda d: d["state"].pop("0.weight"), "parameters are"),
        (lambda d: d["state"].__setitem__("0.weight", [[1.0]]), "has shape [1, 1]"),
        (lambda d: d["state"].__setitem__("0.bias", ["a", "b", "c"]), "not an array of numbers"),
        (lambda d: d["state"].__setitem__("0.bias", [1e30, 0, 0]), "finite values"),
        (lambda d: d["config"].__setitem__("hidden", [3] * 50), "at most 6"),
    ],
)
def test_bad_network_documents_are_refused(mutate, words):
    document = PlaygroundSession({"hidden": [3]}).to_json()
    mutate(document)
    with pytest.raises(ParameterError, match=words.replace("[", r"\[")):
        PlaygroundSession.from_json(document)


def test_divergence_is_reported_and_training_stops():
    s = PlaygroundSession({"dataset": "plane", "learning_rate": 10.0, "hidden": [8, 8]})
    f = s.step(20)
    assert f.diverged and f.epoch < 20
    assert s.step(1).epoch == f.epoch


def test_step_limits():
    s = PlaygroundSession()
    for bad in (0, LIMITS.max_epochs_per_step + 1, 1.5, True):
        with pytest.raises(ParameterError):
            s.step(bad)
    assert s.epoch == 0


def test_health_flags_a_dead_unit_and_reports_each_layer():
    s = PlaygroundSession({"hidden": [3, 2], "activation": "relu"})
    for source in range(2):
        s.set_weight(0, 1, source, 0.0)
    s.set_weight(0, 1, None, -1.0)  # unit 1 of layer 1: relu(-1) = 0 on every point
    units = s.frame().health["units"]
    assert units[0]["dead"] == [False, True, False] and units[0]["inactive"][1] is True
    assert units[0]["saturation"][1] == 1.0  # relu'(z) = 0 < 0.05 on every point
    layers = s.step(1).health["layers"]
    assert list(layers) == ["layer1", "layer2", "output"]
    assert layers["layer1"]["dead_fraction"] == pytest.approx(1 / 3)
    assert layers["layer1"]["effective_lr"] == pytest.approx(0.03, rel=1e-3)
    assert layers["output"]["grad_norm"] > 0
    assert not s.health.monitor.rows  # only the latest values are kept


def test_health_observes_without_changing_training():
    a = PlaygroundSession({"seed": 5})
    b = PlaygroundSession({"seed": 5})
    b.health.close()  # b trains with its monitor's hooks removed
    b.health.record = lambda step: contextlib.nullcontext()
    a.step(3), b.step(3)
    assert same(weights(a), weights(b))


def test_anatomy_is_the_catalog_function_over_the_layers_pre_activations():
    from actlab.activations import ACTIVATIONS
    from actlab.web.health import anatomy

    s = PlaygroundSession({"hidden": [4, 3], "activation": "tanh"})
    a = anatomy(s.model, s.inputs, 1)
    z = torch.tensor(a["z"])
    info = ACTIVATIONS.get("tanh")
    assert torch.allclose(torch.tensor(a["f"]), info.fn(z), atol=1e-6)
    assert torch.allclose(torch.tensor(a["df"]), info.df(z), atol=1e-6)
    pre = s.model[2](s.model[1](s.model[0](s.inputs))).detach()
    assert sum(a["counts"]) == pre.numel()
    assert a["edges"][1] == pytest.approx(max(3.0, pre.abs().max().item()))
    for bad in (2, -1, "0", None):
        with pytest.raises(ParameterError):
            anatomy(s.model, s.inputs, bad)
    vector = PlaygroundSession({"hidden": [3], "activation": "softmax"})
    assert anatomy(vector.model, vector.inputs, 0)["f"] is None


def test_convnetjs_view_maps_the_grid_and_the_points_through_the_network():
    from actlab.web.views import transformed

    s = PlaygroundSession({"hidden": [4, 3], "features": ["x1", "x2", "x1*x2"]})
    view = transformed(s, 1, [2, 0], lines=5, samples=7)
    assert view["units"] == [2, 0] and len(view["lines"]) == 10
    corner = torch.tensor([[-LIMITS.extent, -LIMITS.extent]])  # first line's first point
    expected = s.hidden(corner, 1)[0, [2, 0]]
    assert torch.allclose(torch.tensor(view["lines"][0][0]), expected)
    assert torch.allclose(torch.tensor(view["points"]), s.hidden(s.dataset.x_train, 1)[:, [2, 0]])
    assert view["labels"] == s.dataset.y_train.tolist()
    for layer, units in ((2, [0, 1]), (0, [0, 4]), (0, [0]), (0, "ab"), (True, [0, 1])):
        with pytest.raises(ParameterError):
            transformed(s, layer, units)


def test_a_session_trains_a_three_class_spiral():
    s = PlaygroundSession(
        {
            "dataset": "spiral_arms",
            "n_classes": 3,
            "hidden": [8, 8, 8],
            "features": ["x1", "x2", "sin_x1", "sin_x2"],
            "optimizer": "adam",
            "learning_rate": 0.01,
            "seed": 0,
        }
    )
    assert s.config.loss == "cross_entropy" and s.model[-1].out_features == 3
    before = s.frame()
    assert before.train_accuracy < 0.6
    after = s.step(60)  # about 0.98 after 30 epochs (seed 0)
    assert after.train_accuracy >= 0.9 and after.train_loss < 0.5 * before.train_loss
    assert after.test_accuracy >= 0.85
    # The heatmap: the most probable class and 2 p - 1 of it, p from the softmax of the scores.
    g = LIMITS.grid
    assert after.classes.shape == (g, g) and set(after.classes.unique().tolist()) == {0, 1, 2}
    with torch.no_grad():
        p = torch.softmax(s.model(s._x_grid), dim=1)
    assert torch.equal(after.classes.reshape(-1), p.argmax(dim=1))
    assert torch.allclose(after.output.reshape(-1), 2 * p.max(dim=1).values - 1)
    assert after.output.min() >= 2 / 3 - 1 - 1e-6


def test_two_class_frames_have_no_class_map_and_accuracy_only_for_classification():
    f = PlaygroundSession({"dataset": "xor", "hidden": [3]}).frame()
    assert f.classes is None and 0 <= f.train_accuracy <= 1
    r = PlaygroundSession({"dataset": "plane", "hidden": [3]}).frame()
    assert r.classes is None and r.train_accuracy is None and r.test_accuracy is None


def test_multiclass_choice_round_trips_through_the_url():
    cfg = Config.from_dict({"dataset": "blobs", "n_classes": 5, "noise": 0.1})
    query = cfg.to_query()
    assert "n_classes=5" in query and Config.from_query(query) == cfg
    assert "n_classes" not in Config.from_dict({"dataset": "circle"}).to_query()
    s = PlaygroundSession(Config.from_query(query))
    assert s.dataset.n_classes == 5 and set(s.dataset.y_train.tolist()) == set(range(5))
    assert s.configure({"n_classes": 4}) is True and s.dataset.n_classes == 4


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"dataset": "spiral_arms", "loss": "binary_logistic"}, "unknown loss 'binary_logistic'"),
        ({"dataset": "blobs", "n_classes": 7}, "n_classes=7 is out of range"),
        ({"dataset": "blobs", "n_classes": 1}, "n_classes=1 is out of range"),
    ],
)
def test_bad_multiclass_config_one_line(fields, words):
    with pytest.raises(ParameterError) as e:
        Config.from_dict(fields)
    assert words in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("loss", losses_for("multiclass"))
def test_every_multiclass_loss_trains(loss):
    s = PlaygroundSession({"dataset": "blobs", "n_classes": 4, "loss": loss, "hidden": [4]})
    f = s.step(2)
    assert math.isfinite(f.train_loss) and f.classes is not None


def test_effective_lr_below_float32_resolution_is_not_shown_as_zero():
    # lr 1e-9: every step is far below half the float32 spacing of weights around 0.5, so the
    # applied update is exactly 0 and the measured rate would read 0.0 (what the panel showed).
    s = PlaygroundSession({"hidden": [3, 2], "learning_rate": 1e-9, "seed": 1})
    before = weights(s)
    layers = s.step(1).health["layers"]
    after = weights(s)
    for key in [k for k in before if k.endswith("weight")]:  # biases start at 0 and do move
        assert torch.equal(before[key], after[key])  # the weight steps were lost to rounding
    for name in ("layer1", "layer2", "output"):
        health = layers[name]
        assert health["effective_lr"] != 0.0 and health["effective_lr"] is None
        assert health["frozen_fraction"] == 1.0
        assert 1e-9 <= health["effective_lr_below"] < 1e-4  # an upper bound, and a true one
    # A rate float32 can resolve is measured as before, with nothing frozen and no bound.
    s = PlaygroundSession({"hidden": [3, 2], "learning_rate": 0.03, "seed": 1})
    layers = s.step(1).health["layers"]
    assert layers["layer1"]["effective_lr"] == pytest.approx(0.03, rel=1e-3)
    assert layers["layer1"]["frozen_fraction"] == 0 and "effective_lr_below" not in layers["layer1"]


def test_frozen_share_and_bound_of_one_step():
    from actlab.web.health import frozen

    w = torch.tensor([1.0, 1.0, 2.0, 0.5])
    g = torch.tensor([1.0, 2.0, 1.0, 0.0])  # the last weight has no gradient: not counted
    after = w + torch.tensor([1e-9, 2e-3, 1e-3, 0.0])
    share, bound = frozen(g, w, after)
    assert share == pytest.approx(1 / 3)
    spacing = torch.finfo(torch.float32).eps  # float32 spacing at 1.0
    rates = sorted([spacing / 1.0, (after[1] - w[1]).item() / 2.0, (after[2] - w[2]).item()])
    assert bound == pytest.approx(rates[1], rel=1e-6)  # the median of three
