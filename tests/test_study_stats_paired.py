"""Paired comparisons with the best over shared seeds, on hand-made stores: p-values equal to
scipy.stats on the stored values, Holm against a hand-written step-down and statsmodels, ties
that must and must not be marked, and the seeds-needed power estimate against G*Power."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from actlab.errors import ActlabError
from actlab.report.study_report import render, rows, study_summaries
from actlab.report.study_tables import power_sentence
from actlab.study import Store, run_key
from actlab.study.paired import holm, power, rank, seeds_needed
from actlab.study.stats import summarize

BASE = (0.80, 0.85, 0.90, 0.82, 0.88)  # the best variant's final accuracy per seed (0..4)
OFFSETS = {  # each other variant: its per-seed difference from the best
    "steady": (-0.011, -0.009, -0.0105, -0.0095, -0.01),  # always 1 point below: separated
    "noisy": (-0.07, 0.04, -0.06, 0.05, -0.04),  # 1.6 below on average, all over the place
    "close": (-0.02, -0.01, -0.03, 0.0, -0.015),  # raw p 0.04, but not after Holm
}


def cfg(activation: str, seed: int) -> dict:
    return {"dataset": "gauss", "activation": activation, "optimizer": "sgd", "seed": seed}


def add(store: Store, activation: str, seed: int, final: float, *, val: bool = False) -> None:
    curve = [0.5, (0.5 + final) / 2, final]
    key = "val_acc" if val else "test_acc"
    metrics = [
        {"train_loss": 1 - a, key: a, **({"test_acc": a - 0.1} if val else {})} for a in curve
    ]
    config = cfg(activation, seed)
    store.complete_run(run_key(config), config, seed=seed, metrics=metrics, wall_s=1.0)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "out", {"name": "paired", "seeds": [0, 1, 2, 3, 4]}) as s:
        for seed, base in enumerate(BASE):
            add(s, "best", seed, base)
            for name, offsets in OFFSETS.items():
                add(s, name, seed, base + offsets[seed])
        yield s


def stored_finals(store: Store, activation: str) -> dict[int, float]:
    """Each seed's last stored test accuracy, read straight from the store's rows."""
    out = {}
    for run in store.runs():
        if run.config["activation"] == activation:
            rows_ = [r for r in store.metrics(run.key) if r["test_acc"] is not None]
            out[run.seed] = max(rows_, key=lambda r: r["epoch"])["test_acc"]
    return out


def holm_reference(p: list[float]) -> list[float]:
    """Holm (1979) as written: reject H_(1..k) while p_(j) <= alpha / (m - j + 1); the adjusted
    p-value of H_(i) is the smallest alpha at which it is rejected,
    max over j <= i of min(1, (m - j + 1) p_(j))."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    for position, i in enumerate(order, start=1):
        adjusted[i] = max(min(1.0, (m - j + 1) * p[order[j - 1]]) for j in range(1, position + 1))
    return adjusted


def test_p_values_equal_scipy_on_the_stored_values(store):
    ranking = rank(summarize(store.runs(), store.metrics()))
    best = stored_finals(store, "best")
    family_t, family_w = [], []
    checked = 0
    for s, c in zip(ranking.summaries, ranking.comparisons):
        if c is None:
            assert s.config["activation"] == "best"
            continue
        mine = stored_finals(store, s.config["activation"])
        seeds = sorted(mine)
        x, y = [mine[k] for k in seeds], [best[k] for k in seeds]
        assert c.best == "best" and sorted(c.seeds) == seeds
        assert c.t_p == stats.ttest_rel(x, y).pvalue  # the same number, not approximately
        assert c.wilcoxon_p == stats.wilcoxon(x, y).pvalue
        assert c.mean_difference == pytest.approx(np.mean(np.subtract(x, y)), abs=1e-15)
        family_t.append(c.t_p)
        family_w.append(c.wilcoxon_p)
        checked += 1
    assert checked == 3
    held = [c for c in ranking.comparisons if c is not None]
    assert [c.t_p_holm for c in held] == pytest.approx(holm_reference(family_t), abs=1e-15)
    assert [c.wilcoxon_p_holm for c in held] == pytest.approx(holm_reference(family_w), abs=1e-15)


