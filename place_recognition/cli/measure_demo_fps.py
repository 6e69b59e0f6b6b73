"""Demo FPS against the model's own throughput (benchmark_app), on a generated video.

In one run: the demo (``--no-show``, a generated gallery and a generated VGA video, batch 1 and
the ``--batch`` values given) and OpenVINO's ``benchmark_app`` on the same IR at the precision
the demo reports, with the LATENCY and THROUGHPUT hints at batch 1, 4 and 8. The machine is
shared, so the configurations run interleaved in ``--runs`` rounds; a round's ratio is its
best demo FPS over its best benchmark_app throughput, and the result is the median round.
Every command is printed, so each number can be reproduced by hand. The default IR is the
full-size synthetic netvlad-tf (built once).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..bench.benchmark_app import (
    BATCHES,
    HINTS,
    benchmark_app_command,
    run_benchmark_app,
)
from ..core.files import atomic_write_text
from ..core.home import display_path, output_dir
from ._args import (
    CommandParser,
    add_aliases,
    add_device_arg,
    add_model_path_arg,
    add_report_arg,
    add_verbosity_args,
    add_workdir_arg,
    positive_int,
)
from ._common import FULL_SIZE_SYNTHETIC, require_measured_model
from ._run import run
from ._samples import demo_fps_and_precision, measuring_inputs, run_demo_process

DEFAULT_MODEL = FULL_SIZE_SYNTHETIC
OUT = output_dir("measure_fps")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="measure_demo_fps", description=__doc__.splitlines()[0].split(":")[0]
    )
    add_model_path_arg(
        parser, f"IR (default {display_path(DEFAULT_MODEL)}, built when missing)", DEFAULT_MODEL
    )
    add_device_arg(parser)
    parser.add_argument("--frames-per-place", type=positive_int, default=24,
                        help="video length: 7 places x N frames (default 24)")  # fmt: skip
    parser.add_argument("--batch", type=positive_int, nargs="*", default=[4],
                        help="demo --batch values tried besides 1 (default 4)")  # fmt: skip
    parser.add_argument("-t", "--seconds", type=positive_int, default=8,
                        help="benchmark_app run time per configuration (default 8)")  # fmt: skip
    runs = parser.add_argument("--runs", type=positive_int, default=3,
                               help="interleaved rounds (3)")  # fmt: skip
    add_aliases(parser, runs, "--rounds")
    add_workdir_arg(parser, OUT)
    add_report_arg(parser, "WORKDIR/<model>.json")
    add_verbosity_args(parser)
    return parser


def _inputs(args: argparse.Namespace) -> tuple[Path, Path]:
    name = f"walk_{args.frames_per_place}.avi"
    return measuring_inputs(args.workdir, name, 30.0, frames_per_place=args.frames_per_place)


def _demo(args, gallery: Path, video: Path, batch: int) -> tuple[float, str]:
    """Mean FPS and the precision in effect, from the demo's summary."""
    options = ["-m", str(args.model), "-d", args.device, "-i", str(video.resolve()),
               "-gf", str(gallery.resolve()), "--no-show", "-q"]  # fmt: skip
    if batch > 1:
        options += ["--batch", str(batch)]
    fps, precision = demo_fps_and_precision(run_demo_process(*options))
    print(f"  demo batch {batch}: {fps:.2f} FPS ({precision})", flush=True)
    return fps, precision


def _benchmark(args, hint: str, batch: int, precision: str) -> float:
    command = benchmark_app_command(args.model, args.device, hint, batch, args.seconds, precision)
    print("$ " + " ".join(command), flush=True)
    fps = run_benchmark_app(command)
    print(f"  benchmark_app {hint} batch {batch}: {fps:.2f} FPS", flush=True)
    return fps


def _round(args, gallery: Path, video: Path, precision: str | None) -> dict:
    """One round: every demo and benchmark_app configuration once."""
    demo = {}
    for batch in [1, *args.batch]:
        demo[f"batch {batch}"], precision = _demo(args, gallery, video, batch)
    bench = {
        f"{hint} b{batch}": _benchmark(args, hint, batch, precision)
        for hint in HINTS
        for batch in BATCHES
    }
    ratio = max(demo.values()) / max(bench.values())
    load = os.getloadavg()[0]  # the machine is shared: say how busy it was
    print(f"round ratio {ratio:.3f} (load average {load:.1f})", flush=True)
    return {"precision": precision, "demo_fps": demo, "benchmark_app_fps": bench, "ratio": ratio,
            "load_average": load}  # fmt: skip


def _main(args: argparse.Namespace) -> int:
    require_measured_model(args.model)
    gallery, video = _inputs(args)
    rounds = [_round(args, gallery, video, None) for _ in range(args.runs)]
    median = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    best_demo = max(median["demo_fps"], key=median["demo_fps"].get)
    best_bench = max(median["benchmark_app_fps"], key=median["benchmark_app_fps"].get)
    report = {"model": str(args.model), "device": args.device, "rounds": rounds,
              "median_round": rounds.index(median), "ratio": round(median["ratio"], 3)}  # fmt: skip
    output = args.output or args.workdir / f"{args.model.stem}.json"
    atomic_write_text(output, json.dumps(report, indent=2) + "\n")
    print(
        f"median round: best demo {median['demo_fps'][best_demo]:.2f} FPS ({best_demo}) / "
        f"best benchmark_app {median['benchmark_app_fps'][best_bench]:.2f} FPS ({best_bench}) "
        f"= {median['ratio']:.3f}; all rounds: " + ", ".join(f"{r['ratio']:.3f}" for r in rounds)
    )
    print(f"report: {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
