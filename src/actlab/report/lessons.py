"""A lesson's figure and verdict in its study report (``actlab compare --preset lesson-NAME``,
``actlab report DIR``), and the figure for ``docs/lessons.md``.

The figure draws the panels the lesson declares (:attr:`actlab.study.lessons.Lesson.figure`):

- ``("curve", metric)``: each variant's mean over seeds per epoch, with its 95% CI band;
- ``("diag", metric, layers)``: a recorded diagnostic averaged over the ``"hidden"`` layers (or
  the ``"output"`` one), mean over seeds, against training progress in epochs;
- ``("axis", metric, axis)``: the final value against a swept field (depth), one line per
  activation, mean ± 95% CI.

Importing this module appends :func:`lesson_figure` to
:data:`actlab.report.study_figures.FIGURES`: a lesson study's report gains the figure, titled
with the verdict and captioned with its sentence.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from actlab.errors import ActlabError
from actlab.report.study_figures import FIGURES, Figure, metric_name, save_figure
from actlab.study.lessons import Lesson, Verdict, judge, lesson_of
from actlab.study.stats import VariantSummary, mean_ci
from actlab.study.store import Store

__all__ = ["lesson_figure", "lines", "plot_lesson"]

COLOURS = plt.get_cmap("tab10")


def plot_lesson(store: Store, lesson: Lesson, verdict: Verdict, path: str | Path) -> Path:
    """Draw ``lesson`` 's panels from ``store`` into ``path`` (PNG, written atomically)."""
    from actlab.study.lessons.measure import Measures

    m = Measures(store)
    panels = lesson.figure or (("curve", m.summaries[0].metric),)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        {"curve": _curve, "diag": _diag, "axis": _axis}[panel[0]](ax, m, *panel[1:])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    title = f"{lesson.preset}: {verdict.status} ({verdict.seeds} seeds)"
    fig.suptitle(
        title + "\n" + textwrap.fill(lesson.summary, int(12 * 5.2 * len(panels))), fontsize=9
    )
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path)
    return path


def _name(s: VariantSummary) -> str:
    return s.label or str(s.config.get("activation"))


def _curve(ax: Any, m: Any, metric: str) -> None:
    acc = metric.endswith("_acc")
    scale = 100.0 if acc else 1.0
    for i, s in enumerate(m.summaries):
        if metric not in s.curves:
            continue
        mean, ci = (np.asarray(v, dtype=float) * scale for v in s.curves[metric])
        x = np.asarray(s.epochs, dtype=float)
        ok = np.isfinite(mean)
        ax.plot(x[ok], mean[ok], color=COLOURS(i % 10), lw=1.6, label=_name(s))
        band = ok & np.isfinite(ci)
        ax.fill_between(
            x, mean - ci, mean + ci, where=band, color=COLOURS(i % 10), alpha=0.15, lw=0
        )
    if not acc:
        _log_if_wide(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric_name(metric) + (" (%)" if acc else ""))
    ax.set_title(f"{metric_name(metric)}: mean over seeds, band = 95% CI", fontsize=9)


def _diag(ax: Any, m: Any, metric: str, layers: str) -> None:
    in_steps = False  # a run with a step budget (no epochs) is drawn against steps
    for i, s in enumerate(m.summaries):
        per_run = []
        for r in m.runs(s):
            rows = [x for x in m.store.diagnostics(r.key) if x["metric"] == metric]
            rows = [x for x in rows if (x["layer"] == "output") == (layers == "output")]
            by_step: dict[int, list[float]] = {}
            for x in rows:
                if x["value"] is not None and math.isfinite(x["value"]):
                    by_step.setdefault(x["step"], []).append(float(x["value"]))
            if by_step:
                last = max(by_step)
                epochs = r.config.get("epochs")
                in_steps = in_steps or epochs is None
                epochs = epochs or last
                per_run.append(
                    {round(t * epochs / last, 3): float(np.mean(v)) for t, v in by_step.items()}
                )
        if not per_run:
            continue
        xs = sorted(set.intersection(*(set(p) for p in per_run)))
        means = [float(np.mean([p[x] for p in per_run])) for x in xs]
        ax.plot(xs, means, color=COLOURS(i % 10), lw=1.6, marker="." if len(xs) < 30 else None,
                label=_name(s))  # fmt: skip
    if metric != "dead_fraction":
        _log_if_wide(ax)
    where = "output layer" if layers == "output" else "mean over hidden layers"
    ax.set_xlabel("step" if in_steps else "epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ')} ({where}), mean over seeds", fontsize=9)


def _axis(ax: Any, m: Any, metric: str, axis: str) -> None:
    acc = metric.endswith("_acc")
    scale = 100.0 if acc else 1.0
    groups: dict[str, list[tuple[float, VariantSummary]]] = {}
    for s in m.summaries:
        groups.setdefault(str(s.config.get("activation")), []).append((s.config.get(axis), s))
    for i, (name, members) in enumerate(groups.items()):
        members.sort(key=lambda p: p[0])
        x = [v for v, _ in members]
        stats = [mean_ci([val * scale for val in m.final(s, metric).values()]) for _, s in members]
        ax.errorbar(x, [a for a, _ in stats], yerr=[0 if math.isnan(h) else h for _, h in stats],
                    color=COLOURS(i % 10), marker="o", capsize=3, label=name)  # fmt: skip
    ax.set_xticks(sorted({v for g in groups.values() for v, _ in g}))
    ax.set_xlabel(axis)
    ax.set_ylabel("final " + metric_name(metric) + (" (%)" if acc else ""))
    ax.set_title(f"final {metric_name(metric)} by {axis}: mean ± 95% CI", fontsize=9)


def _log_if_wide(ax: Any) -> None:
    """A log y axis when the drawn values are positive and span more than a decade."""
    values = np.array([y for line in ax.lines for y in line.get_ydata()], dtype=float)
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 10:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def lesson_figure(
    summaries: Sequence[VariantSummary], store: Store, out_dir: Path
) -> Figure | None:
    """The report section of a lesson study: its figure, titled with the verdict's status and
    captioned with its sentence (``None`` for any other study, or when the verdict cannot be
    computed from what is stored -- e.g. a preset whose variants were changed by flags)."""
    found = _verdict(store)
    if found is None:
        return None
    lesson, verdict = found
    path = plot_lesson(store, lesson, verdict, Path(out_dir) / "lesson.png")
    return Figure("lesson", f"Lesson verdict: {verdict.status}", path, verdict.sentence)


def lines(store: Store) -> list[str]:
    """The lesson's claim and measured verdict, for the terminal (none for other studies)."""
    found = _verdict(store)
    if found is None:
        return []
    lesson, verdict = found
    return [f"lesson {lesson.name}: {lesson.summary}", f"verdict: {verdict.sentence}"]


def _verdict(store: Store) -> tuple[Lesson, Verdict] | None:
    lesson = lesson_of(store.study)
    if lesson is None:
        return None
    try:
        return lesson, judge(store, lesson)
    except ActlabError:
        return None


FIGURES.append(lesson_figure)
