"""Every command in one table, and the entry point that runs them:
``python -m place_recognition <command> [options]`` or the ``place-recognition`` console script.

Each command is the module ``cli/<name>.py`` (with ``build_parser()`` and ``main(argv)``), and
``scripts/<name>.py`` (``demo.py`` for the demo) is its thin wrapper. The table holds each
command's one-line summary as text, the first line of the module's docstring
(``tests/test_entry_point.py`` keeps them equal), so that ``--help`` lists every command
without importing one: ``train_netvlad`` needs torch, which the runtime does not install.
"""

from __future__ import annotations

import difflib
import importlib
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from .._version import __version__
from ..core.home import HOME_ENV, checkout_root, data_home
from ..errors import EXIT_INPUT, EXIT_OK

PROG = "place-recognition"

# (group title, {command: summary}); the groups only order the --help listing.
COMMAND_GROUPS: tuple[tuple[str, dict[str, str]], ...] = (
    (
        "recognise places",
        {
            "quickstart": "The README's main job: index the sample gallery, recognise a view, "
            "run the demo headless.",
            "build_index": "Index a gallery folder, or bring its index up to date (embeds only "
            "new or changed images).",
            "search": "Find the places of query images in a gallery's index.",
            "demo": "Live place recognition on a camera, a video, an image or a folder of images.",
            "calibrate_threshold": "Derive the unknown-place threshold from a labelled set and "
            "store it with the model or index.",
            "make_sample_gallery": "Write the generated sample gallery (procedural street "
            "scenes, no external data).",
            "serve": "Serve a gallery's place recognition as a REST and WebSocket API with a "
            "browser page.",
        },
    ),
    (
        "models",
        {
            "build_netvlad_lite": "Build netvlad-lite from the committed backbone IR (no torch, "
            "no download).",
            "convert_netvlad": "Convert a downloaded netvlad-tf checkpoint to the OMZ IR without "
            "TensorFlow.",
            "omz_netvlad": "netvlad-tf through the Open Model Zoo tools (omz_downloader, "
            "omz_converter) in their own venv.",
            "quantize_int8": "INT8 copy of an IR, quantized by NNCF on a folder of calibration "
            "images.",
            "train_netvlad": "Fine-tune netvlad-lite's NetVLAD head and whitening on a labelled "
            "set, export an IR.",
            "make_synthetic_model": "Write the synthetic netvlad-tf stand-in (random weights; it "
            "cannot recognise places).",
            "export_backbone": "Build-time only: export the EfficientNet-Lite0 backbone IR "
            "(scripts/requirements-build.txt).",
        },
    ),
    (
        "evaluate",
        {
            "evaluate": "Recall@N of a model on a labelled set, with a JSON report and a plot.",
            "run_accuracy_check": "Run Open Model Zoo's Accuracy Checker on netvlad-tf from its "
            "own environment.",
            "make_pitts_fixture": "Lay out a route-ordered labelled set (e.g. corridor) as a "
            "small Pittsburgh-format data set.",
            "measure_thresholds": "Gallery-derived unknown-place thresholds against labelled "
            "calibration, on real sets.",
            "benchmark_sequence": "Sequence matching measured: Recall@N at several speeds and "
            "lengths, and the cost per frame.",
        },
    ),
    (
        "measure speed",
        {
            "benchmark": "Every speed measurement in one run (indexing, search, start-up, INT8, "
            "scale), as ratios.",
            "benchmark_search": "Exact vs approximate index modes at 100k-1M vectors: build "
            "time, memory, speed, agreement.",
            "benchmark_distributed": "Indexing on a local Dask cluster against one process; "
            "merging 1M descriptors; a projection.",
            "measure_demo_fps": "Demo FPS against the model's own throughput (benchmark_app), "
            "on a generated video.",
            "measure_warm_start": "Time to the first frame on a warm start with a 100k-image "
            "gallery.",
            "make_screenshot": "The README's screenshot: one frame of the demo's overlay on the "
            "quick start's walk.",
            "measure_live_latency": "Live end-to-end latency (--realtime) against benchmark_app "
            "-hint latency, interleaved.",
            "benchmark_service": "The service's requests/s and p50/p99 latency under load, "
            "against benchmark_app.",
            "make_service_screenshot": "The docs' screenshot of the service's page, taken in "
            "headless Chromium.",
        },
    ),
)

COMMANDS: dict[str, str] = {
    name: summary for _, group in COMMAND_GROUPS for name, summary in group.items()
}


def usage() -> str:
    """The top-level ``--help``: every command with its summary, and where the data lives."""
    width = max(map(len, COMMANDS)) + 2
    wrap = textwrap.TextWrapper(
        width=min(shutil.get_terminal_size().columns, 100) - width - 2, break_on_hyphens=False
    )
    lines = [
        f"usage: {PROG} <command> [options]",
        "",
        f"Visual place recognition on OpenVINO. {PROG} <command> --help shows a command's options.",
    ]
    for title, group in COMMAND_GROUPS:
        lines += ["", f"{title}:"]
        for name, summary in group.items():
            first, *more = wrap.wrap(summary)
            lines += [f"  {name:<{width}}{first}", *(" " * (width + 2) + line for line in more)]
    if os.environ.get(HOME_ENV):
        where = f"from ${HOME_ENV}"
    else:
        checkout = data_home() == checkout_root()
        where = f"{'the checkout' if checkout else 'per user'}; set {HOME_ENV} to move it"
    lines += [
        "",
        f"data home (models/, cache/, out/): {data_home()} ({where})",
        f"version {__version__}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``<command> [options]``; ``--help`` lists the commands. Returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if args else sys.stderr)
        return EXIT_OK if args else EXIT_INPUT
    if args[0] == "--version":
        print(f"{PROG} {__version__}")
        return EXIT_OK
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name.replace("-", "_"), COMMANDS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        print(
            f"{PROG}: error: unknown command {name!r} ({hint}{PROG} --help lists them)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    return importlib.import_module(f"{__package__}.{name}").main(rest)


def command_line(name: str) -> list[str]:
    """How to run command ``name`` in a child process: this Python, ``-m place_recognition``.

    Run it with :func:`child_env`, so that the child imports this very package, from a
    checkout too (where nothing is installed).
    """
    if name not in COMMANDS:
        raise KeyError(name)
    return [sys.executable, "-m", __package__.split(".")[0], name]


def child_env() -> dict[str, str]:
    """This process's environment with this package's folder first on ``PYTHONPATH``."""
    parent = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": parent + (os.pathsep + path if path else "")}
