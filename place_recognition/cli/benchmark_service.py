"""The service's requests/s and p50/p99 latency under load, against benchmark_app.

Usage: ``scripts/benchmark_service.py``.

Serves a generated gallery on 127.0.0.1 with the model (default: the full-size synthetic
netvlad-tf), then for each number of clients in ``--clients`` sends ``--requests`` 640x480 JPEG
uploads per client (each client waits for its answer before sending the next) and reports
requests/s and p50/p99 latency; ``benchmark_app -hint throughput`` runs on the same IR at the
same precision in the same run, before and after, for the ratio. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from ..bench.benchmark_app import benchmark_app_command, run_benchmark_app
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ..core.model import EmbeddingModel
from ..core.sysinfo import machine_info
from ..errors import PlaceRecognitionError
from ..indexing.update import update_index
from ..scenes.street import render_place, render_view, write_sample_gallery
from ..service.app import create_app
from ..service.engine import Engine
from ..service.settings import ServiceSettings
from ._args import (
    CommandParser,
    add_device_arg,
    add_model_path_arg,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    int_list,
    positive_int,
)
from ._common import FULL_SIZE_SYNTHETIC, require_measured_model
from ._run import run

OUT = output_dir("benchmark_service")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="benchmark_service", description=__doc__.split("\n")[0])
    add_model_path_arg(
        parser,
        f"IR (default {display_path(FULL_SIZE_SYNTHETIC)}, built when missing)",
        FULL_SIZE_SYNTHETIC,
    )
    add_device_arg(parser)
    parser.add_argument("--clients", type=int_list, default=[1, 8, 32], help="1,8,32")
    parser.add_argument("--requests", type=positive_int, default=20, help="per client (20)")
    parser.add_argument(
        "--seconds", type=positive_int, default=10, help="benchmark_app run time (10)"
    )
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/<model>.json")
    add_verbosity_args(parser)
    return parser


def _uploads(count: int = 16) -> list[bytes]:
    views = (render_view(render_place(i % 6), seed=900 + i, size=(480, 640)) for i in range(count))
    return [
        cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for view in views
    ]


def _load(url: str, clients: int, requests: int, uploads: list[bytes]) -> dict:
    import httpx  # checked by _require_httpx before anything runs

    latencies: list[float] = []
    errors: list[int] = []

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            for i in range(requests):
                body = uploads[(number + i) % len(uploads)]
                started = time.perf_counter()
                response = http.post("/api/v1/recognize?k=5", content=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors.append(response.status_code)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ms = sorted(value * 1000.0 for value in latencies)
    return {
        "clients": clients,
        "requests": len(ms),
        "errors": len(errors),
        "requests_per_s": round(len(ms) / seconds, 2),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1),
    }


def _serve(args: argparse.Namespace, gallery: Path):
    import uvicorn

    # A server wants images per second from its batches: the throughput hint.
    model = EmbeddingModel(args.model, args.device, performance_hint="THROUGHPUT")
    update = update_index(model, gallery)
    settings = ServiceSettings(port=0)
    app = create_app(Engine(update.model, gallery, update.directory, settings), settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}", update.model


def _require_httpx() -> None:
    """httpx (the load clients) is a test requirement, not a runtime one: it is imported only
    when measuring, so that --help and the docs' command reference work with the runtime alone."""
    try:
        import httpx  # noqa: F401
    except ImportError as exc:
        raise PlaceRecognitionError(
            "httpx is not installed: pip install -r tests/requirements.txt (the clients use it)"
        ) from exc


def _main(args: argparse.Namespace) -> int:
    _require_httpx()
    # httpx logs every request at INFO: hundreds of lines that hide the results.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    require_measured_model(args.model)
    gallery = args.workdir / "gallery"
    if not gallery.is_dir():
        write_sample_gallery(gallery)
    server, thread, url, model = _serve(args, gallery)
    command = benchmark_app_command(
        args.model, args.device, "throughput", 1, args.seconds, model.precision
    )
    print("$ " + " ".join(command), flush=True)
    try:
        before = run_benchmark_app(command)
        uploads = _uploads()
        _load(url, 2, 2, uploads)  # warm-up: compiled kernels, thread pools
        rows = [_load(url, clients, args.requests, uploads) for clients in args.clients]
        after = run_benchmark_app(command)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    reference = statistics.mean([before, after])
    report = {
        "model": str(args.model),
        "precision": model.precision,
        "machine": machine_info(),
        "load_average": os.getloadavg()[0],
        "benchmark_app_fps": [before, after],
        "rows": rows,
        "ratio": round(max(r["requests_per_s"] for r in rows) / reference, 3),
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    output = args.output or args.workdir / f"{args.model.stem}.json"
    atomic_write_text(output, json.dumps(report, indent=2) + "\n")
    print(f"benchmark_app -hint throughput: {before:.2f} / {after:.2f} FPS ({model.precision})")
    print(
        "| clients | requests | errors | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {row['clients']} | {row['requests']} | {row['errors']} | "
            f"{row['requests_per_s']:.2f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} |"
        )
    print(f"best requests/s / benchmark_app = {report['ratio']:.3f} (target >= 0.8)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
