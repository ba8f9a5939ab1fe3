"""Bad input to the losses: one clear ActlabError per problem, naming it."""

from __future__ import annotations

import pytest
import torch

from actlab.errors import ActlabError, ParameterError, UnknownNameError
from actlab.losses import Loss, loss

S = torch.randn(4, 3)
Y = torch.tensor([0, 2, 1, 1])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: loss(S, Y, "cross_entropyy"), UnknownNameError, "did you mean: cross_entropy"),
        (lambda: loss(S, Y, "multiclass_hinge", margin=-1.0), ParameterError, "margin=-1"),
        (lambda: loss(S, Y, "ce", temperature=0.0), ParameterError, r"temperature=0 .*\(0, inf\)"),
        (lambda: loss(S, Y, "ce", temperature=-2.0), ParameterError, "temperature"),
        (lambda: loss(S, Y, "ce", label_smoothing=1.0), ParameterError, r"\[0, 1\)"),
        (lambda: loss(S, Y, "ce", label_smoothing=-0.1), ParameterError, "label_smoothing"),
        (lambda: loss(S, Y, "ce", smoothing=0.1), ParameterError, "did you mean: label_smoothing"),
        (lambda: loss(S, Y, "multiclass_hinge", p=3), ParameterError, r"p=3 is not one of"),
        (lambda: loss(S, Y, "ce", reduction="avg"), ParameterError, "reduction='avg'"),
        (
            lambda: loss(S, torch.softmax(S, -1), "kl_div", reduction="mean"),
            ParameterError,
            "batchmean",
        ),
        (
            lambda: loss(S, torch.tensor([0, 3, 1, 1]), "ce"),
            ActlabError,
            "target class 3 is out of range for 3 classes",
        ),
        (
            lambda: loss(S, torch.tensor([0, -1, 1, 1]), "multiclass_hinge"),
            ActlabError,
            "target class -1 is out of range",
        ),
        (lambda: loss(S, Y[:3], "ce"), ActlabError, r"need 4 class indices, got target of shape"),
        (lambda: loss(S, Y.float(), "ce"), ActlabError, "integer class indices"),
        (lambda: loss(S, Y, "squared_error"), ActlabError, "expected a float32 target"),
        (lambda: loss(S, torch.randn(4, 2), "mse"), ActlabError, r"shape \(4, 3\)"),
        (
            lambda: loss(S, torch.randn(4, 3, dtype=torch.float64), "mse"),
            ActlabError,
            "scores are float32 but target is float64",
        ),
        (lambda: loss(S.long(), Y, "ce"), ActlabError, "scores must be floating point"),
        (
            lambda: loss(S, 2 * torch.rand(4, 3), "binary_logistic"),
            ActlabError,
            r"labels in \[0, 1\]",
        ),
        (lambda: loss(S, -torch.rand(4, 3), "kl_div"), ActlabError, "non-negative probabilities"),
        (
            lambda: loss(S, torch.rand(4, 3), "kl_div", log_target=True),
            ActlabError,
            "log-probabilities",
        ),
        (lambda: loss(S, Y, "ce", weight=(1.0, 2.0)), ActlabError, "one value per class"),
        (lambda: loss(S, Y, "ce", weight=(1.0, -2.0, 1.0)), ActlabError, "non-negative"),
        (
            lambda: loss(S, Y, "crammer_singer", weight=(1.0, 1.0, 1.0)),
            ParameterError,
            "crammer_singer has no parameter 'weight'",
        ),
        (
            lambda: loss(torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), "ce"),
            ActlabError,
            r"need scores of shape \(N, C\)",
        ),
        (lambda: Loss("hinge", margin=-0.5), ParameterError, "margin"),
    ],
)
def test_bad_input_is_one_clear_error(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
