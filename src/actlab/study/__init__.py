"""Studies: a grid of runs, executed and stored so that a killed study resumes where it stopped.

:class:`Store` keeps the resolved study and every finished run in ``OUT/study.db`` (SQLite).
"""

from __future__ import annotations

from actlab.study.store import METRICS, STATUSES, RunRecord, Store, canonical_json, run_key

__all__ = ["METRICS", "STATUSES", "RunRecord", "Store", "canonical_json", "run_key"]
