"""actlab.landscape: slices against closed forms and against functional_call, filter
normalization against its definition, the convexity number, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from actlab import landscape
from actlab.errors import ActlabError
from actlab.landscape import lecture


class Quadratic(nn.Module):
    """Scores = the weights themselves, repeated per example: L(w) = sum h (w - t)^2 below."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, 3, dtype=torch.float64))

    def forward(self, x):
        return self.w.expand(x.shape[0], 2, 3)


H = torch.tensor([[1.0, 2.0, 0.5], [3.0, 0.25, 1.5]], dtype=torch.float64)
T = torch.tensor([[0.3, -1.0, 2.0], [0.0, 1.0, -0.5]], dtype=torch.float64)


def quadratic_loss(scores, y):
    return (H * (scores[0] - T) ** 2).sum()


def _data(n=4):
    return torch.zeros(n, 1, dtype=torch.float64), torch.zeros(n, 1, dtype=torch.float64)


def test_line_and_plane_equal_the_closed_form_of_a_quadratic():
    torch.manual_seed(0)
    model, (x, y) = Quadratic(), _data()
    d1, d2 = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    r = model.w.detach() - T
    s = landscape.line(model, quadratic_loss, x, y, {"w": d1}, steps=7, span=2.0)
    expected = torch.stack([(H * (r + a * d1) ** 2).sum() for a in s.alphas])
    torch.testing.assert_close(s.loss, expected)
    assert s.accuracy is None  # float targets: no accuracy
    p = landscape.plane(model, quadratic_loss, x, y, ({"w": d1}, {"w": d2}), steps=5, span=0.5)
    a, b = torch.meshgrid(p.alphas, p.betas, indexing="ij")
    closed = (
        (H * r**2).sum()
        + 2 * a * (H * r * d1).sum()
        + 2 * b * (H * r * d2).sum()
        + a**2 * (H * d1**2).sum()
        + b**2 * (H * d2**2).sum()
        + 2 * a * b * (H * d1 * d2).sum()
    )
    torch.testing.assert_close(p.loss, closed)


@pytest.mark.parametrize("layer", [nn.Linear(5, 4), nn.Conv2d(3, 6, 3), nn.Conv1d(2, 3, 5)])
def test_filter_normalization_matches_its_definition_per_filter(layer):
    weights = landscape.parameters(layer)
    noise = {
        n: torch.randn(w.shape, generator=torch.Generator().manual_seed(1))
        for n, w in weights.items()
    }
    d = landscape.filter_normalize(noise, weights)
    for i in range(layer.weight.shape[0]):
        expected = noise["weight"][i] / noise["weight"][i].norm() * layer.weight[i].norm()
        torch.testing.assert_close(d["weight"][i], expected.detach())
    assert torch.count_nonzero(d["bias"]) == 0  # Li et al.: biases get direction zero
    drawn = landscape.filter_normalized_direction(layer, torch.Generator().manual_seed(3))
    torch.testing.assert_close(
        drawn["weight"].flatten(1).norm(dim=1), layer.weight.flatten(1).norm(dim=1).detach()
    )


def test_norm_layer_parameters_get_direction_zero():
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))
    d = landscape.filter_normalized_direction(net, torch.Generator().manual_seed(0))
    assert all(torch.count_nonzero(d[n]) == 0 for n in ("0.bias", "1.weight", "1.bias", "3.bias"))
    assert torch.count_nonzero(d["0.weight"]) == 24


def test_a_slice_through_a_model_equals_functional_call_at_the_same_weights():
    torch.manual_seed(0)
    model = lecture.network(6, 3, seed=0, width=8)
    x, y = torch.randn(30, 6), torch.randint(0, 3, (30,))
    d = landscape.filter_normalized_direction(model, torch.Generator().manual_seed(0))
    s = landscape.line(model, F.cross_entropy, x, y, d, steps=5, span=1.5)
    theta = landscape.parameters(model)
    for a, loss, acc in zip(s.alphas, s.loss, s.accuracy):
        point = {n: theta[n] + float(a) * d[n] for n in theta}
        with torch.no_grad():
            scores = functional_call(model, point, (x,))
        torch.testing.assert_close(
            float(loss), float(F.cross_entropy(scores, y)), rtol=1e-5, atol=1e-6
        )
        assert float(acc) == pytest.approx(float((scores.argmax(1) == y).double().mean()))


