"""The playground page in a real browser: Debian's Chromium driven by playwright.

Skipped, with the reason, where playwright or Chromium is missing (``apt-get install chromium``;
``ACTLAB_CHROMIUM`` names another binary). With ``ACTLAB_PLAYGROUND_SHOTS=docs/img`` the
screenshot test also writes the documentation's pictures there (``ACTLAB_PLAYGROUND_ONLY`` names
a comma-separated subset).
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


def test_health_says_when_steps_are_below_float32_resolution(page, server):
    ready(page, server + "/?hidden=2&learning_rate=1e-9")
    page.click("#step")
    page.wait_for_selector("#health_table td.lost")
    cells = page.locator("#health_table td.lost").all_text_contents()
    assert len(cells) == 2 and all("below float32 resolution" in c for c in cells)
    assert all(c.startswith("< ") for c in cells) and not page.errors  # not "0.0"


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
    page.click("#step")
    page.wait_for_function("() => window.playground.race.racers.every((r) => r.epoch === 2)")
    # The loss curves overlaid: one line per racer, each point the racer's reported loss.
    curves = page.evaluate("() => window.playground.raceCurves")
    racers = page.evaluate("() => window.playground.race.racers")
    assert [[e for e, _ in c] for c in curves] == [[0, 1, 2]] * 3
    assert [c[-1][1] for c in curves] == [r["train_loss"] for r in racers]
    drawn = page.evaluate(
        """() => {
          const c = document.getElementById('race_chart'), ctx = c.getContext('2d');
          const d = ctx.getImageData(0, 0, c.width, c.height).data, seen = new Set();
          for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] === 255) seen.add(`#${[d[i], d[i + 1], d[i + 2]]
              .map((v) => v.toString(16).padStart(2, '0')).join('')}`);
          return [...seen];
        }"""
    )
    assert {"#222222", "#d62728", "#1f77b4"} <= set(drawn), drawn
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


def test_1d_regression_click_adds_a_point_that_the_network_fits(page, server):
    ready(page, server + "/?hidden=8,8&activation=tanh&optimizer=adam&learning_rate=0.03&seed=1")
    page.click("#curve_open")
    page.wait_for_selector("#curve:not([hidden])")
    page.wait_for_function("() => window.playground.curve")
    start = page.evaluate("() => window.playground.curve.points.length")
    plot = page.locator("#curve_plot")
    box = plot.bounding_box()
    # x = 3, y = 2.4: three quarters across ([-6, 6]), a tenth from the top ([-3, 3])
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.1 * box["height"])
    page.wait_for_function(f"() => window.playground.curve.points.length === {start + 1}")
    x, y = page.evaluate("() => window.playground.curve.points.at(-1)")
    assert x == pytest.approx(3.0, abs=0.1) and y == pytest.approx(2.4, abs=0.1)
    assert str(start + 1) in page.text_content("#curve_info")
    page.click("#play")
    page.wait_for_function("() => window.playground.curve.epoch >= 40", timeout=60_000)
    page.click("#play")
    page.wait_for_timeout(300)
    curve = page.evaluate("() => window.playground.curve")
    near = min(range(len(curve["x"])), key=lambda i: abs(curve["x"][i] - x))
    assert abs(curve["fit"][near] - y) < 0.3  # the fit passes near the clicked point
    assert len(curve["units"]) == 8  # the units of layer 1, drawn under the fit
    page.select_option("#curve_layer", index=1)
    page.wait_for_function("() => window.playground.curve.layer === 1")
    page.click("#curve_close")
    page.wait_for_selector("#curve", state="hidden")
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


def test_a_race_link_opens_the_same_race_running(browser, page, server):
    ready(page, server + "/?dataset=xor&hidden=3&seed=2")
    rows = page.locator(".variant")
    rows.nth(0).locator("select").nth(0).select_option("optimizer")
    rows.nth(0).locator("select").nth(1).select_option("adam")
    rows.nth(1).locator("select").nth(0).select_option("learning_rate")
    rows.nth(1).locator("input").fill("0.3")
    page.check("#show_test")
    page.check("#discretize")
    page.click("#race_start")
    page.wait_for_function("() => window.playground.race")
    page.wait_for_function("() => location.hash.includes('race=')")
    url = page.url
    assert "race=optimizer:adam" in url and "race=learning_rate:0.3" in url
    assert "test=1" in url and "discretize=1" in url
    changes = page.evaluate("() => window.playground.race.racers.map((r) => r.changes)")
    other = browser.new_page()
    try:
        ready(other, url + "&play=1")  # the same link, asking to start training at once
        racing = "window.playground.race && window.playground.race.racers"
        other.wait_for_function(f"() => {racing} && {racing}.every((r) => r.epoch >= 3)")
        assert (
            other.evaluate("() => window.playground.race.racers.map((r) => r.changes)") == changes
        )
        assert other.is_checked("#show_test") and other.is_checked("#discretize")
        assert other.evaluate("() => window.playground.playing") is True
        assert other.locator(".racer .rlabel").all_text_contents() == [
            "#1 (this network)",
            "#2 optimizer adam",
            "#3 learning rate 0.3",
        ]
        # the race panel shows the link's variants, so "Restart race" runs the same race
        assert other.input_value(".variant >> nth=0 >> select >> nth=1") == "adam"
        assert other.input_value(".variant >> nth=1 >> input") == "0.3"
    finally:
        other.close()
    page.click("#race_end")
    page.wait_for_function("() => !location.hash.includes('race=')")


def test_a_classroom_link_hides_the_chosen_controls(page, server):
    ready(
        page, server + "/?dataset=circle&hidden=3,2#hide=lr,activation,dataset,layers,race,features"
    )
    for selector in (
        "#learning_rate",
        "#activation",
        "#datasets",
        "#race",
        "#add_layer",
        ".layer-ctl .plus >> nth=0",
        "#net .node.off >> nth=0",
    ):
        assert page.locator(selector).is_hidden(), selector
    for selector in ("#optimizer", "#noise", "#play", "#heatmap", ".layer-ctl .view >> nth=0"):
        assert page.locator(selector).is_visible(), selector
    page.click("#net .col.features .node.on >> nth=0")  # features are locked: nothing changes
    page.click("#step")
    wait_epoch(page, 1)
    assert page.evaluate("() => window.playground.config.features") == ["x1", "x2"]
    assert page.url.endswith("hide=learning_rate,activation,dataset,layers,race,features")
    page.select_option("#optimizer", "adam")  # rebuilt network: still hidden
    page.wait_for_function("() => window.playground.config.optimizer === 'adam'")
    assert page.locator(".layer-ctl .minus >> nth=1").is_hidden()
    assert not page.errors
    ready(page, server + "/#hide=lr,nonsense")
    assert "unknown control(s) nonsense" in page.text_content("#status")
    assert page.locator("#learning_rate").is_hidden()


def hue_families(png: Path, share: float = 0.1) -> list[float]:
    """Mean hues (degrees) of the colour families covering at least ``share`` of the picture.

    Pixels with little colour (the grey of "no preference", white and black strokes) are left
    out; the rest are binned by hue in 10-degree bins, and a family is a run of neighbouring
    bins that are each above 0.5 % of the picture (hue is circular: the last bin touches the
    first)."""
    import numpy as np
    from PIL import Image

    hsv = np.asarray(Image.open(png).convert("RGB").convert("HSV")).reshape(-1, 3).astype(float)
    coloured = hsv[(hsv[:, 1] > 80) & (hsv[:, 2] > 60), 0] * 360 / 256
    counts = np.histogram(coloured, bins=36, range=(0, 360))[0]
    busy = counts > 0.005 * len(hsv)
    if busy.all():
        return [0.0]
    start = int(np.argmin(busy))  # a quiet bin: runs never wrap past it
    families, run = [], []
    for i in [(start + j) % 36 for j in range(37)]:
        if busy[i]:
            run.append(i)
        elif run:
            size = counts[run].sum()
            if size >= share * len(hsv):
                families.append(float(np.average([10 * b + 5 for b in run], weights=counts[run])))
            run = []
    return families


def test_multiclass_heatmap_shows_one_hue_per_class(page, server, tmp_path):
    ready(
        page,
        server + "/?dataset=blobs&n_classes=3&noise=0.1&hidden=6&optimizer=adam"
        "&learning_rate=0.03&seed=1",
    )
    assert page.is_visible("#n_classes_box") and page.input_value("#loss") == "cross_entropy"
    assert page.text_content("#legend_high") == "class 2"
    page.click("#play")
    wait_epoch(page, 15)
    page.click("#play")
    page.wait_for_timeout(300)
    assert frame(page)["train_accuracy"] > 0.9
    assert page.text_content("#train_accuracy").endswith("%")
    path = tmp_path / "heatmap.png"
    page.locator("#heatmap").screenshot(path=str(path))
    hues = hue_families(path)
    # orange (about 30 degrees), blue (about 200) and green (about 120), each a tenth or more
    assert len(hues) >= 3, hues
    assert min(abs(h - 120) for h in hues) < 20 and min(abs(h - 205) for h in hues) < 20
    # The same check on a two-class set finds two families: the check can fail.
    ready(page, server + "/?dataset=gauss&hidden=2&learning_rate=0.1&seed=1")
    page.click("#play")
    wait_epoch(page, 5)
    page.click("#play")
    page.wait_for_timeout(300)
    page.locator("#heatmap").screenshot(path=str(path))
    assert len(hue_families(path)) == 2 and not page.errors
    assert page.is_hidden("#n_classes_box")


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


def _curve(page) -> None:
    page.click("#curve_open")
    page.wait_for_function("() => window.playground.curve")
    box = page.locator("#curve_plot").bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.15 * box["height"])
    page.wait_for_function("() => window.playground.curve.points.length === 8")


SETUP = {
    "playground_curve": _curve,
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
    "playground_curve": "/?dataset=circle&hidden=8,8&activation=tanh&optimizer=adam"
    "&learning_rate=0.03&seed=1",
    "playground_multiclass": "/?dataset=spiral_arms&n_classes=3&hidden=8,8,8"
    "&features=x1,x2,sin_x1,sin_x2&optimizer=adam&learning_rate=0.01&seed=0",
}


def test_screenshots(page, server, tmp_path):
    """The documentation's pictures, taken by this same setup (see the module docstring)."""
    wanted = os.environ.get("ACTLAB_PLAYGROUND_SHOTS")
    out = Path(wanted or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    shots = SHOTS if wanted else dict(list(SHOTS.items())[:1])  # in CI: one, to keep it short
    only = [n for n in os.environ.get("ACTLAB_PLAYGROUND_ONLY", "").split(",") if n]
    if only:
        assert set(only) <= set(SHOTS), f"ACTLAB_PLAYGROUND_ONLY names unknown shots: {only}"
        shots = {name: SHOTS[name] for name in only}
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
