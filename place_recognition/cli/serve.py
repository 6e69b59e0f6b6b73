"""Serve a gallery's place recognition as a REST and WebSocket API with a browser page.

Usage: ``scripts/serve.py -m MODEL -gf GALLERY [--index DIR]``.

A REST and WebSocket API (``/api/v1``), its OpenAPI description (``/openapi.json``, ``/docs``)
and a browser page (``/``), on uvicorn. Listening anywhere but this machine needs an API key.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from ..indexing.update import UpdateOptions, update_index
from ..service.settings import ServiceSettings, check_exposure
from ._args import (
    CommandParser,
    add_gallery_arg,
    add_index_arg,
    add_threshold_arg,
    add_verbosity_args,
    positive_float,
    positive_int,
)
from ._common import add_model_args, load_model
from ._run import run

logger = logging.getLogger("place_recognition.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="serve",
        description="Serve the gallery's place recognition as a REST + WebSocket API with a "
        "browser page. The index is built or updated first; later commits of build_index are "
        "picked up while serving.",
    )
    add_model_args(parser)
    add_gallery_arg(parser, "gallery root; its index is built or updated first")
    add_index_arg(
        parser,
        "index folder (default: the gallery's own, GALLERY/.place_index/<model fingerprint>/)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000; 0: any free one)")
    parser.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="required from every API client (X-API-Key header); needed to "
        "listen on an address other machines can reach",
    )
    parser.add_argument(
        "--insecure", action="store_true", help="listen on a reachable address without an API key"
    )
    parser.add_argument(
        "--max-queue",
        type=positive_int,
        default=64,
        help="requests waiting for the model at most; more get 503 (64)",
    )
    parser.add_argument(
        "--max-upload-mb", type=positive_float, default=20.0, help="larger uploads get 413 (20)"
    )
    parser.add_argument(
        "--max-megapixels",
        type=positive_float,
        default=50.0,
        help="images with more pixels get 413, checked before decoding (50)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN to call the API (repeatable; "
        "default: none, CORS off)",
    )
    add_threshold_arg(parser)
    add_verbosity_args(parser)
    return parser


def settings_of(args: argparse.Namespace) -> ServiceSettings:
    return ServiceSettings(
        host=args.host,
        port=args.port,
        api_key=args.api_key or None,
        max_queue=args.max_queue,
        max_upload_mb=args.max_upload_mb,
        max_pixels=int(args.max_megapixels * 1e6),
        cors_origins=tuple(args.cors_origin),
        insecure=args.insecure,
    )


def _main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    check_exposure(settings)  # before anything is loaded
    import uvicorn

    from ..service.app import create_app
    from ..service.engine import Engine

    model = load_model(args)
    options = UpdateOptions(progress=not args.quiet, index_mode=None)
    update = update_index(model, args.gallery, args.index, options)
    engine = Engine(update.model, args.gallery, update.directory, settings, args.threshold)
    app = create_app(engine, settings)
    print(
        f"serving {len(update.index)} images of {args.gallery} on http://{args.host}:{args.port}/"
    )
    level = "warning" if args.quiet else "info"
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=level, ws_max_size=settings.max_upload_bytes
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
