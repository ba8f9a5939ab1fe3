"""Lessons: one study per claim of the source texts, and a verdict computed from its store.

A :class:`Lesson` is a claim in actlab's words, the source text that makes it, the study that
tests it (registered as the preset ``lesson-NAME``, so ``actlab compare --preset lesson-NAME``
runs it), the changes that shrink it for CI, and a *judge*: a function that reads only the
store (through :class:`actlab.study.lessons.measure.Measures`) and returns the
:class:`Finding` s the verdict rests on. The verdict's status follows from the findings by one
rule, stated here and nowhere else:

- a **paired** finding (a per-seed difference between two variants, or a per-seed value against
  a reference) *supports* the claim when its Holm-adjusted paired t-test p-value (over the
  lesson's paired findings) is below :data:`ALPHA` and the mean difference has the claimed
  sign, goes *against* it when p < ALPHA with the other sign, and is a *tie* otherwise;
- a **speed-up** finding (how many times as fast one variant reaches a target as another,
  median over seeds, seeded paired bootstrap) supports the claim when its 95% interval lies
  above 1, goes against it when the interval lies below 1, and is a tie otherwise;
- the status is ``reproduced`` when every finding supports the claim, ``opposite`` when none
  does and at least one goes against it, ``tied`` when every finding is a tie, and ``not
  reproduced at this scale`` otherwise (some findings support the claim, others do not).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from actlab._registry import Info, Registry
from actlab.study.presets import PRESETS, PresetInfo
from actlab.study.spec import Study

__all__ = [
    "ALPHA",
    "LESSONS",
    "STATUSES",
    "Finding",
    "Lesson",
    "Verdict",
    "judge",
    "lesson_of",
    "register",
    "status_of",
]

ALPHA = 0.05
"""Family-wise level of the paired findings (Holm) and 1 - coverage of the intervals."""
STATUSES = ("reproduced", "not reproduced at this scale", "tied", "opposite")
PREFIX = "lesson-"
SOURCES = {
    "000": "blog post on activation functions and optimizers (seed text 000)",
    "001": "article on activation functions and their properties (seed text 001)",
    "002": "lecture on loss functions, gradients and activations (seed text 002)",
    "003": "introduction to activations, vanishing gradients and initialization (seed text 003)",
}


@dataclass(frozen=True)
class Finding:
    """One comparison a verdict rests on.

    ``kind`` is ``"paired"`` (``estimate``: mean over seeds of ``a - b``, ``low``/``high`` its
    95% Student-t interval, ``p`` the paired t-test p-value and ``p_holm`` the same after Holm
    over the lesson's paired findings) or ``"speedup"`` (``estimate``: median time of ``b`` over
    median time of ``a``, ``low``/``high`` the seeded bootstrap interval; no p-value).
    ``a_values``/``b_values`` are the per-seed values compared (times in epochs for a speed-up,
    ``inf`` for a run that never reached the target), aligned with ``seeds``. ``expect`` is the
    claimed sign of ``a - b`` (+1 or -1; a speed-up always claims ``a`` is faster).
    """

    kind: str
    what: str
    a: str
    b: str
    seeds: tuple[int, ...]
    a_values: tuple[float, ...]
    b_values: tuple[float, ...]
    estimate: float
    low: float
    high: float
    expect: int = 1
    p: float = math.nan
    p_holm: float = math.nan
    unit: str = ""
    target: float | None = None

    @property
    def outcome(self) -> str:
        """``"support"``, ``"against"`` or ``"tie"`` (the rule in the module docstring)."""
        if self.kind == "speedup":
            if self.low > 1.0:
                return "support"
            return "against" if self.high < 1.0 else "tie"
        if not (math.isfinite(self.p_holm) and self.p_holm < ALPHA):
            return "tie"
        return "support" if self.expect * self.estimate > 0 else "against"

    def text(self) -> str:
        """The finding in a few words, with its numbers and interval."""
        if self.kind == "speedup":
            if math.isnan(self.estimate):
                return f"{self.a} and {self.b} cannot be timed ({self.what or 'no progress'})"
            if math.isinf(self.estimate):
                return f"{self.a} reaches {self.what} and {self.b} (median) never does"
            return (
                f"{self.a} reaches {self.what} {_n(self.estimate)}x as fast as {self.b} "
                f"[{_n(self.low)}, {_n(self.high)}]"
            )
        sign = "+" if self.estimate >= 0 else ""
        means = f"{_n(_mean(self.a_values))} vs {_n(_mean(self.b_values))}"
        return (
            f"{self.what}: {self.a} minus {self.b} {sign}{_n(self.estimate)}{self.unit} "
            f"[{_n(self.low)}, {_n(self.high)}] ({means}), Holm p{_p(self.p_holm)}"
        )


@dataclass(frozen=True)
class Verdict:
    """A lesson's measured verdict: its status, one sentence with the numbers, how many seeds."""

    lesson: str
    status: str
    sentence: str
    seeds: int
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lesson": self.lesson,
            "status": self.status,
            "sentence": self.sentence,
            "seeds": self.seeds,
            "findings": [
                {
                    "kind": f.kind,
                    "what": f.what,
                    "a": f.a,
                    "b": f.b,
                    "outcome": f.outcome,
                    "estimate": f.estimate,
                    "low": f.low,
                    "high": f.high,
                    "p": f.p,
                    "p_holm": f.p_holm,
                    "seeds": list(f.seeds),
                }
                for f in self.findings
            ],
        }


