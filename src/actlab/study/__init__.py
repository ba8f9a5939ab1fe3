"""Studies: a grid of runs, executed and stored so that a killed study resumes where it stopped.

A :class:`Study` (built in Python, loaded from TOML with :func:`load_study`, or taken from
:data:`PRESETS`) expands into :class:`RunConfig` s with :meth:`Study.runs`. :class:`Store` keeps
the resolved study and every finished run in ``OUT/study.db`` (SQLite); :func:`run_study` trains
what is left of a study with the batched trainer and stores it run by run.
"""

from __future__ import annotations

from actlab.study.store import METRICS, STATUSES, RunRecord, Store, canonical_json, run_key

# isort: split
from actlab.study.spec import AXES, RunConfig, Study, load_study

# isort: split
from actlab.study.presets import PRESETS, PresetInfo

# isort: split
from actlab.study.runner import plan, run_study

__all__ = [
    "AXES",
    "METRICS",
    "PRESETS",
    "STATUSES",
    "PresetInfo",
    "RunConfig",
    "RunRecord",
    "Store",
    "Study",
    "canonical_json",
    "load_study",
    "plan",
    "run_key",
    "run_study",
]
