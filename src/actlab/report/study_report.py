"""The study report: the ranking table (terminal and HTML) and one self-contained
``report.html`` (figures inlined as base64 PNGs, inline CSS, no external links).

Statistics come from :mod:`actlab.study.stats` (mean ± 95% Student-t CI over seeds, finished runs
only; diverged and failed runs are counted, not averaged). The figures are those of
:data:`actlab.report.study_figures.FIGURES`, one report section each, in order; adding a maker
there adds a section here.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from actlab._files import write_text
from actlab.errors import ActlabError
from actlab.report import diagnostics_figures  # noqa: F401 -- appends its figures to FIGURES
from actlab.report.study_figures import (
    FIGURES,
    Figure,
    is_accuracy,
    plot_comparison,
    plot_curves,
)
from actlab.study.stats import VariantSummary, format_epochs, summarize
from actlab.study.store import Store

__all__ = [
    "FIGURES",
    "Figure",
    "plot_comparison",
    "plot_curves",
    "render",
    "report_study",
    "rows",
    "study_summaries",
    "table",
]


def study_summaries(store: Store) -> list[VariantSummary]:
    """The study's variants ranked best first, with the study's ``target`` if it has one."""
    target = store.study.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise ActlabError(f"the study's target {target!r} is not a number")
    if len(store) == 0:
        raise ActlabError(f"{store.path} holds no finished runs yet; nothing to report")
    return summarize(store.runs(), store.metrics(), target=target)


# ---------------------------------------------------------------------------- the ranking table


def _value(v: float, acc: bool) -> str:
    return "-" if not math.isfinite(v) else f"{100 * v:.1f}" if acc else f"{v:.3g}"


def _target_text(target: float | None, acc: bool) -> str:
    if target is None:
        return "-"
    return f"{100 * target:g}%" if acc else f"loss ≤ {target:.3g}"


def _final(s: VariantSummary, acc: bool) -> str:
    """``"92.0 ± 5.0"``; an interval cut at the metric's range shows its two sides apart,
    ``"95.0 +5.0 −20.0"`` (an accuracy cannot pass 100%)."""
    if not s.finals:
        return "diverged" if s.n_diverged else "failed"
    if len(s.finals) == 1:
        return f"{_value(s.final_mean, acc)} (n=1)"
    low, high = s.final_interval
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{_value(s.final_mean, acc)} ± {_value(s.final_ci, acc)}"
    up, down = _value(high - s.final_mean, acc), _value(s.final_mean - low, acc)
    if up == down:
        return f"{_value(s.final_mean, acc)} ± {up}"
    return f"{_value(s.final_mean, acc)} +{up} −{down}"


def rows(
    summaries: Sequence[VariantSummary], target: float | None = None
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The ranking table as text: ``(header, rows)``, shared by the terminal and HTML tables.

    Accuracies are percent with one decimal, losses three significant digits; ``target``
    defaults to the one the summaries used. A ``failed`` column appears only if a run failed.
    """
    acc = is_accuracy(summaries)
    target = target if target is not None else (summaries[0].target if summaries else None)
    what = summaries[0].metric.replace("_", " ") if summaries else "test acc"
    unit = " %" if acc else ""
    failed = any(s.n_failed for s in summaries)
    header = (
        "rank",
        "variant",
        f"final {what}{unit} (mean ± 95% CI)",
        f"best{unit}",
        f"epochs to {_target_text(target, acc)}",
        "diverged",
        *(("failed",) if failed else ()),
        "wall s/run",
    )
    out = []
    for i, s in enumerate(summaries, 1):
        out.append(
            (
                str(i),
                s.label,
                _final(s, acc),
                _value(s.best, acc),
                format_epochs(s),
                f"{s.n_diverged}/{s.n_runs}",
                *((f"{s.n_failed}/{s.n_runs}",) if failed else ()),
                "-" if not math.isfinite(s.wall_s) else f"{s.wall_s:.1f}",
            )
        )
    return header, out


