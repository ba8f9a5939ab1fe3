"""What a running study shows: its progress and a live table of the unit in training (under the
bar in a terminal), or plain lines when the output is a file or a pipe (no animation, no colour).

The table is fed by ``run_study(on_epoch=...)`` in the training process (:class:`LiveRows`) and
by ``Store.live()`` in another one (``actlab watch``); both give one dict per run: ``run`` (key),
``status``, ``epoch``, ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

ROWS = 12
"""Most runs a live table shows: the best and the worst half of that many when a unit is larger."""


def _score(row: Mapping[str, Any]) -> float:
    """Higher is better: test accuracy, else minus the test loss; a missing value ranks last."""
    acc, loss = row.get("test_acc"), row.get("test_loss")
    if acc is not None and math.isfinite(acc):
        return acc
    if loss is not None and math.isfinite(loss):
        return -loss
    return -math.inf


def shown(rows: Sequence[Mapping[str, Any]], limit: int = ROWS) -> tuple[list, int]:
    """The rows a table of at most ``limit`` rows shows, and how many it leaves out: all of them
    in order, or the best ``limit // 2`` and the worst ``limit - limit // 2`` (best first) with
    the rest left out."""
    rows = list(rows)
    if len(rows) <= limit:
        return rows, 0
    ranked = sorted(rows, key=_score, reverse=True)
    best = limit // 2
    return ranked[:best] + ranked[len(ranked) - (limit - best) :], len(rows) - limit


def _number(value: Any, percent: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.4g}"


def table(
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    *,
    title: str | None = None,
    limit: int = ROWS,
) -> Table:
    """The runs' latest metrics as a rich table of at most ``limit`` rows (see :func:`shown`);
    ``labels`` maps run keys to labels (a key without one shows itself)."""
    from rich.table import Table

    accuracy = any(r.get("test_acc") is not None for r in rows) or not rows
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("run", overflow="fold")
    t.add_column("epoch", justify="right")
    t.add_column("train loss", justify="right")
    t.add_column("test acc %" if accuracy else "test loss", justify="right")
    t.add_column("diverged")
    kept, left_out = shown(rows, limit)
    for i, r in enumerate(kept):
        if left_out and i == limit // 2:
            t.add_row(f"... {left_out} more", "", "", "", "")
        test = r.get("test_acc") if accuracy else r.get("test_loss")
        t.add_row(
            labels.get(r["run"], r["run"]),
            "-" if r.get("epoch") is None else str(r["epoch"]),
            _number(r.get("train_loss")),
            _number(test, percent=accuracy),
            "yes" if r.get("status") == "diverged" else "",
        )
    return t


class LiveRows:
    """The unit in training, as ``run_study(on_epoch=rows.update)`` last reported it; rich
    renders the table again at each refresh of the progress bar it sits under."""

    def __init__(self, labels: Mapping[str, str], limit: int = ROWS) -> None:
        self.labels, self.limit = dict(labels), limit
        self.rows: list[dict[str, Any]] = []

    def update(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = [dict(r) for r in rows]

    def __rich__(self) -> RenderableType:
        from rich.text import Text

        if not self.rows:
            return Text("")
        return table(self.rows, self.labels, title="unit in training", limit=self.limit)


@contextmanager
def progress(
    console: Console,
    columns: Sequence[Any],
    description: str,
    total: int,
    completed: int = 0,
    live: LiveRows | None = None,
) -> Iterator[Any]:
    """Yield ``advance(n)`` for a study's stored member-epochs: in a terminal a rich progress
    bar with ``live`` 's table under it; otherwise a plain line at each further tenth done."""
    if not console.is_terminal:
        yield _plain(console, description, total, completed)
        return
    from rich.progress import Progress

    class _Bar(Progress):
        def get_renderables(self) -> Iterator[RenderableType]:
            yield self.make_tasks_table(self.tasks)
            if live is not None:
                yield live

    with _Bar(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total, completed=completed)
        yield lambda n: bar.advance(task, n)
        if live is not None:  # the study is over: no unit is in training
            live.update([])
            bar.refresh()


def _plain(console: Console, description: str, total: int, completed: int) -> Any:
    state = {"done": completed, "tenth": _tenth(completed, total)}

    def advance(n: int) -> None:
        state["done"] += n
        tenth = _tenth(state["done"], total)
        if tenth > state["tenth"]:
            state["tenth"] = tenth
            done = state["done"]
            console.print(
                f"{description}: {done}/{total} member-epochs stored ({100 * done // total}%)",
                markup=False,
                highlight=False,
            )

    return advance


def _tenth(done: int, total: int) -> int:
    return 10 if total <= 0 else 10 * done // total
