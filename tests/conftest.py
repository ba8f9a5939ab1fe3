"""Shared fixtures: parameter sets generated from the activation registry."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch

from actlab._registry import Param
from actlab.activations import ACTIVATIONS, ActivationInfo

# The tests' tensors are small: intra-op threads cost more in hand-offs than they save, and on a
# shared 2-core runner two busy processes with 2 threads each slow down many times over. Results
# must not depend on it: ACTLAB_TEST_THREADS=2 runs the same suite with two intra-op threads.
torch.set_num_threads(int(os.environ.get("ACTLAB_TEST_THREADS", "1")))


@pytest.fixture(autouse=True, scope="session")
def _cache_of_the_tests(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The command line's cache (what ``actlab list`` prints) in a folder of the tests', never
    the user's, also for the ``actlab`` processes the tests start."""
    os.environ["ACTLAB_CACHE_DIR"] = str(tmp_path_factory.mktemp("actlab-cache"))


def alternative(p: Param) -> Any:
    """A valid non-default value for ``p`` (to test entries away from their defaults)."""
    if p.choices is not None:
        return p.choices[-1]
    if p.type is bool or p.name == "dim":
        return p.default
    if p.type is int:
        return p.default + 1
    for candidate in (p.default * 0.5, p.default * 1.5, 0.1, -0.5):
        try:
            return p.validate(candidate)
        except ValueError:
            continue
    raise AssertionError(f"no alternative value for {p.name}")


def param_sets(info: ActivationInfo) -> list[dict[str, Any]]:
    sets = [{}]
    if info.params:
        alt = {p.name: alternative(p) for p in info.params}
        if alt != info.defaults:
            sets.append(info.bind(alt) and alt)
    return sets


CASES = [
    pytest.param(info, params, id=f"{info.name}-{'alt' if params else 'default'}")
    for info in ACTIVATIONS
    for params in param_sets(info)
]
