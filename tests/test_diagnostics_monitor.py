"""The Monitor: known answers on tiny hand-built networks, layer discovery, and proof that it only
observes (bit-identical training, hooks gone, no graph kept alive)."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.activations import ACTIVATIONS
from actlab.diagnostics import TORCH_ACTIVATIONS, Monitor, findings
from actlab.errors import ActlabError
from actlab.models import ModelSpec, build
from actlab.nn import Activation
from actlab.optim import create
from actlab.study.store import Store


def values(monitor: Monitor, metric: str, step: int = 0) -> dict[str, float]:
    return {layer: by_step[step] for layer, by_step in monitor.frame()[metric].items()}


def net(act: nn.Module, *, width: int = 4) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, width), act, nn.Linear(width, 2))


def one_step(model, monitor, opt, x, *, step=0):
    opt.zero_grad()
    with monitor.record(step):
        loss = model(x).pow(2).mean()
        loss.backward()
    opt.step()
    return loss


# -- known answers ---------------------------------------------------------------------------


def test_relu_with_bias_minus_100_is_all_dead():
    model = net(nn.ReLU())
    nn.init.constant_(model[0].bias, -100.0)
    with Monitor(model) as monitor, monitor.record(0):
        model(torch.randn(16, 3))
    assert values(monitor, "dead_fraction") == {"layer1": 1.0}
    assert values(monitor, "act_mean") == {"layer1": 0.0}


def test_sigmoid_with_huge_weights_saturates():
    model = net(Activation("sigmoid"), width=32)
    nn.init.normal_(model[0].weight, std=100.0)
    with Monitor(model) as monitor, monitor.record(0):
        model(torch.randn(64, 3))
    assert values(monitor, "saturation_fraction")["layer1"] > 0.95
    assert values(monitor, "dead_fraction")["layer1"] == 0.0  # sigmoid is never exactly 0


def test_moments_match_a_manual_forward():
    model = net(Activation("tanh"))
    x = torch.randn(8, 3)
    with Monitor(model) as monitor, monitor.record(0):
        model(x)
    z = model[0](x).detach()
    assert values(monitor, "pre_mean")["layer1"] == float(z.mean())
    assert values(monitor, "pre_std")["layer1"] == pytest.approx(float(z.std(correction=0)))
    assert values(monitor, "act_std")["layer1"] == pytest.approx(float(z.tanh().std(correction=0)))


def test_grad_and_weight_norms_equal_autograd():
    model = net(nn.ReLU())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model) as monitor:
        opt.zero_grad()
        with monitor.record(0):
            model(torch.randn(8, 3)).pow(2).mean().backward()
        grads = values(monitor, "grad_norm")
        weights = values(monitor, "weight_norm")
    assert grads == {
        "layer1": float(model[0].weight.grad.norm()),
        "output": float(model[2].weight.grad.norm()),
    }
    assert weights == {
        "layer1": float(model[0].weight.detach().norm()),
        "output": float(model[2].weight.detach().norm()),
    }


@pytest.mark.parametrize("inside", [False, True], ids=["step_after_block", "step_inside_block"])
def test_update_ratio_and_effective_lr_for_sgd(inside):
    model = net(nn.Tanh())
    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x = torch.randn(8, 3)
    before = model[0].weight.detach().clone()
    with Monitor(model, optimizer=opt) as monitor:
        with monitor.record(0):
            model(x).pow(2).mean().backward()
            grad = model[0].weight.grad.clone()
            if inside:
                opt.step()
        if not inside:
            opt.step()
    expected = float((lr * grad).norm() / before.norm())
    assert values(monitor, "update_ratio")["layer1"] == pytest.approx(expected, rel=1e-6)
    assert values(monitor, "effective_lr")["layer1"] == pytest.approx(lr, rel=1e-6)


def test_after_step_by_hand_without_the_optimizer():
    model = net(nn.Tanh())
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with Monitor(model) as monitor:
        with monitor.record(0):
            model(torch.randn(8, 3)).sum().backward()
        opt.step()
        monitor.after_step()
        monitor.after_step()  # nothing pending: no duplicate rows
    assert values(monitor, "effective_lr")["output"] == pytest.approx(0.5, rel=1e-6)
    assert len([r for r in monitor.rows if r[2] == "effective_lr"]) == 2


@pytest.mark.parametrize(
    "torch_module, catalog",
    [
        (nn.Sigmoid(), Activation("sigmoid")),
        (nn.ReLU(inplace=True), Activation("relu")),  # z is read before it is overwritten
        (nn.LeakyReLU(0.2), Activation("leaky_relu", negative_slope=0.2)),
    ],
    ids=["sigmoid", "inplace_relu", "leaky_relu"],
)
def test_torch_modules_and_catalog_activations_give_the_same_numbers(torch_module, catalog):
    x = torch.randn(32, 3) * 3
    frames = []
    for act in (torch_module, catalog):
        model = net(act)
        with Monitor(model) as monitor, monitor.record(0):
            model(x)
        frames.append(monitor.frame())
    assert frames[0] == frames[1]
    assert frames[0]["pre_mean"]["layer1"][0] != frames[0]["act_mean"]["layer1"][0]


def test_every_torch_activation_maps_to_a_catalog_entry():
    for module_type, name in TORCH_ACTIVATIONS.items():
        assert ACTIVATIONS.get(name).name == name, module_type


# -- layers found in real models -------------------------------------------------------------


def test_layer_names_of_an_actlab_mlp():
    model = build(ModelSpec(input_shape=(3,), n_outputs=2, depth=3, width=8), seed=0)
    monitor = Monitor(model)
    assert monitor.layers == ("layer1", "layer2", "layer3", "output")
    assert monitor.activation == "relu"


def test_conv_feature_maps_count_channels_as_units():
    spec = ModelSpec("cnn1d", input_shape=(16,), n_outputs=3, depth=2, width=4)
    model = build(spec, seed=0)
    nn.init.constant_(model[1].layer.bias[:2], -100.0)  # 2 of 4 channels of block 1 dead
    with Monitor(model) as monitor, monitor.record(0):
        model(torch.randn(5, 16))
    assert monitor.layers == ("layer1", "layer2", "output")
    assert values(monitor, "dead_fraction")["layer1"] == 0.5


def test_maxout_layers_are_found_once():
    model = build(
        ModelSpec(input_shape=(3,), n_outputs=2, depth=2, width=4, activation="maxout"), seed=0
    )
    monitor = Monitor(model)
    assert monitor.layers == ("layer1", "layer2", "output")
    with monitor, monitor.record(0):
        model(torch.randn(6, 3)).sum().backward()
    frame = monitor.frame()
    assert set(frame["act_mean"]) == {"layer1", "layer2"} and "saturation_fraction" not in frame
    assert frame["grad_norm"]["layer1"][0] == float(model[1].layer.linear.weight.grad.norm())


def test_a_model_without_weights_is_refused():
    with pytest.raises(ActlabError, match="Sequential has no weight layer"):
        Monitor(nn.Sequential(nn.ReLU()))


# -- it only observes ------------------------------------------------------------------------


def _train(monitored: bool) -> tuple[list[float], list[torch.Tensor]]:
    spec = ModelSpec(input_shape=(4,), n_outputs=3, depth=3, width=8, dropout=0.2)
    model = build(spec, seed=0)
    opt = create("adam", model.parameters(), lr=0.01)
    torch.manual_seed(1)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    monitor = Monitor(model, optimizer=opt) if monitored else None
    losses = []
    for step in range(4):
        opt.zero_grad()
        if monitor is None:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
        else:
            with monitor.record(step):
                loss = F.cross_entropy(model(x), y)
                loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().clone() for p in model.parameters()]


def test_training_is_bit_identical_with_and_without_the_monitor():
    plain_losses, plain = _train(monitored=False)
    losses, params = _train(monitored=True)
    assert losses == plain_losses
    assert all(torch.equal(a, b) for a, b in zip(params, plain))


def _hook_counts(model: nn.Module, opt: torch.optim.Optimizer) -> tuple[int, int]:
    forward = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return forward, len(opt._optimizer_step_pre_hooks) + len(opt._optimizer_step_post_hooks)


def test_hooks_live_only_while_recording_and_go_with_close():
    model = net(nn.ReLU())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, optimizer=opt)
    assert _hook_counts(model, opt) == (0, 2)
    with monitor.record(0):
        assert _hook_counts(model, opt)[0] > 0
        model(torch.randn(4, 3)).sum().backward()
    assert _hook_counts(model, opt) == (0, 2)
    monitor.close()
    assert _hook_counts(model, opt) == (0, 0)
    with pytest.raises(ActlabError, match="Monitor is closed"), monitor.record(1):
        pass


def test_no_graph_is_kept_alive():
    model = net(nn.Sigmoid())  # its f' comes from autograd inside the hook
    with Monitor(model) as monitor:
        with monitor.record(0):
            out = model(torch.randn(4, 3))
            ref = weakref.ref(out)
        del out
        gc.collect()
        assert ref() is None


def test_steps_off_the_schedule_record_nothing():
    model = net(nn.ReLU())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, optimizer=opt, every=2) as monitor:
        for step in range(5):
            one_step(model, monitor, opt, torch.randn(4, 3), step=step)
    assert monitor.steps == [0, 2, 4]


def test_only_the_first_forward_in_a_step_is_measured():
    model = net(nn.ReLU())
    with Monitor(model) as monitor, monitor.record(0):
        model(torch.randn(4, 3))
        model(torch.full((4, 3), 1e3))
    assert len([r for r in monitor.rows if r[2] == "act_mean"]) == 1


def test_probe_batch_in_eval_mode_leaves_training_untouched():
    spec = ModelSpec(input_shape=(3,), n_outputs=2, depth=2, width=4, normalization="batchnorm")
    model = build(spec, seed=0)
    probe = torch.randn(10, 3)
    block = model[1]
    with torch.no_grad():
        expected = block.act(block.norm.eval()(block.layer(probe)))
    model.train()
    running = block.norm.running_mean.clone()
    with Monitor(model, probe=probe) as monitor, monitor.record(0):
        assert model.training and torch.equal(block.norm.running_mean, running)
        model(torch.randn(10, 3) + 5)  # the training batch is not measured
    assert values(monitor, "act_mean")["layer1"] == pytest.approx(float(expected.mean()))
    assert model.training


def test_bad_steps_and_arguments():
    model = net(nn.ReLU())
    with Monitor(model) as monitor:
        with monitor.record(3):
            pass
        for step, message in ((3, "not after the last recorded step 3"), (-1, "step=-1")):
            with pytest.raises(ActlabError, match=message), monitor.record(step):
                pass
    with pytest.raises(ActlabError, match="every=0"):
        Monitor(model, every=0)
    with pytest.raises(ActlabError, match=r"needs a torch\.nn\.Module"):
        Monitor("model")


def test_rows_go_into_the_store_and_back_into_findings(tmp_path):
    model = net(nn.ReLU())
    nn.init.constant_(model[0].bias, -100.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, optimizer=opt) as monitor:
        for step in range(2):
            one_step(model, monitor, opt, torch.randn(8, 3), step=step)
    with Store.open(tmp_path, {"name": "monitor"}) as store:
        store.complete_run("r", {}, seed=0, metrics=[], diagnostics=monitor.rows)
        stored = store.diagnostics("r")
    assert len(stored) == len(monitor.rows)
    codes = [f.code for f in findings(stored, activation=monitor.activation)]
    assert codes == [f.code for f in findings(monitor.rows, activation="relu")] == ["dying_relu"]


def test_weight_and_gradient_quantiles_equal_numpy():
    import numpy as np

    from actlab.diagnostics import rows

    model = net(nn.Tanh(), width=16)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model[0].weight.detach().clone()
    with Monitor(model, optimizer=opt) as monitor:
        with monitor.record(0):
            model(torch.randn(32, 3)).pow(2).mean().backward()
            grad = model[0].weight.grad.clone()
        opt.step()
    for kind, tensor in (("weight", before), ("grad", grad)):
        expected = np.quantile(tensor.double().numpy().ravel(), rows.QUANTILE_LEVELS)
        got = [values(monitor, name)["layer1"] for name in rows.DISTRIBUTIONS[kind]]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
        assert got[0] == float(tensor.min()) and got[-1] == float(tensor.max())
