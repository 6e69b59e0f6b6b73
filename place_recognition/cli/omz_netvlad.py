"""netvlad-tf through the Open Model Zoo tools (omz_downloader, omz_converter) in their own venv."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ..convert import omz_tools as omz
from ..core.home import cache_dir, data_home, display_path, scripts_file
from ..core.ir_files import copy_ir
from ._args import CommandParser, add_aliases, add_verbosity_args
from ._omz import add_omz_tree_args
from ._run import run

logger = logging.getLogger("place_recognition.cli")

REQUIREMENTS = [scripts_file("requirements-omz.txt")]
REQUIREMENTS_TF = [*REQUIREMENTS, scripts_file("requirements-omz-tf.txt")]
DEFAULT_ENV = data_home() / ".venv-omz"
STEPS = ("setup", "info", "download", "convert", "all")


def _step(text: str) -> str:
    """argparse type for one of STEPS. Not ``choices=``: argparse checks a list default of an
    optional positional against the choices as a whole, so the default ``all`` was refused."""
    if text not in STEPS:
        raise argparse.ArgumentTypeError(f"unknown step {text!r}; choose from {', '.join(STEPS)}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="omz_netvlad",
        description="Produce models/netvlad-tf.xml exactly as the Open Model Zoo does: "
        "omz_downloader --name netvlad-tf (1.1 GB) then omz_converter (needs TensorFlow, "
        "~2.2 GB, installed on first use), from an isolated tools environment.",
    )
    parser.add_argument(
        "steps",
        nargs="*",
        type=_step,
        default=["all"],
        metavar="STEP",
        help="setup: create the tools venv; info: omz_info_dumper (offline); download; "
        "convert; all = download + convert (default)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=DEFAULT_ENV,
        help=f"tools venv (default {display_path(DEFAULT_ENV)})",
    )
    add_omz_tree_args(parser, "root of the OMZ tree downloaded into and written", "--dir")
    cache = parser.add_argument(
        "--download-cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="omz_downloader cache (default per user)",
    )
    add_aliases(parser, cache, "--cache-dir")  # --cache-dir is the OpenVINO model cache elsewhere
    parser.add_argument(
        "--files",
        type=Path,
        default=None,
        metavar="F",
        help="folder with hand-downloaded netvlad.zip, layers.py, nets.py (verified, then "
        "given to omz_downloader through its cache: no network needed)",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="network probe timeout (s)")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    steps = set(args.steps) | ({"download", "convert"} if "all" in args.steps else set())
    tools = omz.OmzTools(args.env)
    log = args.output / "omz_netvlad.log"
    if steps & {"setup", "info"}:
        tools.ensure(REQUIREMENTS, log)
        print(f"Open Model Zoo tools ready in {args.env}")
    if "info" in steps:
        print(tools.capture("omz_info_dumper", ["--name", omz.MODEL_NAME]).strip())
    if "download" in steps:
        _download(tools, args, log)
    if "convert" in steps:
        _convert(tools, args, log)
    return 0


def _download(tools: omz.OmzTools, args: argparse.Namespace, log: Path) -> None:
    cache = args.download_cache or cache_dir() / "omz"
    if args.files:
        seeded = omz.seed_cache(args.files, cache)
        logger.info("verified %d file(s) from %s into the cache %s", len(seeded), args.files, cache)
    folder = omz.download(tools, REQUIREMENTS, args.output, cache, log, timeout=args.timeout)
    print(f"downloaded into {folder}")


def _convert(tools: omz.OmzTools, args: argparse.Namespace, log: Path) -> None:
    irs = omz.convert(tools, REQUIREMENTS_TF, args.output, args.output, args.precisions, log)
    for precision, path in irs.items():
        print(f"wrote {path} ({precision})")
    if "FP32" in irs and not args.no_copy:
        print(f"wrote {copy_ir(irs['FP32'], args.model_path)} (FP32)")


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
