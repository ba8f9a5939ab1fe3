"""Lessons: one study per claim of the source texts, judged from its store.

``actlab lessons`` lists them; ``actlab compare --preset lesson-NAME`` runs one, and its report
states the measured verdict (:func:`judge`). The rule that turns findings into a verdict is in
:mod:`actlab.study.lessons._core`; the lessons themselves in :mod:`actlab.study.lessons.catalog`.

>>> LESSONS.get("relu-speed").preset
'lesson-relu-speed'
"""

from __future__ import annotations

from actlab.study.lessons import catalog  # noqa: F401 -- registers the lessons
from actlab.study.lessons._core import (
    ALPHA,
    LESSONS,
    SOURCES,
    STATUSES,
    Finding,
    Lesson,
    Verdict,
    judge,
    lesson_of,
    status_of,
)

__all__ = [
    "ALPHA",
    "LESSONS",
    "SOURCES",
    "STATUSES",
    "Finding",
    "Lesson",
    "Verdict",
    "judge",
    "lesson_of",
    "status_of",
]
