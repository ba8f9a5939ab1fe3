"""The playground's protocol, web app and CLI command, without a browser."""

from __future__ import annotations

import base64
import json
import logging
import re
import warnings

import pytest
import torch
from typer.testing import CliRunner

from actlab.errors import ParameterError
from actlab.web import LIMITS, Config, PlaygroundSession
from actlab.web.protocol import FIELDS, Channel

pytest.importorskip("starlette", reason="the playground's web extra is not installed")
pytest.importorskip("httpx", reason="starlette's test client needs httpx")

with warnings.catch_warnings():  # newer starlette asks for httpx2 instead, and still takes httpx
    warnings.filterwarnings("ignore", message=".*httpx2")
    from starlette.testclient import TestClient

from actlab.cli import app as cli
from actlab.web.app import check_host, create_app, is_loopback

LOCAL = "http://127.0.0.1:8000"
WS = "ws://127.0.0.1:8000/ws"


def state(channel: Channel) -> tuple:
    s = channel.session
    return s.config, s.epoch, {k: v.clone() for k, v in s.model.state_dict().items()}


def unchanged(before: tuple, after: tuple) -> bool:
    return before[:2] == after[:2] and all(
        torch.equal(before[2][k], after[2][k]) for k in before[2]
    )


BAD = {
    "not json": "{type: step",
    "not an object": "[1, 2]",
    "binary": b"\x00\x01",
    "no type": '{"epochs": 1}',
    "unknown type": '{"type": "stpe"}',
    "unknown field": '{"type": "step", "epochs": 1, "rm": "-rf"}',
    "NaN": '{"type": "step", "epochs": NaN}',
    "Infinity weight": '{"type": "set_weight", "layer": 0, "unit": 0, "source": 0, '
    '"value": Infinity}',
    "unknown activation": '{"type": "config", "config": {"activation": "relux"}}',
    "1000 layers": json.dumps({"type": "config", "config": {"hidden": [4] * 1000}}),
    "negative rate": '{"type": "config", "config": {"learning_rate": -1}}',
    "string rate": '{"type": "config", "config": {"learning_rate": "fast"}}',
    "config not object": '{"type": "config", "config": 3}',
    "bad query": '{"type": "config", "query": "hidden=1,x"}',
    "many epochs": '{"type": "step", "epochs": 100000}',
    "bad weight index": '{"type": "set_weight", "layer": 9, "unit": 0, "source": 0, "value": 1}',
    "bad network": '{"type": "load", "network": {"state": 1}}',
    "bad anatomy layer": '{"type": "anatomy", "layer": 5}',
    "bad view units": '{"type": "transform", "layer": 0, "units": [0, 9]}',
    "bad race": '{"type": "race", "variants": [{"hidden": [1]}]}',
    "bad curve point": '{"type": "curve", "add": [1.0, 99]}',
    "bad curve layer": '{"type": "curve", "layer": 4, "add": [1.0, 1.0]}',
    "curve point not a pair": '{"type": "curve", "add": [1.0]}',
    "deep nesting": '{"type": "config", "config": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "10 MB": json.dumps({"type": "config", "config": {"seed": 1, "pad": "x" * 10_000_000}}),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_messages_get_one_error_and_change_nothing(name, caplog):
    channel = Channel(PlaygroundSession({"hidden": [3]}))
    channel.handle('{"type": "step", "epochs": 2}')
    before = state(channel)
    with caplog.at_level(logging.WARNING, logger="actlab.web"):
        replies = channel.handle(BAD[name])
    assert [r["type"] for r in replies] == ["error"]
    assert replies[0]["message"] and "\n" not in replies[0]["message"]
    assert "internal error" not in replies[0]["message"]
    assert len(caplog.records) == 1 and "Traceback" not in caplog.text
    assert unchanged(before, state(channel))
    assert channel.handle('{"type": "step"}')[0]["epoch"] == 3  # and it lives on


def test_a_repeated_problem_is_logged_once(caplog):
    channel = Channel()
    with caplog.at_level(logging.WARNING, logger="actlab.web"):
        for _ in range(50):
            assert channel.handle('{"type": "stpe"}')[0]["type"] == "error"
        channel.handle("[]")
    assert len(caplog.records) == 2


def test_the_size_limit_is_declared_once():
    channel = Channel()
    pad = LIMITS.max_message_bytes
    reply = channel.handle(json.dumps({"type": "frame"}) + " " * pad)[0]
    assert reply["type"] == "error" and str(LIMITS.max_message_bytes) in reply["message"]


def test_every_message_type_answers():
    channel = Channel(PlaygroundSession({"hidden": [2]}))
    kinds = {
        "config": {"config": {"dataset": "xor"}},
        "step": {"epochs": 2},
        "frame": {},
        "reset": {},
        "regenerate": {"seed": 5},
        "anatomy": {"layer": 0},
        "transform": {"layer": 0, "units": [1, 0]},
        "race": {"variants": [{"optimizer": "adam"}]},
        "curve": {"layer": 0, "add": [1.0, -0.5]},
        "set_weight": {"layer": 0, "unit": 1, "source": None, "value": 0.25},
        "export": {},
    }
    assert set(kinds) | {"load"} == set(FIELDS)
    for kind, fields in kinds.items():
        replies = channel.handle(json.dumps({"type": kind, **fields}))
        assert "error" not in [r["type"] for r in replies], replies
    assert channel.session.config.seed == 5
    assert channel.session.model[0].bias[1] == 0.25
    network = channel.handle('{"type": "export"}')[0]["network"]
    replies = channel.handle(json.dumps({"type": "load", "network": network}))
    assert [r["type"] for r in replies] == ["config", "frame", "curve"]  # the 1-D demo stays


def test_frame_rasters():
    channel = Channel(PlaygroundSession({"hidden": [3, 2], "features": ["x1", "x2", "x1^2"]}))
    (frame,) = channel.handle('{"type": "step"}')
    g, t = LIMITS.grid, LIMITS.thumb
    assert len(base64.b64decode(frame["output"])) == g * g
    assert [len(base64.b64decode(f)) for f in frame["features"]] == [t * t] * 3
    assert [len(layer) for layer in frame["neurons"]] == [3, 2]
    x1 = base64.b64decode(frame["features"][0])
    row = list(x1[:t])  # x1 runs from -extent (left) towards +extent along a row
    assert row[0] == 0 and row == sorted(row) and row[-1] > 250
    json.dumps(frame, allow_nan=False)


def test_query_message_sets_the_whole_configuration():
    query = PlaygroundSession({"dataset": "gauss", "seed": 9, "hidden": []}).config.to_query()
    channel = Channel()
    config, frame = channel.handle(json.dumps({"type": "config", "query": query}))
    assert config["query"] == query and config["config"]["hidden"] == []
    assert len(config["points"]["x_train"]) == 250 and frame["neurons"] == []


def test_websocket_round_trip_and_independent_sessions():
    with TestClient(create_app(), base_url=LOCAL) as client:
        assert client.get("/").status_code == 200
        page = client.get("/")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        menus = client.get("/api/menus").json()
        assert "tanh" in [a["name"] for a in menus["activations"]]
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
        assert len(assets) == 5  # every asset the page names is shipped and served
        for asset in assets:
            assert client.get(asset).status_code == 200
        with client.websocket_connect(WS) as a, client.websocket_connect(WS) as b:
            a.send_text('{"type": "step", "epochs": 3}')
            assert a.receive_json()["epoch"] == 3
            b.send_text('{"type": "frame"}')
            assert b.receive_json()["epoch"] == 0  # another tab, another session
            a.send_text('{"type": "config", "config": {"hidden": [1000]}}')
            assert a.receive_json()["type"] == "error"
            a.send_bytes(b"\xff")
            assert a.receive_json()["type"] == "error"
            a.send_text('{"type": "step"}')
            assert a.receive_json()["epoch"] == 4


def test_requests_for_another_host_name_are_refused():
    # A page whose DNS name was rebound to 127.0.0.1 still sends its own name as Host.
    from starlette.websockets import WebSocketDisconnect

    with TestClient(create_app(), base_url="http://rebound.example:8000") as client:
        assert client.get("/").status_code == 400
        rebound = "ws://rebound.example:8000/ws"
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(rebound) as ws:
            ws.receive_json()
    with TestClient(create_app(allow_remote=True), base_url="http://192.168.1.5") as client:
        assert client.get("/").status_code == 200


def test_websocket_from_another_site_is_refused():
    from starlette.websockets import WebSocketDisconnect

    with (
        TestClient(create_app(), base_url=LOCAL) as client,
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback(host)
    check_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_other_hosts_need_the_flag(host):
    assert not is_loopback(host)
    with pytest.raises(Exception, match="--allow-remote"):
        check_host(host)
    check_host(host, allow_remote=True)


def test_cli_refuses_beyond_loopback_without_the_flag(monkeypatch):
    import actlab.web.app as web_app

    served = []
    monkeypatch.setattr(web_app, "serve", lambda *a, **k: served.append((a, k)))
    runner = CliRunner()
    result = runner.invoke(cli, ["playground", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--allow-remote" in result.output and not served
    result = runner.invoke(
        cli, ["playground", "--host", "0.0.0.0", "--allow-remote", "--port", "9"]
    )
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and served[0][0] == ("0.0.0.0", 9)
    result = runner.invoke(cli, ["playground"])
    assert result.exit_code == 0 and "warning" not in result.output
    assert served[1][0] == ("127.0.0.1", 8000)


def test_multiclass_frames_carry_the_class_map():
    channel = Channel(PlaygroundSession({"dataset": "blobs", "n_classes": 4, "hidden": [4]}))
    config, frame = channel.handle(json.dumps({"type": "config", "config": {"noise": 0.1}}))
    assert "n_classes=4" in config["query"] and config["config"]["loss"] == "cross_entropy"
    assert sorted(set(config["points"]["y_train"])) == [0, 1, 2, 3]
    (frame,) = channel.handle('{"type": "step", "epochs": 5}')
    classes = base64.b64decode(frame["classes"])
    assert len(classes) == LIMITS.grid**2 and set(classes) <= {0, 1, 2, 3} and len(set(classes)) > 1
    assert 0 <= frame["train_accuracy"] <= 1
    replies = channel.handle(json.dumps({"type": "race", "variants": [{"optimizer": "adam"}]}))
    assert len(base64.b64decode(replies[-1]["racers"][1]["classes"])) == LIMITS.grid**2
    (frame,) = channel.handle('{"type": "config", "config": {"dataset": "xor"}}')[1:]
    assert frame["classes"] is None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_open_starts_a_browser_on_the_loopback_url(tmp_path):
    # A fake browser (webbrowser honours $BROWSER) records the URL it is asked to open.
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    record = tmp_path / "opened.txt"
    fake = tmp_path / "browser.sh"
    fake.write_text(
        f'#!/bin/sh\nprintf "%s" "$1" > "{record}.part" && mv "{record}.part" "{record}"\n'
    )
    fake.chmod(0o755)
    port = _free_port()
    env = {**os.environ, "BROWSER": str(fake), "DISPLAY": ""}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "actlab", "playground", "--port", str(port), "--open"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not record.exists():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the browser was not opened within 60 s"
            time.sleep(0.1)
        url = record.read_text()
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=10) as page:  # the server answers there
            assert page.status == 200 and b"actlab" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_open_is_called_with_the_url_it_serves(monkeypatch):
    import threading
    import webbrowser

    import uvicorn

    opened, ran = [], []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    monkeypatch.setattr(threading, "Timer", lambda delay, fn, args: _Now(fn, args))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    runner = CliRunner()
    result = runner.invoke(cli, ["playground", "--port", "8123", "--open"])
    assert result.exit_code == 0, result.output
    assert opened == ["http://127.0.0.1:8123/"] and ran[0]["host"] == "127.0.0.1"
    result = runner.invoke(cli, ["playground", "--host", "::1", "--port", "8124", "--open"])
    assert result.exit_code == 0 and opened[-1] == "http://[::1]:8124/"
    result = runner.invoke(cli, ["playground", "--port", "8125"])
    assert result.exit_code == 0 and len(opened) == 2  # no --open: no browser


class _Now:
    """A ``threading.Timer`` stand-in that runs at ``start()`` without waiting."""

    def __init__(self, fn, args) -> None:
        self.fn, self.args = fn, args

    def start(self) -> None:
        self.fn(*self.args)


def test_the_1d_regression_demo_over_the_protocol():
    channel = Channel(PlaygroundSession({"hidden": [4, 3], "optimizer": "adam", "seed": 1}))
    frame, curve = channel.handle('{"type": "curve", "layer": 1}')
    assert frame["type"] == "frame" and curve["type"] == "curve" and curve["layer"] == 1
    start = len(curve["points"])
    assert len(curve["units"]) == 3 and len(curve["fit"]) == len(curve["x"])
    *_, curve = channel.handle('{"type": "curve", "add": [3.0, 2.5]}')
    assert curve["points"][-1] == [3.0, 2.5] and len(curve["points"]) == start + 1
    # A bad point changes nothing, the demo stays open.
    error = channel.handle('{"type": "curve", "layer": 0, "add": [3.0, 1e9]}')
    assert [r["type"] for r in error] == ["error"] and "|y| <= 3" in error[0]["message"]
    assert channel.curve.layer == 1 and len(channel.curve.points) == start + 1
    # Every step trains it too; the fit comes near the new point.
    for _ in range(6):
        frame, curve = channel.handle('{"type": "step", "epochs": 10}')
    assert frame["epoch"] == curve["epoch"] == 60
    near = min(range(len(curve["x"])), key=lambda i: abs(curve["x"][i] - 3.0))
    assert abs(curve["fit"][near] - 2.5) < 0.3 and curve["loss"] < 0.05
    # A new configuration rebuilds the network and keeps the points; reset starts over.
    *_, curve = channel.handle('{"type": "config", "config": {"activation": "relu"}}')
    assert curve["epoch"] == 0 and len(curve["points"]) == start + 1
    channel.handle('{"type": "step", "epochs": 2}')
    assert channel.handle('{"type": "reset"}')[-1]["epoch"] == 0
    *_, closed = channel.handle('{"type": "curve", "layer": null}')
    assert closed == {"type": "curve", "layer": None} and channel.curve is None
    assert [r["type"] for r in channel.handle('{"type": "step"}')] == ["frame"]


def test_the_1d_demo_without_hidden_layers_and_its_point_limit():
    from actlab.web.curve import Curve

    curve = Curve(Config.from_dict({"hidden": []}), points=[])
    assert curve.view()["units"] == [] and curve.view()["loss"] is None
    assert curve.step(1)["epoch"] == 0  # nothing to fit
    for i in range(LIMITS.max_curve_points):
        curve.add(0.01 * i, 0.0)
    with pytest.raises(ParameterError, match=f"at most {LIMITS.max_curve_points} points"):
        curve.add(1.0, 1.0)
