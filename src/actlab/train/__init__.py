"""Training many variants at once: the batched trainer and its per-member optimizer.

>>> import torch
>>> from actlab.data import load
>>> from actlab.models import ModelSpec
>>> data = load("gauss", n=200, seed=0)
>>> spec = ModelSpec.for_data(data, width=8)
>>> members = [Member(spec.replace(activation=a), seed=0, optimizer="sgd",
...                   optimizer_params={"lr": 0.1}) for a in ("relu", "tanh")]
>>> result = train(data, members, epochs=2, batch_size=50)
>>> [len(m.metrics) for m in result.members]   # epochs 0, 1, 2
[3, 3]
"""

from __future__ import annotations

from actlab.train.batched import Member, MemberResult, Recorder, TrainResult, train
from actlab.train.stacked_optim import StackedOptimizer

__all__ = ["Member", "MemberResult", "Recorder", "StackedOptimizer", "TrainResult", "train"]
