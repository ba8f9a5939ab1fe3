"""Where a study's results go when no output directory is given.

A study as a preset or a study file defines it, or one given a name of its own, goes to
``actlab-runs/NAME``: the same folder each time, so rerunning resumes it. An ad-hoc study -- flags
on top of a preset, a file or the default recipe, without ``--name`` -- goes to
``actlab-runs/NAME-HASH``, where ``HASH`` (:func:`settings_hash`) is a short hash of what decides
its results: the keys of its runs (every setting of every run) and whether diagnostics are
recorded. Two ad-hoc studies with different settings never share a folder, and the same command
finds its folder again (and resumes). The data's content and your own model's source are not in
the hash: a rerun after either changed finds the same folder and is refused with the reason
(:mod:`actlab.study.identity`).

>>> from actlab.study import Study
>>> default_out(Study(name="demo", dataset="moons", seeds=1), as_named=True).as_posix()
'actlab-runs/demo'
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from actlab.study._rows import canonical_json

if TYPE_CHECKING:
    from actlab.study.spec import Study

__all__ = ["ROOT", "default_out", "settings_hash"]

ROOT = Path("actlab-runs")


def settings_hash(study: Study, digits: int = 6) -> str:
    """The first ``digits`` hex digits of the SHA-256 of the study's sorted run keys and its
    diagnostics setting (its name, target and the order of its lists do not count)."""
    identity = {"runs": sorted({r.key for r in study.runs()}), "diagnostics": study.diagnostics}
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:digits]


def default_out(study: Study, *, as_named: bool, root: str | Path = ROOT) -> Path:
    """``root/NAME`` when ``as_named`` (a preset or study file as it is, or a ``--name``), else
    ``root/NAME-HASH`` (:func:`settings_hash`)."""
    name = study.name if as_named else f"{study.name}-{settings_hash(study)}"
    return Path(root) / name
