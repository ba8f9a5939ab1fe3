"""Parsing activation specs on the command line: ``NAME``, ``NAME:k=v,k=v`` and
``--param NAME.k=v`` (applies to every curve named NAME)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actlab.cli._common import parse_assignments
from actlab.errors import ActlabError

if TYPE_CHECKING:
    from actlab.report.activation_plot import Curve


def parse_curves(specs: list[str], params: list[str]) -> list[Curve]:
    from actlab.activations import ACTIVATIONS
    from actlab.report.activation_plot import Curve

    curves: list[tuple[str, dict[str, str]]] = []
    for spec in specs:
        name, _, inline = spec.partition(":")
        ACTIVATIONS.get(name)  # unknown names fail here, with the closest matches
        given = dict(parse_assignments(inline.split(","), what="parameter")) if inline else {}
        curves.append((name.strip(), given))
    for key, value in parse_assignments(params):
        target, dot, pname = key.partition(".")
        if not dot:
            raise ActlabError(f"--param {key}={value}: write NAME.PARAM=VALUE, e.g. elu.alpha=0.5")
        target = ACTIVATIONS.canonical(target)
        hits = [given for name, given in curves if ACTIVATIONS.canonical(name) == target]
        if not hits:
            raise ActlabError(f"--param {key}: {target} is not among the activations plotted")
        for given in hits:
            given[pname] = value
    return [Curve(name, ACTIVATIONS.get(name).parse(given)) for name, given in curves]