def table(summaries: Sequence[VariantSummary], target: float | None = None) -> Table:
    """The ranking as a rich table (see :func:`rows`)."""
    header, body = rows(summaries, target)
    t = Table(title="ranking over seeds (finished runs; diverged and failed runs counted apart)")
    for i, column in enumerate(header):
        t.add_column(column, justify="left" if i == 1 else "right", overflow="fold")
    for row in body:
        t.add_row(*row)
    return t


# ---------------------------------------------------------------------------- HTML


CSS = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
td:nth-child(2),th:nth-child(2),table.settings td{text-align:left}
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


def _variant_html(rank: int, s: VariantSummary) -> str:
    parts = [f"<section><h3>{rank}. {_e(s.label)}</h3>"]
    parts.append(
        f"<p>{s.n_runs} runs: {s.n_done} done, {s.n_diverged} diverged, {s.n_failed} failed"
        f"; epochs to target: {_e(format_epochs(s))}</p>"
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


def _html(store: Store, summaries: Sequence[VariantSummary], figures: Sequence[Figure]) -> str:
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
    what = summaries[0].metric.replace("_", " ") if summaries else "-"
    body = [
        f"<h1>Study: {_e(name)}</h1>",
        f"<p>Ranked by final {_e(what)} ({'higher' if acc else 'lower'} is better): mean ± 95% "
        "Student-t confidence interval over the seeds of each variant, finished runs only; "
        "diverged and failed runs are counted apart, and a variant with no finished run ranks "
        f"last. Target: <b>{_e(_target_text(target, acc))}</b> ({_e(source)}).</p>",
        *_data_line(study),
        "<h2>Ranking</h2>",
        _html_table(*rows(summaries)),
    ]
    for f in figures:
        data = base64.b64encode(f.path.read_bytes()).decode("ascii")
        body.append(
            f'<h2>{_e(f.title)}</h2><figure><img alt="{_e(f.title)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{_e(f.caption)}</figcaption></figure>'
        )
    body.append("<h2>Variants</h2>")
    body.extend(_variant_html(i, s) for i, s in enumerate(summaries, 1))
    settings = [(k, json.dumps(v, sort_keys=True)) for k, v in study.items()]
    body += ["<h2>Settings</h2>", _html_table(("setting", "value"), settings, "settings")]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(name)} - actlab report</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _data_line(study: dict[str, Any]) -> list[str]:
    """How one's own data file was split and scaled (none for a catalog dataset)."""
    from actlab.data.files import describe

    line = describe(study.get("dataset", ""), study.get("dataset_params") or {})
    return [] if line is None else [f'<p class="data">{_e(line)}.</p>']


def render(
    store: Store, out_dir: str | Path, *, summaries: Sequence[VariantSummary] | None = None
) -> dict[str, Path]:
    """Write each figure of :data:`FIGURES` (``curves.png``, ``comparison.png``, ...) and
    ``report.html`` into ``out_dir``; return their paths by name (``"report"`` for the HTML)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = study_summaries(store) if summaries is None else list(summaries)
    figures = [f for make in FIGURES if (f := make(summaries, store, out)) is not None]
    page = out / "report.html"
    write_text(page, _html(store, summaries, figures))
    return {**{f.name: f.path for f in figures}, "report": page}


def report_study(store: Store, out_dir: str | Path, console: Console) -> dict[str, Path]:
    """Print the ranking table on ``console``, write the report, print and return the paths."""
    summaries = study_summaries(store)
    console.print(table(summaries))
    target = summaries[0].target
    if store.study.get("target") is None and target is not None:
        console.print(f"target (default): {_target_text(target, is_accuracy(summaries))}")
    paths = render(store, out_dir, summaries=summaries)
    for path in paths.values():
        console.print(f"wrote {path}", markup=False, highlight=False)
    return paths
