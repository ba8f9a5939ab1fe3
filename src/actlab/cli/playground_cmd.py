"""``actlab playground``: the interactive training page, served on loopback.

The command only checks its flags and calls :func:`actlab.web.app.serve`; the web stack (and
torch) are imported inside it, so the rest of the CLI starts without them.
"""

from __future__ import annotations

import typer

from actlab.cli._app import app
from actlab.cli._common import fail, friendly


@app.command("playground")
@friendly
def playground_command(
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port to listen on."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; beyond loopback needs --allow-remote."
    ),
    allow_remote: bool = typer.Option(
        False,
        "--allow-remote",
        help="Allow a non-loopback --host (anyone who reaches it can drive the server).",
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
) -> None:
    """Train small networks live in the browser, TensorFlow-Playground style, with every
    catalog activation, optimizer, initializer and loss."""
    try:
        from actlab.web.app import check_host, is_loopback, serve
    except ImportError as e:
        raise fail(f"the playground needs the web extra: pip install 'actlab[web]' ({e})") from None
    check_host(host, allow_remote)
    if not is_loopback(host):
        typer.echo(
            f"warning: listening on {host}, beyond this machine: anyone who can reach it can "
            "use this server",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"actlab playground on http://{shown}:{port}/ (Ctrl+C stops it)")
    serve(host, port, allow_remote=allow_remote, open_browser=open_browser)
