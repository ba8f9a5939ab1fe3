"""What a lesson's judge reads from a store: variants, per-seed final values, recorded
diagnostics, and the two kinds of :class:`~actlab.study.lessons.Finding` built from them with the
study's own statistics (:mod:`actlab.study.paired`, :mod:`actlab.study.targets`).

Everything is read from the store: for a tuned study, only the final runs (each variant at the
rate chosen on validation, :func:`actlab.study.tuning.reported`), the same runs the report ranks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from actlab.diagnostics import rows as R
from actlab.errors import ActlabError
from actlab.study import tuning
from actlab.study.labels import without_seed
from actlab.study.lessons._core import Finding
from actlab.study.paired import holm, t_test_p
from actlab.study.stats import VariantSummary, mean_ci, summarize
from actlab.study.store import RunRecord, Store, canonical_json
from actlab.study.targets import speedup, target_times

__all__ = ["Measures", "adjust"]

Values = dict[int, float]
PROGRESS = 0.9
"""Share of the slower variant's progress that sets a speed target (see :meth:`Measures.target`)."""


class Measures:
    """A store's final runs grouped into variants, and the values lessons compare."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.records, self.metrics = tuning.reported(store)
        self.summaries = summarize(self.records, self.metrics)
        self.rows: dict[str, list[Mapping[str, Any]]] = {}
        for row in self.metrics:
            self.rows.setdefault(row["run"], []).append(row)
        for rows in self.rows.values():
            rows.sort(key=lambda r: (r["epoch"], r.get("step") or 0))

    # ---- variants ------------------------------------------------------------------------

    def variant(self, **match: Any) -> VariantSummary:
        """The one variant whose config has every ``key=value`` of ``match``."""
        found = [s for s in self.summaries if all(s.config.get(k) == v for k, v in match.items())]
        if len(found) != 1:
            wanted = ", ".join(f"{k}={v}" for k, v in match.items())
            raise ActlabError(
                f"{self.store.path}: {len(found)} variants have {wanted}; a lesson's verdict "
                "needs its study's variants (was the preset changed by flags?)"
            )
        return found[0]

    def values(self, axis: str) -> list[Any]:
        """The values of a config key among the variants, sorted."""
        return sorted(
            {s.config.get(axis) for s in self.summaries}, key=lambda v: (v is not None, v or 0)
        )

    def runs(self, s: VariantSummary) -> list[RunRecord]:
        """The variant's finished (``done``) runs, by seed."""
        key = canonical_json(s.config)
        mine = [
            r
            for r in self.records
            if r.status == "done" and canonical_json(without_seed(r.config)) == key
        ]
        return sorted(mine, key=lambda r: r.seed or 0)

    def seed_count(self) -> int:
        """The most seeds any variant finished."""
        return max((len(self.runs(s)) for s in self.summaries), default=0)

    # ---- values per seed -----------------------------------------------------------------

    def final(self, s: VariantSummary, metric: str | None = None) -> Values:
        """Per seed, the last stored value of ``metric`` (default: the ranking metric)."""
        if metric is None:
            return {seed: v for seed, v in s.finals if seed is not None}
        out = {}
        for r in self.runs(s):
            series = [
                row[metric] for row in self.rows.get(r.key, []) if row.get(metric) is not None
            ]
            if series and r.seed is not None:
                out[r.seed] = float(series[-1])
        return out

    def diagnostic(
        self, s: VariantSummary, metric: str, *, layers: str = "hidden", at: float = 1.0
    ) -> Values:
        """Per seed, a recorded diagnostic averaged over ``layers`` (``"hidden"`` or
        ``"output"``) at the recorded step nearest ``at`` x the last one (1: the end)."""
        out = {}
        for r in self.runs(s):
            rows = [x for x in self.store.diagnostics(r.key) if x["metric"] == metric]
            rows = [x for x in rows if (x["layer"] == R.OUTPUT) == (layers == "output")]
            if not rows or r.seed is None:
                continue
            steps = sorted({x["step"] for x in rows})
            step = min(steps, key=lambda t: (abs(t - at * steps[-1]), t))
            picked = [x["value"] for x in rows if x["step"] == step and x["value"] is not None]
            if picked:
                out[r.seed] = float(np.mean(picked))
        return out

    def ratio(
        self, s: VariantSummary, metric: str, *, layers: str = "hidden", start: float = 0.5
    ) -> Values:
        """Per seed, a diagnostic at the end over its value at ``start`` x the last step."""
        end = self.diagnostic(s, metric, layers=layers)
        begin = self.diagnostic(s, metric, layers=layers, at=start)
        return {k: end[k] / begin[k] for k in end if k in begin and begin[k] > 0}

    # ---- findings ------------------------------------------------------------------------

    def paired(
        self, what: str, a: str, b: str, a_values: Values, b_values: Values, *,
        expect: int = 1, unit: str = "", scale: float = 1.0,
    ) -> Finding:  # fmt: skip
        """``a - b`` over the seeds both have (times ``scale``): mean, 95% t-interval and the
        paired t-test's p-value (Holm-adjusted later by :func:`adjust`)."""
        seeds = tuple(sorted(k for k in a_values if k in b_values))
        x = np.array([a_values[k] * scale for k in seeds], dtype=np.float64)
        y = np.array([b_values[k] * scale for k in seeds], dtype=np.float64)
        mean, half = mean_ci((x - y).tolist())
        p = t_test_p(x, y)
        return Finding(
            "paired", what, a, b, seeds, tuple(x.tolist()), tuple(y.tolist()),
            mean, mean - half, mean + half, expect=expect, p=p, unit=unit,
        )  # fmt: skip

    def target(self, variants: Iterable[VariantSummary], metric: str) -> float | None:
        """A level the slower of ``variants`` reaches by its end: :data:`PROGRESS` of the way
        from the runs' mean first stored value (the initial network) to the *worst* variant's
        mean final value, to 3 significant digits; ``None`` when the worst made no progress."""
        variants = list(variants)
        firsts = [
            float(rows[0][metric])
            for s in variants
            for r in self.runs(s)
            if (rows := self.rows.get(r.key)) and rows[0].get(metric) is not None
        ]
        means = [np.mean(list(self.final(s, metric).values()) or [math.nan]) for s in variants]
        means = [float(m) for m in means if math.isfinite(m)]
        if not means or not firsts:
            return None
        up = metric.endswith("_acc")
        start, worst = float(np.mean(firsts)), (min(means) if up else max(means))
        if (worst <= start) if up else (worst >= start):
            return None
        return float(f"{start + PROGRESS * (worst - start):.3g}")

    def speedup(
        self, what: str, a: str, b: str, sa: VariantSummary, sb: VariantSummary, metric: str,
        target: float | None,
    ) -> Finding:  # fmt: skip
        """How many times as fast ``sa`` reaches ``target`` on ``metric`` as ``sb``, in epochs
        (median over seeds, seeded paired bootstrap interval)."""
        if target is None:  # the slower one made no progress: nothing to time
            return Finding("speedup", f"{metric.replace('_', ' ')} (no progress)", a, b, (), (), (),
                           math.nan, math.nan, math.nan)  # fmt: skip
        ta, tb = target_times([sa, sb], self.records, self.metrics, metric=metric, target=target)
        ratio, low, high = speedup(ta, tb, "epoch")
        seeds = tuple(int(k) for k, _ in ta.runs if k is not None)
        return Finding(
            "speedup", what, a, b, seeds, tuple(ta.values("epoch").tolist()),
            tuple(tb.values("epoch").tolist()), ratio, low, high, target=target,
        )  # fmt: skip


def adjust(findings: Iterable[Finding]) -> list[Finding]:
    """The findings with Holm-adjusted p-values over the paired ones."""
    findings = list(findings)
    paired = [i for i, f in enumerate(findings) if f.kind == "paired"]
    adjusted = holm([findings[i].p for i in paired])
    for i, p in zip(paired, adjusted, strict=True):
        findings[i] = replace(findings[i], p_holm=p)
    return findings