Judge = Callable[[Any], list[Finding]]


@dataclass(frozen=True)
class Lesson(Info):
    """One claim of the source texts and the study that tests it.

    ``summary`` is the claim in actlab's words; ``source`` the seed texts that make it (keys of
    :data:`SOURCES`); ``setup`` how the study tests it (fair rates, what is provoked, equal
    epochs or steps); ``study`` the full study; ``reduced`` the field changes of the CI-sized
    study; ``judge`` reads a store into findings; ``figure`` the panels of its figure
    (:mod:`actlab.report.lessons`).
    """

    source: tuple[str, ...] = ()
    setup: str = ""
    study: Study = field(default_factory=Study)
    reduced: tuple[tuple[str, Any], ...] = ()
    judge: Judge | None = field(default=None, compare=False)
    figure: tuple[tuple[Any, ...], ...] = ()

    @property
    def preset(self) -> str:
        return PREFIX + self.name

    @property
    def command(self) -> str:
        return f"actlab compare --preset {self.preset}"

    def small(self, **changes: Any) -> Study:
        """The CI-sized study: :attr:`reduced`, then ``changes``, applied to :attr:`study`."""
        return self.study.replace(**{**dict(self.reduced), **changes})


LESSONS: Registry[Lesson] = Registry("lesson")


def register(
    name: str,
    claim: str,
    *,
    source: tuple[str, ...],
    setup: str,
    judge: Judge,
    reduced: Mapping[str, Any],
    figure: tuple[tuple[Any, ...], ...] = (),
    **study: Any,
) -> Lesson:
    """Declare a lesson and its preset ``lesson-NAME``."""
    for key in source:
        if key not in SOURCES:
            raise ValueError(f"lesson {name!r}: unknown source {key!r}")
    full = Study(name=PREFIX + name, **study)
    lesson = Lesson(
        name=name,
        summary=claim,
        source=tuple(source),
        setup=setup,
        study=full,
        reduced=tuple(reduced.items()),
        judge=judge,
        figure=figure,
    )
    full.replace(**dict(lesson.reduced))  # the reduced study must be valid too
    LESSONS.register(lesson)
    PRESETS.register(PresetInfo(name=lesson.preset, summary=f"lesson: {claim}", study=full))
    return lesson


def lesson_of(study: Mapping[str, Any]) -> Lesson | None:
    """The lesson a stored study (``store.study``) runs, by its name ``lesson-NAME``."""
    name = study.get("name")
    if not isinstance(name, str) or not name.startswith(PREFIX):
        return None
    key = name[len(PREFIX) :]
    return LESSONS.get(key) if key in LESSONS else None


def status_of(findings: list[Finding] | tuple[Finding, ...]) -> str:
    """The verdict's status from its findings' outcomes (the rule in the module docstring)."""
    outcomes = [f.outcome for f in findings]
    if outcomes and all(o == "support" for o in outcomes):
        return "reproduced"
    if "against" in outcomes and "support" not in outcomes:
        return "opposite"
    if outcomes and all(o == "tie" for o in outcomes):
        return "tied"
    return "not reproduced at this scale"


def judge(store: Any, lesson: Lesson | None = None) -> Verdict:
    """The verdict of ``lesson`` (default: the one ``store`` 's study names) from the store."""
    from actlab.errors import ActlabError
    from actlab.study.lessons.measure import Measures, adjust

    lesson = lesson or lesson_of(store.study)
    if lesson is None:
        raise ActlabError(f"{store.path} holds no lesson study (its name is not lesson-NAME)")
    measures = Measures(store)
    findings = tuple(adjust(lesson.judge(measures)))
    status = status_of(findings)
    seeds = measures.seed_count()
    body = "; ".join(f.text() for f in findings)
    sentence = f"{status.capitalize()}: {body} ({seeds} seeds, 95% intervals)."
    return Verdict(lesson.name, status, sentence, seeds, findings)


def _n(x: float) -> str:
    if not math.isfinite(x):
        return "inf" if x > 0 else "-inf" if x < 0 else "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _mean(values: tuple[float, ...]) -> float:
    return sum(values) / len(values) if values else math.nan


def _p(p: float) -> str:
    if not math.isfinite(p):
        return " n/a"
    return "<0.001" if p < 0.001 else f"={p:.3f}"
