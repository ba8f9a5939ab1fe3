"""The playground page in a real browser: Debian's Chromium driven by playwright.

Skipped, with the reason, where playwright or Chromium is missing (``apt-get install chromium``;
``ACTLAB_CHROMIUM`` names another binary). With ``ACTLAB_PLAYGROUND_SHOTS=docs/img`` the
screenshot test also writes the documentation's pictures there.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ACTLAB_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytest.importorskip("uvicorn", reason="the playground's web extra is not installed")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set ACTLAB_CHROMIUM)",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from actlab.web.app import WS_MAX_BYTES, create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, ws_max_size=WS_MAX_BYTES, log_level="error"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("the playground server did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    page.errors = []
    page.requests = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    context.close()


def ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.playground && window.playground.frame")


def frame(page) -> dict:
    return page.evaluate("() => window.playground.frame")


def wait_epoch(page, epoch: int) -> None:
    page.wait_for_function(f"() => window.playground.frame.epoch >= {epoch}", timeout=60_000)


def test_play_trains_and_loss_falls(page, server):
    ready(page, server + "/?hidden=4,2&learning_rate=0.03&dataset=circle")
    first = frame(page)
    assert first["epoch"] == 0
    page.click("#play")
    wait_epoch(page, 30)
    page.click("#play")
    page.wait_for_timeout(300)  # a step already asked for may still arrive
    last = frame(page)
    assert last["train_loss"] < 0.7 * first["train_loss"]
    assert int(page.text_content("#epoch")) == last["epoch"]
    assert not page.errors


def test_step_advances_one_epoch(page, server):
    ready(page, server + "/")
    page.click("#step")
    wait_epoch(page, 1)
    assert page.text_content("#epoch") == "000001"


def test_change_activation_and_dataset(page, server):
    ready(page, server + "/")
    page.select_option("#activation", "relu")
    page.wait_for_function("() => window.playground.config.activation === 'relu'")
    page.click("#datasets button[data-name=xor]")
    page.wait_for_function("() => window.playground.config.dataset === 'xor'")
    assert "activation=relu" in page.url and "dataset=xor" in page.url
    page.click("#datasets button[data-name=plane]")
    page.wait_for_function("() => window.playground.config.problem === 'regression'")
    assert page.input_value("#loss") == "squared_error"
    page.click("#add_layer")
    page.wait_for_function("() => window.playground.frame.neurons.length === 3")
    assert page.evaluate("() => window.playground.config.hidden.length") == 3
    assert page.locator("#net .node.unit").count() == 4 + 2 + 4 + 1 and not page.errors


def test_a_url_reproduces_the_initial_weights(browser, page, server):
    ready(page, server + "/?seed=123&hidden=3,2&dataset=spiral&noise=0.1")
    initial = frame(page)["weights"]
    page.click("#play")
    wait_epoch(page, 3)
    page.click("#play")
    assert frame(page)["weights"] != initial
    url = page.url
    page.click("#reset")
    page.wait_for_function("() => window.playground.frame.epoch === 0")
    assert frame(page)["weights"] == initial
    other = browser.new_page()
    try:
        ready(other, url)
        assert frame(other)["weights"] == initial
        assert other.evaluate("() => window.playground.points") == page.evaluate(
            "() => window.playground.points"
        )
    finally:
        other.close()


@pytest.mark.parametrize(
    "message",
    [
        "{not json",
        json.dumps({"type": "config", "config": {"activation": "nope"}}),
        json.dumps({"type": "config", "config": {"hidden": [4] * 1000}}),
        json.dumps({"type": "config", "config": {"learning_rate": -1}}),
        '{"type": "step", "epochs": NaN}',
        "x" * 10_000_000,
    ],
    ids=["not-json", "unknown-activation", "1000-layers", "negative-rate", "nan", "10MB"],
)
def test_a_malformed_message_gets_an_error_and_the_session_lives_on(page, server, message):
    ready(page, server + "/?hidden=2")
    page.click("#step")
    wait_epoch(page, 1)
    page.evaluate("(m) => window.playground.socket.send(m)", message)
    page.wait_for_function("() => document.querySelector('#status').dataset.error")
    assert page.evaluate("() => window.playground.socket.readyState") == 1  # still open
    page.click("#step")
    wait_epoch(page, 2)
    assert frame(page)["epoch"] == 2
    assert page.evaluate("() => window.playground.config.hidden") == [2]


def test_the_page_loads_nothing_from_the_network(page, server):
    ready(page, server + "/")
    page.click("#step")
    wait_epoch(page, 1)
    outside = [u for u in page.requests if not u.startswith((server, "data:", "blob:"))]
    assert not outside and not page.errors


def test_click_a_weight_to_edit_it(page, server):
    ready(page, server + "/?hidden=2")
    page.click("#links path.hit >> nth=0", force=True)
    page.fill("#weight_edit", "1.5")
    page.press("#weight_edit", "Enter")
    page.wait_for_function("() => window.playground.frame.weights[0].w[0][0] === 1.5")
    page.click("#net .hidden-layer .node.unit >> nth=1")  # a unit: its bias
    page.fill("#weight_edit", "-0.75")
    page.press("#weight_edit", "Enter")
    page.wait_for_function("() => window.playground.frame.weights[0].b[1] === -0.75")


def test_health_marks_a_dead_unit(page, server):
    ready(page, server + "/?hidden=3&activation=relu")
    for source in (0, 1):
        page.evaluate(
            "(s) => window.playground.socket.send(JSON.stringify("
            "{type: 'set_weight', layer: 0, unit: 2, source: s, value: 0}))",
            source,
        )
    page.evaluate(
        "() => window.playground.socket.send(JSON.stringify("
        "{type: 'set_weight', layer: 0, unit: 2, source: null, value: -1}))"
    )
    page.wait_for_selector("#net .hidden-layer .node.dead")
    assert page.locator("#net .node.dead").count() == 1
    page.click("#step")
    page.wait_for_selector("#health_table tr >> nth=2")
    assert page.locator("#health_table td").nth(0).text_content() == "layer1"


def test_race_side_by_side(page, server):
    ready(page, server + "/?dataset=xor&hidden=3")
    rows = page.locator(".variant")
    rows.nth(0).locator("select").nth(0).select_option("optimizer")
    rows.nth(0).locator("select").nth(1).select_option("adam")
    rows.nth(1).locator("select").nth(0).select_option("learning_rate")
    rows.nth(1).locator("input").fill("0.3")
    page.click("#race_start")
    page.wait_for_function("() => window.playground.race && window.playground.race.racers.length")
    page.click("#step")
    page.wait_for_function("() => window.playground.race.racers.every((r) => r.epoch === 1)")
    labels = page.locator(".racer .rlabel").all_text_contents()
    assert labels == ["#1 (this network)", "#2 optimizer adam", "#3 learning rate 0.3"]
    page.click("#race_end")
    page.wait_for_function("() => !window.playground.race")
    assert page.locator(".racer").count() == 0


def test_anatomy_of_a_layer(page, server):
    ready(page, server + "/?hidden=4,2&activation=silu")
    page.click("h3.layer-name >> nth=1")
    page.wait_for_selector("#anatomy:not([hidden])")
    assert "silu" in page.text_content("#anatomy_layer")
    page.click("#anatomy_close")
    page.wait_for_selector("#anatomy", state="hidden")


def test_convnetjs_view(page, server):
    ready(page, server + "/?hidden=4,2")
    page.click(".layer-ctl .view >> nth=1")
    page.wait_for_selector("#transform:not([hidden])")
    page.select_option("#transform_u", value="1")
    page.wait_for_function("() => document.querySelector('#transform_u').value === '1'")
    page.click("#transform_close")
    page.wait_for_selector("#transform", state="hidden")
    assert not page.errors


def test_export_then_load_a_network(page, server, tmp_path):
    ready(page, server + "/?hidden=3&seed=5")
    page.click("#step")
    wait_epoch(page, 1)
    with page.expect_download() as download:
        page.click("#export")
    path = tmp_path / "net.json"
    download.value.save_as(path)
    document = json.loads(path.read_text())
    assert document["epoch"] == 1 and document["config"]["seed"] == 5
    page.click("#reset")
    page.wait_for_function("() => window.playground.frame.epoch === 0")
    page.set_input_files("#load", str(path))
    page.wait_for_function("() => window.playground.frame.epoch === 1")


def test_cli_refuses_to_bind_beyond_loopback_without_the_flag():
    run = subprocess.run(
        [sys.executable, "-m", "actlab", "playground", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "--allow-remote" in run.stderr


def _race(page) -> None:
    rows = page.locator(".variant")
    for i, (field, value) in enumerate(
        [("optimizer", "adam"), ("activation", "relu"), ("learning_rate", "0.3")]
    ):
        rows.nth(i).locator("select").nth(0).select_option(field)
        if field == "learning_rate":
            rows.nth(i).locator("input").fill(value)
        else:
            rows.nth(i).locator("select").nth(1).select_option(value)
    page.click("#race_start")
    page.wait_for_function("() => window.playground.race")


SETUP = {
    "playground_race": _race,
    "playground_anatomy": lambda page: page.click("h3.layer-name >> nth=0"),
    "playground_convnetjs": lambda page: page.click(".layer-ctl .view >> nth=1"),
}
SHOTS = {
    "playground_main": "/?dataset=spiral&noise=0.1&hidden=8,8,5&features=x1,x2,sin_x1,sin_x2"
    "&activation=tanh&learning_rate=0.03&seed=4#test=1&discretize=0",
    "playground_xor_relu": "/?dataset=xor&hidden=6,4&activation=relu&learning_rate=0.1&seed=1",
    "playground_race": "/?dataset=xor&hidden=4,3&seed=3",
    "playground_anatomy": "/?dataset=circle&hidden=6,4&activation=tanh&learning_rate=0.1&seed=3",
    "playground_convnetjs": "/?dataset=circle&hidden=6,2&activation=tanh&learning_rate=0.1&seed=3",
    "playground_regression": "/?dataset=multi_gauss&hidden=8,6&activation=silu"
    "&optimizer=adam&learning_rate=0.01&seed=2",
}


def test_screenshots(page, server, tmp_path):
    """The documentation's pictures, taken by this same setup (see the module docstring)."""
    wanted = os.environ.get("ACTLAB_PLAYGROUND_SHOTS")
    out = Path(wanted or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shots = SHOTS if wanted else dict(list(SHOTS.items())[:1])  # in CI: one, to keep it short
    for name, query in shots.items():
        ready(page, server + query)
        if name in SETUP:
            SETUP[name](page)
        page.click("#play")
        wait_epoch(page, 100)
        page.click("#play")
        page.wait_for_timeout(300)
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
