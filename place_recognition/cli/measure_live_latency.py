"""Live end-to-end latency (--realtime) against benchmark_app -hint latency, interleaved.

Usage: ``python scripts/measure_live_latency.py [-m IR]``.

In one run, interleaved in ``--rounds`` rounds: OpenVINO's ``benchmark_app -hint latency`` on
the IR (median latency, throughput), then the demo with ``--realtime`` on a generated 640x480
video at ``--fps`` (end-to-end latency from the frame's due time to its drawn answer, FPS,
frames dropped). The targets compare them: end-to-end median <= 1.2 x benchmark_app's median
latency, FPS >= 0.9 x min(video FPS, benchmark_app's throughput). Prints every command and the
medians over the rounds; writes JSON. Default IR: the full-size synthetic netvlad-tf.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
from collections.abc import Sequence
from pathlib import Path

from ..bench.benchmark_app import benchmark_app_command, run_benchmark_app_full
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ..core.sysinfo import machine_info
from ..errors import RuntimeFailure
from ._args import (
    CommandParser,
    add_device_arg,
    add_model_path_arg,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    positive_float,
    positive_int,
)
from ._common import FULL_SIZE_SYNTHETIC, require_measured_model
from ._run import run
from ._samples import demo_fps_and_precision, measuring_inputs, run_demo_process

OUT = output_dir("measure_live_latency")
_E2E = re.compile(
    r"end-to-end latency\s+median ([\d.]+) ms\s+p90 ([\d.]+) ms\s+\(frames dropped (\d+) of (\d+)\)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="measure_live_latency", description=__doc__.splitlines()[0])
    add_model_path_arg(
        parser,
        f"IR (default {display_path(FULL_SIZE_SYNTHETIC)}, built when missing)",
        FULL_SIZE_SYNTHETIC,
    )
    add_device_arg(parser)
    parser.add_argument(
        "--fps", type=positive_float, default=30.0, help="the video's frame rate (30)"
    )
    parser.add_argument("--seconds", type=positive_int, default=10, help="video length (10 s)")
    parser.add_argument("--runs", type=positive_int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--demo-args", default="", help="extra demo options, e.g. '--requests 2'")
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/<model>.json")
    add_verbosity_args(parser)
    return parser


def _inputs(args: argparse.Namespace) -> tuple[Path, Path]:
    frames = round(args.fps * args.seconds)
    name = f"walk_640x480_{args.fps:g}fps_{args.seconds}s.avi"
    return measuring_inputs(
        args.workdir, name, args.fps, frames=frames, frames_per_place=-(-frames // 7)
    )


def _demo(args: argparse.Namespace, gallery: Path, video: Path) -> dict:
    options = ["-m", str(args.model), "-d", args.device, "-i", str(video), "-gf", str(gallery)]
    output = run_demo_process(*options, "--no-show", "-q", "--realtime", *args.demo_args.split())
    found = _E2E.search(output)
    if found is None:
        raise RuntimeFailure("the demo printed no end-to-end latency line (is -i a video file?)")
    median, p90, dropped, delivered = found.groups()
    fps, precision = demo_fps_and_precision(output)
    print(f"  {found.group(0)}; {fps:.2f} FPS ({precision})", flush=True)
    return {
        "e2e_median_ms": float(median),
        "e2e_p90_ms": float(p90),
        "fps": fps,
        "dropped": int(dropped),
        "delivered": int(delivered),
        "precision": precision,
    }


def _benchmark(args: argparse.Namespace, precision: str) -> dict:
    command = benchmark_app_command(args.model, args.device, "latency", 1, 10, precision)
    print("$ " + " ".join(command), flush=True)
    fps, latency = run_benchmark_app_full(command)
    print(f"  benchmark_app -hint latency: median {latency:.2f} ms, {fps:.2f} FPS", flush=True)
    return {"median_ms": latency, "fps": fps}


def _round(args: argparse.Namespace, gallery: Path, video: Path) -> dict:
    demo = _demo(args, gallery, video)
    bench = _benchmark(args, demo["precision"])
    return {"demo": demo, "benchmark_app": bench, "load_average": os.getloadavg()[0]}


def _main(args: argparse.Namespace) -> int:
    require_measured_model(args.model)
    gallery, video = _inputs(args)
    rounds = [_round(args, gallery.resolve(), video.resolve()) for _ in range(args.runs)]
    e2e = statistics.median(r["demo"]["e2e_median_ms"] for r in rounds)
    fps = statistics.median(r["demo"]["fps"] for r in rounds)
    latency = statistics.median(r["benchmark_app"]["median_ms"] for r in rounds)
    bench_fps = statistics.median(r["benchmark_app"]["fps"] for r in rounds)
    wanted_fps = 0.9 * min(args.fps, bench_fps)
    report = {"model": str(args.model), "video_fps": args.fps, "rounds": rounds,
              "machine": machine_info(), "e2e_median_ms": e2e, "fps": fps,
              "benchmark_app_latency_ms": latency, "benchmark_app_fps": bench_fps,
              "e2e_ratio": round(e2e / latency, 3), "fps_target": round(wanted_fps, 2)}  # fmt: skip
    args.workdir.mkdir(parents=True, exist_ok=True)
    output = args.output or args.workdir / f"{args.model.stem}.json"
    atomic_write_text(output, json.dumps(report, indent=2) + "\n")
    print(
        f"medians of {len(rounds)} rounds: end-to-end {e2e:.1f} ms = {e2e / latency:.2f} x "
        f"benchmark_app's {latency:.1f} ms (target <= 1.2); {fps:.2f} FPS against "
        f"0.9 x min({args.fps:g}, {bench_fps:.1f}) = {wanted_fps:.1f} (target: at least)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
