"""The study report: the ranking table (terminal and HTML) and one self-contained
``report.html`` (figures inlined as base64 PNGs, inline CSS, no external links).

Statistics come from :mod:`actlab.study.stats` (mean ± 95% Student-t CI over seeds, finished runs
only; diverged and failed runs are counted, not averaged), :mod:`actlab.study.paired` (paired
tests against the best, ties, power), :mod:`actlab.study.targets` (time to target) and
:mod:`actlab.study.factors` (per-factor means); their tables as text are in
:mod:`actlab.report.study_tables`. The figures are those of
:data:`actlab.report.study_figures.FIGURES`, one report section each, in order; adding a maker
there adds a section here.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from actlab._files import write_text
from actlab._numerics import format_number
from actlab.errors import ActlabError
from actlab.report import (  # noqa: F401 -- importing them adds their figures to FIGURES
    diagnostics_figures,
    sweep_figures,
)
from actlab.report import lessons as lesson_report  # appends the lesson verdict figure
from actlab.report.study_figures import (
    FIGURES,
    Figure,
    is_accuracy,
    plot_comparison,
    plot_curves,
)
from actlab.report.study_tables import (
    factor_rows,
    metric_name,
    named_rate,
    power_sentence,
    rate_note,
    rows,
    speed_sentence,
    target_rows,
    target_text,
    tie_note,
)
from actlab.study import tuning
from actlab.study.factors import FactorLevel, factor_summaries
from actlab.study.paired import Ranking, rank
from actlab.study.stats import VariantSummary, ranking_metric, summarize
from actlab.study.store import Store
from actlab.study.targets import TargetTimes, target_times

__all__ = [
    "FIGURES",
    "Analysis",
    "Figure",
    "analyse",
    "plot_comparison",
    "plot_curves",
    "render",
    "report_study",
    "rows",
    "study_summaries",
    "table",
]


def study_summaries(store: Store) -> list[VariantSummary]:
    """The study's variants in report order, with the study's ``target`` if it has one: the best
    mean first, then the variants tied with it, then the others by mean
    (:func:`actlab.study.paired.rank`)."""
    target = store.study.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise ActlabError(f"the study's target {target!r} is not a number")
    if len(store) == 0:
        raise ActlabError(f"{store.path} holds no finished runs yet; nothing to report")
    records, metrics = tuning.reported(store)  # a tuned study: each variant at its chosen rate
    on = store.study.get("target_metric")
    if on is not None and on != ranking_metric(metrics):
        target = None  # a target on another metric: time to target (analyse) uses it
    return list(rank(summarize(records, metrics, target=target)).summaries)


@dataclass(frozen=True)
class Analysis:
    """What the report says beyond the ranking's means: the tests against the best, each
    variant's time to target (empty without a target) and the per-factor means (empty unless
    two or more axes vary)."""

    ranking: Ranking
    times: tuple[TargetTimes, ...]
    factors: tuple[FactorLevel, ...]

    def sentences(self) -> list[str]:
        """The power estimate and the speed-up of the top pair, where they apply."""
        out = [power_sentence(self.ranking)]
        if len(self.times) > 1:
            out.append(speed_sentence(self.times[0], self.times[1]))
        return [s for s in out if s]


def analyse(store: Store, summaries: Sequence[VariantSummary]) -> Analysis:
    """The :class:`Analysis` of ``summaries`` (in :func:`study_summaries` order)."""
    ranking = rank(summaries)
    first = ranking.summaries[0] if ranking.summaries else None
    times: list[TargetTimes] = []
    metric, target = store.study.get("target_metric"), store.study.get("target")
    if metric is None and first is not None:  # the target is on the ranking metric
        metric, target = first.metric, first.target
    if first is not None and target is not None:
        records, metrics = tuning.reported(store)
        if not any(row.get(metric) is not None for row in metrics):
            raise ActlabError(f"target metric {metric!r}: no stored run records it")
        keys = {r.key for r in records}
        times = target_times(
            ranking.summaries,
            records,
            metrics,
            metric=metric,
            target=target,
            steps=[row for row in store.step_metrics() if row["run"] in keys],
        )
    times = [  # every table names the rate each variant ran at (times align with summaries)
        dataclasses.replace(t, label=named_rate(t.label, s.config))
        for t, s in zip(times, ranking.summaries)
    ]
    levels = factor_summaries(ranking.summaries)
    several = len({f.axis for f in levels}) > 1
    return Analysis(ranking, tuple(times), tuple(levels) if several else ())


# ---------------------------------------------------------------------------- terminal tables


def _rich(header: Sequence[str], body: Sequence[Sequence[str]], title: str, left: int) -> Table:
    t = Table(title=title)
    for i, column in enumerate(header):
        t.add_column(column, justify="left" if i <= left else "right", overflow="fold")
    for row in body:
        t.add_row(*row)
    return t


def table(summaries: Sequence[VariantSummary], target: float | None = None) -> Table:
    """The ranking as a rich table (see :func:`rows`)."""
    title = "ranking over seeds (finished runs; diverged and failed runs counted apart)"
    header, body = rows(summaries, target)
    t = _rich(header, body, title, 1)
    t.columns[0].justify = "right"
    return t


# ---------------------------------------------------------------------------- HTML


CSS = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
td:nth-child(2),th:nth-child(2),table.settings td{text-align:left}
table.times td:first-child,table.times th:first-child,table.factors td:first-child,
table.factors th:first-child{text-align:left}
table.times td:nth-child(2),table.times th:nth-child(2){text-align:right}
th{background:#f3f3f3} img{max-width:100%} pre{background:#f7f7f7;padding:6px;white-space:pre-wrap}
section{border-top:1px solid #ddd;margin-top:1em} .bad{color:#a00} code{font-size:12px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: Sequence[str], body: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    lines = ["".join(f"<td>{_e(c)}</td>" for c in row) for row in body]
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><tr>{head}</tr>" + "".join(f"<tr>{r}</tr>" for r in lines) + "</table>"


def _variant_html(rank: str, s: VariantSummary) -> str:
    parts = [f"<section><h3>{_e(rank)}{'.' if rank.isdigit() else ''} {_e(s.label)}</h3>"]
    scale, acc = (100.0, " %") if s.metric.endswith("_acc") else (1.0, "")
    finals = ", ".join(f"seed {seed}: {format_number(v * scale, digits=4)}" for seed, v in s.finals)
    parts.append(
        f"<p>{s.n_runs} runs: {s.n_done} done, {s.n_diverged} diverged, {s.n_failed} failed"
        + (f"; final {_e(metric_name(s.metric))}{acc} per seed: {_e(finals)}" if finals else "")
        + "</p>"
    )
    items = [
        f"seed {seed}: diverged at step {step} (last epoch stored: {epoch})"
        for seed, step, epoch in s.diverged
    ]
    if items:
        parts.append('<ul class="bad">' + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>")
    for seed, error in s.errors:
        parts.append(f'<p class="bad">seed {_e(seed)} failed:</p><pre>{_e(error)}</pre>')
    config = json.dumps(s.config, sort_keys=True)
    parts.append(f"<p>config (without seed): <code>{_e(config)}</code></p></section>")
    return "".join(parts)


def _html(
    store: Store,
    summaries: Sequence[VariantSummary],
    figures: Sequence[Figure],
    analysis: Analysis,
) -> str:
    study = store.study
    name = study.get("name") or store.path.parent.name
    acc = is_accuracy(summaries)
    target = summaries[0].target if summaries else None
    source = (
        "from the study"
        if study.get("target") is not None
        else "default: 90% of the best variant's mean final accuracy, rounded to 0.01"
        if acc
        else "default: 1.1 times the best variant's mean final loss, 2 significant digits"
    )
    metric = summaries[0].metric if summaries else "test_acc"
    if analysis.times:  # the target may be on another metric than the ranking one
        target, metric = analysis.times[0].target, analysis.times[0].metric
    body = [
        f"<h1>Study: {_e(name)}</h1>",
        f"<p>{_e(_ranked_by(summaries))} Target: <b>{_e(target_text(target, metric))}</b> "
        f"({_e(source)}).</p>",
        *_data_line(study),
        "<h2>Ranking</h2>",
        _html_table(*rows(analysis.ranking.summaries)),
        f'<p class="note">{_e(tie_note(analysis.ranking))}</p>',
        f'<p class="note">{_e(rate_note(study, summaries))}</p>',
        *(f"<p><b>{_e(line)}</b></p>" for line in analysis.sentences()[:1]),
    ]
    if analysis.times:
        body += [
            f"<h2>Time to {_e(target_text(target, metric))}</h2>",
            _html_table(*target_rows(analysis.times), "times"),
            f'<p class="note">{_e(TARGET_NOTE)}</p>',
            *(f"<p><b>{_e(line)}</b></p>" for line in analysis.sentences()[1:]),
        ]
    if analysis.factors:
        body += [
            "<h2>Per-factor means</h2>",
            _html_table(*factor_rows(analysis.factors), "factors"),
            f'<p class="note">{_e(FACTOR_NOTE)}</p>',
        ]
    for f in figures:
        data = base64.b64encode(f.path.read_bytes()).decode("ascii")
        body.append(
            f'<h2>{_e(f.title)}</h2><figure><img alt="{_e(f.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(f.caption)}</figcaption></figure>'
        )
    body.append("<h2>Variants</h2>")
    ranks = dict(zip(map(id, analysis.ranking.summaries), analysis.ranking.ranks))
    body.extend(_variant_html(ranks.get(id(s), str(i)), s) for i, s in enumerate(summaries, 1))
    settings = [(k, json.dumps(v, sort_keys=True)) for k, v in study.items()]
    body += ["<h2>Settings</h2>", _html_table(("setting", "value"), settings, "settings")]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(name)} - actlab report</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


TARGET_NOTE = (
    "Median over seeds [95% bootstrap interval] of the first evaluation at which each run "
    "reached the target; a run that never did counts as infinitely slow (so 'not reached' when "
    "more than half missed), a failed run is left out. With evaluations inside epochs "
    "(eval_every, or a step budget) each evaluation's own step and training seconds (evaluation "
    "time left out) are used. Otherwise steps: ceil(train size / batch size) "
    "per epoch; examples: the training set once per epoch; seconds: the run's wall time spread "
    "over its epochs. The last column is the variant's median over the fastest one's, with a "
    "seeded bootstrap interval (seeds resampled as pairs)."
)
FACTOR_NOTE = (
    "For each axis the study varies, each value's final result averaged over the other "
    "factors: per seed, the mean over the variants with that value (each counts once); then "
    "the mean ± 95% Student-t interval over the seeds they all finished, cut to the metric's "
    "range. It speaks for this grid of other factors, not for settings it did not run."
)


def _ranked_by(summaries: Sequence[VariantSummary]) -> str:
    """Which metric ranks, and how."""
    if not summaries:
        return ""
    s = summaries[0]
    better = "higher" if s.metric.endswith("_acc") else "lower"
    beside = (
        f"; the {metric_name(s.test_metric)} is shown beside it and not used to rank or select"
        if s.test_metric
        else ""
    )
    return (
        f"Ranked by final {metric_name(s.metric)} ({better} is better){beside}: mean ± 95% "
        "Student-t confidence interval over the seeds of each variant, finished runs only; "
        "diverged and failed runs are counted apart, and a variant with no finished run ranks "
        "last. The best variant is the best mean, never the best seed."
    )


def _data_line(study: dict[str, Any]) -> list[str]:
    """How one's own data file was split and scaled (none for a catalog dataset)."""
    from actlab.data.files import describe

    line = describe(study.get("dataset", ""), study.get("dataset_params") or {})
    return [] if line is None else [f'<p class="data">{_e(line)}.</p>']


