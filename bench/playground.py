"""Playground frame rate: a scripted client drives a real server over its WebSocket.

A frame is what the page shows after one "step": one training epoch, the 100x100 output heatmap
and every input feature's and hidden unit's thumbnail (one batched forward pass over the grid),
encoded, sent and decoded. The target is >= 20 frames/s for a 6-layer x 8-neuron network on
500 points on 2 cores. The same frames computed in-process (no server, no JSON) are measured
side by side, so the ratio shows what the web layer costs.

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
from actlab.web.protocol import encode_frame

TARGET_FPS = 20.0


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


def over_socket(url: str, config: dict, frames: int) -> float:
    """Frames per second seen by a client that asks for the next step when a frame arrives."""
    with connect(url, max_size=WS_MAX_BYTES) as ws:
        ws.send(json.dumps({"type": "config", "config": config}))
        kinds = [json.loads(ws.recv())["type"] for _ in range(2)]
        assert kinds == ["config", "frame"], kinds
        for _ in range(3):
            ws.send('{"type": "step"}')
            ws.recv()
        start = time.perf_counter()
        for _ in range(frames):
            ws.send('{"type": "step"}')
            reply = json.loads(ws.recv())
            assert reply["type"] == "frame", reply
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--hidden", default="8,8,8,8,8,8")
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--features", default="x1,x2", help="comma-separated, or 'all'")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; median kept")
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
    remote, local = [], []
    try:
        for _ in range(args.rounds):  # alternate, so that load from elsewhere hits both alike
            remote.append(over_socket(url, config, args.frames))
            local.append(in_process(config, args.frames))
    finally:
        server.should_exit = True
    remote, local = statistics.median(remote), statistics.median(local)
    n_train = int(args.points * 0.5)
    print(
        f"# playground frame rate ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, 1 thread, median of {args.rounds})"
    )
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


if __name__ == "__main__":
    main()
