"""Playground frame rate: a scripted client drives a real server over its WebSocket.

A frame is what the page shows after one "step": one training epoch, the 100x100 output heatmap
and every input feature's and hidden unit's thumbnail (one batched forward pass over the grid),
encoded, sent and decoded. The target is >= 20 frames/s for a 6-layer x 8-neuron network on
500 points on 2 cores. The same frames computed in-process (no server, no JSON) are measured
side by side, so the ratio shows what the web layer costs.

A race of two configurations (the network above, and the same with Adam) is measured the same
way: one "step" trains both racers one epoch and returns a frame for each (the base's full frame
and the race reply with both heatmaps), so each racer's frames/s is the steps/s. Its target is
>= 10 frames/s per racer.

    python bench/playground.py [--frames 60] [--hidden 8,8,8,8,8,8] [--points 500] [--batch 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import threading
import time

import torch
import uvicorn
from websockets.sync.client import connect

from actlab.web import FEATURES, PlaygroundSession
from actlab.web.app import WS_MAX_BYTES, create_app
from actlab.web.protocol import Channel, encode_frame

TARGET_FPS = 20.0
RACE_TARGET_FPS = 10.0
RACE = [{"optimizer": "adam", "learning_rate": 0.01}]
"""The second racer: the first with Adam."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[uvicorn.Server, str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, ws_max_size=WS_MAX_BYTES, log_level="error"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"ws://127.0.0.1:{port}/ws"


def over_socket(url: str, config: dict, frames: int, race: list[dict] | None = None) -> float:
    """Frames per second seen by a client that, as the page does, asks for the next step as
    soon as a step's frame reply arrives (with ``race``: before reading that step's race
    reply, which the server sends right after the frame)."""
    with connect(url, max_size=WS_MAX_BYTES) as ws:
        ws.send(json.dumps({"type": "config", "config": config}))
        kinds = [json.loads(ws.recv())["type"] for _ in range(2)]
        assert kinds == ["config", "frame"], kinds
        rest = []
        if race:
            ws.send(json.dumps({"type": "race", "variants": race}))
            kinds = [json.loads(ws.recv())["type"] for _ in range(3)]
            assert kinds == ["config", "frame", "race"], kinds
            rest = ["race"]
        for _ in range(3):
            ws.send('{"type": "step"}')
            for _ in ["frame", *rest]:
                ws.recv()
        start = time.perf_counter()
        ws.send('{"type": "step"}')
        for i in range(frames):
            kind = json.loads(ws.recv())["type"]
            assert kind == "frame", kind
            if i + 1 < frames:
                ws.send('{"type": "step"}')
            kinds = [json.loads(ws.recv())["type"] for _ in rest]
            assert kinds == rest, kinds
        return frames / (time.perf_counter() - start)


def in_process(config: dict, frames: int) -> float:
    """The same frames from the session object directly, encoded but never sent."""
    session = PlaygroundSession(config)
    for _ in range(3):
        session.step()
    start = time.perf_counter()
    for _ in range(frames):
        encode_frame(session.step())
    return frames / (time.perf_counter() - start)


def race_in_process(config: dict, frames: int, race: list[dict]) -> float:
    """A race's steps per second through the protocol object (training, pictures, encoding),
    without the server: each step is one frame for every racer."""
    channel = Channel(PlaygroundSession(config))
    channel.handle(json.dumps({"type": "race", "variants": race}))
    for _ in range(3):
        channel.handle('{"type": "step"}')
    start = time.perf_counter()
    for _ in range(frames):
        replies = channel.handle('{"type": "step"}')
        assert [r["type"] for r in replies] == ["frame", "race"], replies
        json.dumps(replies)  # what the server does before sending
    return frames / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--hidden", default="8,8,8,8,8,8")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--features", default="x1,x2", help="comma-separated, or 'all'")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; median kept")
    parser.add_argument("--no-race", action="store_true", help="skip the two-racer race")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `actlab playground` runs
    config = {
        "dataset": "spiral",
        "hidden": [int(h) for h in args.hidden.split(",") if h],
        "n_points": args.points,
        "batch_size": args.batch,
        "features": list(FEATURES) if args.features == "all" else args.features.split(","),
        "activation": "tanh",
    }
    server, url = start_server()
    runs: dict[str, list[float]] = {"remote": [], "local": [], "race_remote": [], "race_local": []}
    load = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):  # alternate, so that load from elsewhere hits all alike
            runs["remote"].append(over_socket(url, config, args.frames))
            runs["local"].append(in_process(config, args.frames))
            if not args.no_race:
                runs["race_remote"].append(over_socket(url, config, args.frames, RACE))
                runs["race_local"].append(race_in_process(config, args.frames, RACE))
            load.append(os.getloadavg()[0])
    finally:
        server.should_exit = True
    rate = {k: statistics.median(v) if v else None for k, v in runs.items()}
    remote, local = rate["remote"], rate["local"]
    n_train = int(args.points * 0.5)
    print(
        f"# playground frame rate ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, 1 thread, median of {args.rounds})"
    )
    print(f"load average (1 min) during the run: {min(load):.1f} to {max(load):.1f}")
    print(
        f"network {config['hidden']} on {args.points} points ({n_train} train), "
        f"batch {args.batch}: {-(-n_train // args.batch)} steps per epoch"
    )
    print()
    print("| path | frames/s | vs target 20 |")
    print("|---|---|---|")
    print(f"| in-process (session + encoding) | {local:.1f} | {local / TARGET_FPS:.2f} |")
    print(f"| over the WebSocket | {remote:.1f} | {remote / TARGET_FPS:.2f} |")
    print(f"\nweb layer costs {100 * (1 - remote / local):.0f} % of the in-process rate")
    if args.no_race:
        return
    changes = ", ".join(f"{k} {v}" for k, v in RACE[0].items())
    print(f"\ntwo-racer race (racer 2: {changes}); each racer's frames/s = race steps/s")
    print()
    print("| path | frames/s per racer | vs target 10 |")
    print("|---|---|---|")
    for key, label in (
        ("race_local", "in-process (protocol object)"),
        ("race_remote", "over the WebSocket"),
    ):
        print(f"| {label} | {rate[key]:.1f} | {rate[key] / RACE_TARGET_FPS:.2f} |")


if __name__ == "__main__":
    main()
