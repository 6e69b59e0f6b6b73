"""netvlad-tf through the Open Model Zoo tools (omz_downloader, omz_converter) in their own venv."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from ..convert import omz_tools as omz
from ..convert.tf_to_ir import PRECISIONS
from ..core.home import cache_dir, data_home, display_path, scripts_file
from ..core.ir_files import copy_ir
from ._common import DEFAULT_MODEL, add_verbosity_args, run
from .convert_netvlad import DEFAULT_OMZ_DIR, parse_precisions

logger = logging.getLogger("place_recognition.cli")

REQUIREMENTS = [scripts_file("requirements-omz.txt")]
REQUIREMENTS_TF = [*REQUIREMENTS, scripts_file("requirements-omz-tf.txt")]
DEFAULT_ENV = data_home() / ".venv-omz"
STEPS = ("setup", "info", "download", "convert", "all")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omz_netvlad",
        description="Produce models/netvlad-tf.xml exactly as the Open Model Zoo does: "
        "omz_downloader --name netvlad-tf (1.1 GB) then omz_converter (needs TensorFlow, "
        "~2.2 GB, installed on first use), from an isolated tools environment.",
    )
    parser.add_argument(
        "steps",
        nargs="*",
        choices=STEPS,
        default=["all"],
        help="setup: create the tools venv; info: omz_info_dumper (offline); download; "
        "convert; all = download + convert (default)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=DEFAULT_ENV,
        help=f"tools venv (default {display_path(DEFAULT_ENV)})",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_OMZ_DIR,
        help=f"download and output root of the OMZ tree (default {display_path(DEFAULT_OMZ_DIR)})",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="omz_downloader cache (default per user)"
    )
    parser.add_argument(
        "--precisions", type=parse_precisions, default=PRECISIONS, help="default FP32,FP16"
    )
    parser.add_argument(
        "--files",
        type=Path,
        default=None,
        metavar="F",
        help="folder with hand-downloaded netvlad.zip, layers.py, nets.py (verified, then "
        "given to omz_downloader through its cache: no network needed)",
    )
    parser.add_argument(
        "--model-path",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"default {display_path(DEFAULT_MODEL)}",
    )
    parser.add_argument("--no-copy", action="store_true", help="keep the FP32 IR in the tree only")
    parser.add_argument("--timeout", type=float, default=5.0, help="network probe timeout (s)")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    steps = set(args.steps) | ({"download", "convert"} if "all" in args.steps else set())
    tools = omz.OmzTools(args.env)
    log = args.dir / "omz_netvlad.log"
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
    cache = args.cache_dir or cache_dir() / "omz"
    if args.files:
        seeded = omz.seed_cache(args.files, cache)
        logger.info("verified %d file(s) from %s into the cache %s", len(seeded), args.files, cache)
    folder = omz.download(tools, REQUIREMENTS, args.dir, cache, log, timeout=args.timeout)
    print(f"downloaded into {folder}")


def _convert(tools: omz.OmzTools, args: argparse.Namespace, log: Path) -> None:
    irs = omz.convert(tools, REQUIREMENTS_TF, args.dir, args.dir, args.precisions, log)
    for precision, path in irs.items():
        print(f"wrote {path} ({precision})")
    if "FP32" in irs and not args.no_copy:
        print(f"wrote {copy_ir(irs['FP32'], args.model_path)} (FP32)")


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
