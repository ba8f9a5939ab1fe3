"""Lessons (one study per claim of the source texts): every lesson preset runs at its reduced
size and yields a verdict whose numbers are recomputed here from the stored values with scipy;
the verdict follows the documented rule; ``actlab lessons`` lists them and refuses bad names;
a lesson's report states its verdict."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from actlab.cli._app import app
from actlab.study import PRESETS, Store, tuning
from actlab.study.lessons import ALPHA, LESSONS, STATUSES, judge, status_of
from actlab.study.runner import run_study

NAMES = LESSONS.names()
_STORES: dict[str, object] = {}


def _stored(name: str, tmp_path_factory) -> object:
    """The lesson's reduced study, run once per test session."""
    if name not in _STORES:
        out = tmp_path_factory.mktemp(name)
        run_study(LESSONS.get(name).small(), out).close()
        _STORES[name] = out
    return _STORES[name]


def _holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment, written out again."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def _last(rows: list[dict], metric: str) -> float | None:
    values = [
        r[metric] for r in sorted(rows, key=lambda r: r["epoch"]) if r.get(metric) is not None
    ]
    return values[-1] if values else None


def test_nine_lessons_each_a_preset_with_a_source_and_a_reduced_study():
    assert len(NAMES) == 9
    for lesson in LESSONS:
        assert PRESETS.get(lesson.preset).study == lesson.study
        assert lesson.source and lesson.summary and lesson.setup and lesson.judge is not None
        small = lesson.small()
        assert len(small.seeds) >= 2 and small.epochs <= lesson.study.epochs
        if lesson.study.tune_lr is not None:  # fair rates: each variant tuned on validation
            assert small.tune_lr is not None and small.validation > 0


@pytest.mark.parametrize("name", NAMES)
def test_a_reduced_lesson_runs_and_its_verdict_is_recomputed_from_the_store(name, tmp_path_factory):
    out = _stored(name, tmp_path_factory)
    with Store.open(out) as store:
        verdict = judge(store)
        records, metrics = tuning.reported(store)
        rows: dict[str, list[dict]] = {}
        for row in metrics:
            rows.setdefault(row["run"], []).append(row)
    assert verdict.status in STATUSES and verdict.findings
    assert verdict.sentence.startswith(verdict.status.capitalize() + ":")
    assert f"({verdict.seeds} seeds" in verdict.sentence
    assert verdict.seeds == len(LESSONS.get(name).small().seeds)
    finals = {(r.seed, round(_last(rows[r.key], "val_acc") or math.nan, 9)) for r in records}
    paired = [f for f in verdict.findings if f.kind == "paired"]
    for f, p_holm in zip(paired, _holm([f.p for f in paired]), strict=True):
        x, y = np.array(f.a_values), np.array(f.b_values)
        d = x - y
        constant = np.all(d == d[0])  # no spread: the t statistic is undefined
        p = (1.0 if d[0] == 0 else 0.0) if constant else stats.ttest_rel(x, y).pvalue
        assert f.p == pytest.approx(p, abs=1e-12) and f.p_holm == pytest.approx(p_holm)
        assert f.estimate == pytest.approx(d.mean())
        if d.std() > 0:
            low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
            assert (f.low, f.high) == (pytest.approx(low), pytest.approx(high))
        if f.what.startswith("final validation accuracy"):  # per-seed values are stored ones
            for seed, a, b in zip(f.seeds, f.a_values, f.b_values, strict=True):
                assert (seed, round(a / 100, 9)) in finals and (seed, round(b / 100, 9)) in finals
        expected = (
            "tie" if not p_holm < ALPHA else "support" if f.expect * d.mean() > 0 else "against"
        )
        assert f.outcome == expected
    for f in verdict.findings:
        if f.kind != "speedup" or not f.seeds:
            continue
        a, b = np.array(f.a_values), np.array(f.b_values)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.median(b) / np.median(a)
        assert f.estimate == pytest.approx(ratio, nan_ok=True)
        firsts = {  # each stored run's first epoch at the target, from the raw rows
            (r.seed, next((row["epoch"] for row in sorted(rows[r.key], key=lambda q: q["epoch"])
                           if row["train_loss"] is not None and row["train_loss"] <= f.target),
                          math.inf))
            for r in records
        }  # fmt: skip
        for seed, t in zip(f.seeds, f.a_values, strict=True):
            assert (seed, t) in firsts
    assert verdict.status == status_of(verdict.findings)


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        (["support", "support"], "reproduced"),
        (["tie", "tie"], "tied"),
        (["against", "tie"], "opposite"),
        (["support", "tie"], "not reproduced at this scale"),
        (["support", "against"], "not reproduced at this scale"),
    ],
)
def test_the_status_rule(outcomes, status):
    from actlab.study.lessons import Finding

    def finding(outcome: str) -> Finding:
        low = {"support": 1.5, "tie": 0.5, "against": 0.2}[outcome]
        high = {"support": 3.0, "tie": 2.0, "against": 0.8}[outcome]
        return Finding("speedup", "x", "a", "b", (0,), (1.0,), (2.0,), 2.0, low, high)

    assert status_of([finding(o) for o in outcomes]) == status


def test_a_lesson_report_states_its_verdict(tmp_path_factory):
    out = _stored("dying-relu", tmp_path_factory)
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    with Store.open(out) as store:
        sentence = judge(store).sentence
    assert "verdict: " + sentence in " ".join(result.output.split())
    page = (out / "report.html").read_text()
    assert "Lesson verdict:" in page and (out / "lesson.png").stat().st_size > 0


def test_lessons_lists_every_lesson_with_its_command():
    result = CliRunner().invoke(app, ["lessons"])
    assert result.exit_code == 0, result.output
    for lesson in LESSONS:
        assert f"{lesson.name}: " in result.output
        assert f"actlab compare --preset lesson-{lesson.name}" in result.output
    one = CliRunner().invoke(app, ["lessons", "lesson-init", "--json"])
    assert one.exit_code == 0, one.output
    doc = json.loads(one.output)
    assert doc["preset"] == "lesson-init" and doc["sources"] and doc["setup"]
    every = json.loads(CliRunner().invoke(app, ["lessons", "--json"]).output)
    assert [e["name"] for e in every["lessons"]] == list(NAMES)


def test_an_unknown_lesson_is_one_line_with_the_closest_names():
    result = CliRunner().invoke(app, ["lessons", "relu-sped"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unknown lesson 'relu-sped'" in lines[0] and "relu-speed" in lines[0]
