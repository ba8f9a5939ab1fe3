"""``actlab lessons [NAME]``: the claims of the source texts, each with the study that tests it."""

from __future__ import annotations

import typer

from actlab.cli._app import app
from actlab.cli._common import fail, friendly


def _entry(lesson) -> dict:
    from actlab.study.lessons import SOURCES

    return {
        "name": lesson.name,
        "preset": lesson.preset,
        "claim": lesson.summary,
        "sources": [SOURCES[k] for k in lesson.source],
        "setup": lesson.setup,
        "command": lesson.command,
        "runs": _runs(lesson.study),
    }


def _runs(study) -> str:
    n = len(study.runs())
    if study.tune_lr is None:
        return f"{n} runs"
    return (
        f"{n} tuning runs (first seed), then each variant at its chosen rate over "
        f"{len(study.seeds)} seeds"
    )


@app.command("lessons")
@friendly
def lessons_command(
    name: str | None = typer.Argument(None, help="One lesson (default: list them all)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the lessons: one claim of the source texts each, where it comes from, and the
    command that runs its study; the study's report states the measured verdict."""
    from actlab._registry import closest
    from actlab.study.lessons import LESSONS

    names = list(LESSONS.names())
    if name is not None:
        key = name.removeprefix("lesson-")
        if key not in LESSONS:
            near = closest(key, names)
            hint = f"did you mean: {', '.join(near)}?" if near else "see 'actlab lessons'"
            raise fail(f"unknown lesson {name!r}; {hint}")
        chosen = [LESSONS.get(key)]
    else:
        chosen = list(LESSONS)
    entries = [_entry(lesson) for lesson in chosen]
    if as_json:
        from actlab.cli._outputs import emit

        emit({"lessons": entries} if name is None else entries[0])
        return
    for e in entries:
        typer.echo(f"{e['name']}: {e['claim']}")
        typer.echo(f"  source: {'; '.join(e['sources'])}")
        if name is not None:
            typer.echo(f"  setup: {e['setup']}")
            typer.echo(f"  runs: {e['runs']}")
        typer.echo(f"  run: {e['command']}")
