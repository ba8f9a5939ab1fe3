"""The playground's web server: a Starlette app, one WebSocket (and one session) per page.

The server is a thin shell: ``GET /`` serves the page, ``GET /api/menus`` the menus generated
from the catalogs (:func:`actlab.web.config.menus`), ``/static`` the assets shipped in the
package, and ``/ws`` passes every message to a :class:`~actlab.web.protocol.Channel`. It binds
to loopback unless :func:`check_host` is told that another address was asked for. Needs the
``web`` extra (``pip install "actlab[web]"``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from actlab.errors import ParameterError
from actlab.web.config import menus
from actlab.web.protocol import Channel

__all__ = ["STATIC", "check_host", "create_app", "is_loopback", "serve"]

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'"
)
"""The page may load nothing from the network: only its own assets and its own socket."""
WS_MAX_BYTES = 16 * 2**20
"""uvicorn's frame cap: larger messages than ``LIMITS.max_message_bytes`` still arrive, so they
get an error reply; beyond this one the socket is closed (code 1009)."""

log = logging.getLogger("actlab.web")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool = False) -> None:
    """Refuse a non-loopback ``host`` unless ``allow_remote``; raise :class:`ParameterError`."""
    if not is_loopback(host) and not allow_remote:
        raise ParameterError(
            f"refusing to bind to {host!r}: the playground listens on loopback only "
            "(127.0.0.1); pass --allow-remote to expose it to the network"
        )


def _host_name(scope: Scope) -> str:
    host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
    try:
        return urlsplit("//" + host).hostname or ""
    except ValueError:
        return ""


class _SecurityHeaders:
    """Adds the content-security policy and no-sniff headers to every HTTP response and, unless
    remote access was asked for, refuses requests whose ``Host`` is not a loopback name (a
    page whose DNS name was rebound to 127.0.0.1 sends its own name there)."""

    def __init__(self, app: ASGIApp, *, loopback_only: bool = True) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        web = scope["type"] in ("http", "websocket")
        if web and self.loopback_only and not is_loopback(_host_name(scope)):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await PlainTextResponse("host not allowed", 400)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _same_origin(websocket: WebSocket) -> bool:
    """A page from another site may not open a socket here (browsers send ``Origin``)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser: scripts and tests
    return urlsplit(origin).netloc == websocket.headers.get("host")


async def _index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})


async def _menus(request: Request) -> JSONResponse:
    return JSONResponse(menus())


async def _socket(websocket: WebSocket) -> None:
    if not _same_origin(websocket):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    channel = Channel()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            raw = message.get("bytes", b"") if raw is None else raw
            # Training runs in a worker thread so that other tabs stay responsive.
            replies = await anyio.to_thread.run_sync(channel.handle, raw)
            for reply in replies:
                await websocket.send_text(json.dumps(reply, allow_nan=False))
    except WebSocketDisconnect:
        return


def create_app(*, allow_remote: bool = False) -> Starlette:
    """The playground app (no state shared between sockets: each page has its own session).

    Without ``allow_remote`` it answers only requests addressed to a loopback name.
    """
    return Starlette(
        routes=[
            Route("/", _index),
            Route("/api/menus", _menus),
            WebSocketRoute("/ws", _socket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(_SecurityHeaders, loopback_only=not allow_remote)],
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    allow_remote: bool = False,
    open_browser: bool = False,
) -> None:
    """Run the playground on ``host:port`` until interrupted (checks the host first)."""
    import threading
    import webbrowser

    import torch
    import uvicorn

    check_host(host, allow_remote)
    torch.set_num_threads(1)  # tiny networks: threads cost more than they give
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(
        create_app(allow_remote=allow_remote),
        host=host,
        port=port,
        ws_max_size=WS_MAX_BYTES,
        log_level="warning",
    )