def test_ties_are_marked_and_ordered(store):
    """steady is always 1 point below the best: its intervals overlap the best's widely (the
    seeds differ by 10 points) yet the pairs separate it. noisy is 1.6 points below on average
    but its differences scatter: tied. close has raw p = 0.04 < 0.05, but Holm over the three
    comparisons doubles it: tied. The tied group follows the best, ranked 1=."""
    ranking = rank(summarize(store.runs(), store.metrics()))
    by = {s.config["activation"]: c for s, c in zip(ranking.summaries, ranking.comparisons)}
    assert by["steady"].t_p_holm < 0.05 and not by["steady"].tied
    assert by["noisy"].t_p_holm >= 0.05 and by["noisy"].tied
    assert by["close"].t_p < 0.05 <= by["close"].t_p_holm and by["close"].tied
    order = [s.config["activation"] for s in ranking.summaries]
    assert order == ["best", "close", "noisy", "steady"]  # steady's mean is above noisy's
    assert ranking.ranks == ("1=", "1=", "1=", "4")
    header, body = rows(study_summaries(store))
    assert [r[0] for r in body] == ["1=", "1=", "1=", "4"]
    assert [r[1] for r in body] == ["best", "close", "noisy", "steady"]
    assert header[3:6] == ("vs best (points)", "p t-test (Holm)", "p Wilcoxon (Holm)")
    assert body[0][3:6] == ("best", "", "")
    assert body[3][3] == "-1.0"


def test_no_tie_when_every_variant_is_separated(tmp_path):
    with Store.open(tmp_path / "out", {"name": "sep"}) as s:
        for seed, base in enumerate(BASE):
            add(s, "best", seed, base)
            add(s, "steady", seed, base + OFFSETS["steady"][seed])
        ranking = rank(summarize(s.runs(), s.metrics()))
        assert ranking.ranks == ("1", "2") and not ranking.comparisons[1].tied
        assert rows(study_summaries(s))[1][0][0] == "1"


def test_best_means_best_mean_not_best_seed(tmp_path):
    """lucky has the single best seed (0.99) but the lower mean: the best is steady."""
    with Store.open(tmp_path / "out", {"name": "mean"}) as s:
        for seed, (a, b) in enumerate([(0.90, 0.99), (0.91, 0.70), (0.92, 0.75)]):
            add(s, "steady", seed, a)
            add(s, "lucky", seed, b)
        ranking = rank(summarize(s.runs(), s.metrics()))
    assert ranking.summaries[0].config["activation"] == "steady"
    assert ranking.comparisons[1].best == "steady"


def test_holm_against_a_hand_written_reference():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    rng = np.random.default_rng(0)
    for m in (1, 2, 5, 12):
        p = list(rng.uniform(0, 0.2, m))
        assert holm(p) == pytest.approx(holm_reference(p), abs=1e-15)
    assert holm([0.6, 0.9]) == [1.0, 1.0]  # capped at 1
    out = holm([0.01, math.nan, 0.02])  # NaN: not tested, not in the family (m = 2)
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_holm_equals_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = list(np.random.default_rng(1).uniform(0, 0.1, 9))
    expected = multitest.multipletests(p, method="holm")[1]
    assert holm(p) == pytest.approx(list(expected), abs=1e-15)