def render(
    store: Store,
    out_dir: str | Path,
    *,
    summaries: Sequence[VariantSummary] | None = None,
    analysis: Analysis | None = None,
) -> dict[str, Path]:
    """Write each figure of :data:`FIGURES` (``curves.png``, ``comparison.png``, ...) and
    ``report.html`` into ``out_dir``; return their paths by name (``"report"`` for the HTML).
    ``analysis`` defaults to :func:`analyse` of the summaries."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = study_summaries(store) if summaries is None else list(summaries)
    analysis = analyse(store, summaries) if analysis is None else analysis
    figures = [f for make in FIGURES if (f := make(summaries, store, out)) is not None]
    page = out / "report.html"
    write_text(page, _html(store, summaries, figures, analysis))
    return {**{f.name: f.path for f in figures}, "report": page}


def report_study(store: Store, out_dir: str | Path, console: Console) -> dict[str, Path]:
    """Print the ranking table, the tie note, the power estimate, time to target and the
    per-factor means on ``console``; write the report; print and return the paths."""
    summaries = study_summaries(store)
    analysis = analyse(store, summaries)
    console.print(table(summaries))
    console.print(tie_note(analysis.ranking), markup=False, highlight=False)
    console.print(rate_note(store.study, summaries), markup=False, highlight=False)
    target, metric = summaries[0].target, summaries[0].metric
    if store.study.get("target") is None and target is not None:
        console.print(f"target (default): {target_text(target, metric)}", markup=False)
    if analysis.times:
        target, metric = analysis.times[0].target, analysis.times[0].metric
        title = f"time to {target_text(target, metric)}: median over seeds [95% interval]"
        console.print(_rich(*target_rows(analysis.times), title, 0))
    if analysis.factors:
        title = "per-factor means (mean over the other factors ± 95% CI over seeds)"
        console.print(_rich(*factor_rows(analysis.factors), title, 1))
    for line in [*analysis.sentences(), *tuning.chosen_lines(store), *lesson_report.lines(store)]:
        console.print(line, markup=False, highlight=False)
    paths = render(store, out_dir, summaries=summaries, analysis=analysis)
    for path in paths.values():
        console.print(f"wrote {path}", markup=False, highlight=False)
    return paths
