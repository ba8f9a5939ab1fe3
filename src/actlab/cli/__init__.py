"""The ``actlab`` command line: thin typer commands over library calls, one file per command."""

from __future__ import annotations

from actlab.cli._app import app, main

__all__ = ["app", "main"]