def test_identical_and_single_seed_comparisons(tmp_path):
    with Store.open(tmp_path / "out", {"name": "edge"}) as s:
        for seed in range(3):
            add(s, "a", seed, 0.8 + 0.01 * seed)
            add(s, "same", seed, 0.8 + 0.01 * seed)
        add(s, "one", 0, 0.5)
        ranking = rank(summarize(s.runs(), s.metrics()))
    by = {c.label: c for c in ranking.comparisons if c is not None}
    assert (by["same"].t_p, by["same"].wilcoxon_p, by["same"].tied) == (1.0, 1.0, True)
    assert math.isnan(by["one"].t_p) and not by["one"].tied  # one shared seed: no test
    assert ranking.n_tests == 1


# ---------------------------------------------------------------------------- power


@pytest.mark.parametrize(
    ("effect", "n", "achieved"),
    [(0.5, 34, 0.8078), (0.8, 15, 0.8213), (1.0, 10, 0.8031)],
)
def test_seeds_needed_matches_gpower(effect, n, achieved):
    """G*Power 3.1, "Means: difference between two dependent means (matched pairs)", a priori,
    two tails, alpha 0.05, power 0.8: total sample size and actual power for d_z = 0.5, 0.8, 1.
    (R's pwr.t.test(d=0.5, power=0.8, type="paired") gives n = 33.37, rounded up: 34.)"""
    assert seeds_needed(effect, 1.0) == n
    assert seeds_needed(3 * effect, 3.0) == n  # only the ratio mean / sd matters
    assert power(n, effect) == pytest.approx(achieved, abs=1e-4)
    assert power(n - 1, effect) < 0.8


def test_seeds_needed_edges():
    assert seeds_needed(0.0, 1.0) == math.inf  # equal means: no number of seeds
    assert seeds_needed(0.01, 0.0) == 2  # the same difference on every seed
    assert seeds_needed(1e-4, 1.0) == math.inf  # beyond 100000 seeds
    assert math.isnan(seeds_needed(math.nan, 1.0))
    assert seeds_needed(-0.5, 1.0) == 34  # the sign does not matter
    with pytest.raises(ActlabError, match="power target"):
        seeds_needed(1.0, 1.0, target=1.5)
    with pytest.raises(ActlabError, match="alpha"):
        rank([], alpha=0)


def test_power_sentence_for_the_top_pair(store):
    ranking = rank(summarize(store.runs(), store.metrics()))
    c = ranking.comparisons[1]  # close: 1.5 points below the best
    d = np.array(OFFSETS["close"])
    n = seeds_needed(abs(d.mean()), d.std(ddof=1))
    assert n == 7  # d_z = 1.5 / 1.118 = 1.34
    assert power_sentence(ranking) == (
        f"best vs close: 1.5 points apart (sd 1.1 over 5 shared seeds); about {int(n)} seeds "
        "would separate them (paired t-test, α 0.05, power 0.8)."
    )
    assert c.sd_difference == pytest.approx(d.std(ddof=1))


def test_validation_ranks_and_test_is_reported_beside(tmp_path):
    """With val_acc stored, ranking and the tests use it; the test accuracy is shown apart."""
    with Store.open(tmp_path / "out", {"name": "val"}) as s:
        for seed, base in enumerate(BASE):
            add(s, "best", seed, base, val=True)
            add(s, "steady", seed, base + OFFSETS["steady"][seed], val=True)
        summaries = study_summaries(s)
        header, body = rows(summaries)
        page = render(s, tmp_path / "report")["report"].read_text(encoding="utf-8")
    best = summaries[0]
    assert (best.metric, best.test_metric) == ("val_acc", "test_acc")
    assert best.final_mean == pytest.approx(np.mean(BASE))
    assert best.test_mean == pytest.approx(np.mean(BASE) - 0.1)
    assert header[2] == "final validation accuracy % (mean ± 95% CI)"
    assert header[3] == "final test accuracy % (not ranked)"
    assert body[0][3].startswith(f"{100 * (np.mean(BASE) - 0.1):.1f} ±")
    assert "Ranked by final validation accuracy" in page
    assert "test accuracy is shown beside it and not used to rank" in page