def test_interpolation_ends_at_both_models():
    x, y = torch.randn(20, 4), torch.randint(0, 3, (20,))
    a, b = lecture.network(4, 3, seed=0, width=5), lecture.network(4, 3, seed=1, width=5)
    s = landscape.interpolate(a, b, F.cross_entropy, x, y, steps=9, margin=0.5)
    assert s.alphas[0] == -0.5 and s.alphas[-1] == 1.5
    with torch.no_grad():
        for model, alpha in ((a, 0.0), (b, 1.0)):
            i = int(torch.argmin((s.alphas - alpha).abs()))
            assert float(s.loss[i]) == pytest.approx(float(F.cross_entropy(model(x), y)), rel=1e-5)


def test_path_recovers_a_trajectory_that_lies_in_a_plane():
    model = Quadratic()
    final = model.w.detach().clone()
    u, v = torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)
    u[0, 0], v[1, 2] = 1.0, 1.0
    ts = torch.linspace(0, 1, 8, dtype=torch.float64)
    snaps = [{"w": final + (1 - t) * 3 * u + (1 - t) ** 2 * v} for t in ts]
    x, y = _data()
    p = landscape.path(snaps, model, quadratic_loss, x, y, steps=5)
    assert float(p.explained.sum()) == pytest.approx(1.0)
    assert p.coords[-1].abs().max() < 1e-12
    offsets = torch.stack([(s["w"] - final).reshape(-1) for s in snaps])
    torch.testing.assert_close(p.coords.norm(dim=1), offsets.norm(dim=1))  # nothing lost
    assert p.plane.loss.shape == (5, 5)


def test_convexity_says_convex_for_the_linear_hinge_model_and_not_for_the_network():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 10, generator=gen), torch.randint(0, 4, (200,), generator=gen)
    hinge = lecture.hinge()
    kw = {"n_slices": 6, "steps": 21}
    linear = landscape.convexity(
        lecture.linear_model(10, 4, seed=0),
        hinge,
        x,
        y,
        generator=torch.Generator().manual_seed(0),
        **kw,
    )
    net = landscape.convexity(
        lecture.network(10, 4, seed=0, width=32),
        hinge,
        x,
        y,
        generator=torch.Generator().manual_seed(0),
        **kw,
    )
    assert linear.convex and linear.negative_share == 0.0 and linear.curvature_ratio >= 0.0
    assert not net.convex and net.negative_share > 0.0 and net.curvature_ratio < 0.0


def test_curvature_of_a_concave_slice():
    alphas = torch.linspace(-1, 1, 11, dtype=torch.float64)
    c = landscape.curvature(alphas, -(alphas**2))
    assert c.negative_share == 1.0 and c.curvature_ratio == float("-inf")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, x, y: landscape.line(m, F.cross_entropy, x, y, span=0.0), "span"),
        (lambda m, x, y: landscape.line(m, F.cross_entropy, x, y, span=-1.0), "span"),
        (lambda m, x, y: landscape.line(m, F.cross_entropy, x, y, steps=2), "steps"),
        (lambda m, x, y: landscape.plane(m, F.cross_entropy, x, y, steps=1), "steps"),
        (
            lambda m, x, y: landscape.line(
                m, F.cross_entropy, x, y, {"weight": torch.zeros(3, 3), "bias": torch.zeros(3)}
            ),
            r"direction 0\['weight'\] has shape \(3, 3\)",
        ),
        (
            lambda m, x, y: landscape.line(m, F.cross_entropy, x, y, {"weight": torch.zeros(3, 4)}),
            "missing",
        ),
        (lambda m, x, y: landscape.line(m, F.cross_entropy, x, y[:5]), "rows"),
        (
            lambda m, x, y: landscape.interpolate(m, nn.Linear(5, 3), F.cross_entropy, x, y),
            "shape",
        ),
        (lambda m, x, y: landscape.path([m, m], m, F.cross_entropy, x, y), "3 snapshots"),
    ],
)
def test_bad_input_raises_one_clear_line(call, match):
    m, x, y = nn.Linear(4, 3), torch.randn(8, 4), torch.randint(0, 3, (8,))
    with pytest.raises(ActlabError, match=match) as info:
        call(m, x, y)
    assert "\n" not in str(info.value)
