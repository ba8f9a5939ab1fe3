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

from actlab.web import LIMITS, PlaygroundSession
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
    assert [r["type"] for r in replies] == ["config", "frame"]


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
        assert len(assets) == 3  # every asset the page names is shipped and served
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
