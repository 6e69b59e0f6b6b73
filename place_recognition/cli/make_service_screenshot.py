"""The docs' screenshot of the service's page, taken in headless Chromium.

Usage: ``python scripts/make_service_screenshot.py``.

Serves the generated sample gallery on 127.0.0.1 (a free port) with the default model, opens
the page in headless Chromium (Debian's chromium + chromium-driver, Selenium from
tests/requirements.txt), drops a new view of one sample place on it, waits for the answer and
saves the page as a PNG.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import cv2

from ..core.home import data_home, display_path
from ..indexing.update import update_index
from ..scenes.street import render_place, render_view, write_sample_gallery
from ..service.app import create_app
from ..service.engine import Engine
from ..service.settings import ServiceSettings
from ._args import CommandParser, add_gallery_arg, add_verbosity_args
from ._browser import chromium
from ._common import add_model_args, load_model
from ._run import run
from ._samples import SAMPLE_GALLERY

OUT = data_home() / "docs" / "service_page.png"


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="make_service_screenshot", description=__doc__.split("\n")[0])
    add_model_args(parser)
    add_gallery_arg(
        parser,
        f"gallery (default {display_path(SAMPLE_GALLERY)}, generated when missing)",
        required=False,
        default=SAMPLE_GALLERY,
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=OUT, help=f"PNG to write ({display_path(OUT)})"
    )
    add_verbosity_args(parser)
    return parser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _main(args: argparse.Namespace) -> int:
    import uvicorn
    from selenium.webdriver.support.ui import WebDriverWait

    if not args.gallery.is_dir():
        write_sample_gallery(args.gallery)
    update = update_index(load_model(args), args.gallery)
    settings = ServiceSettings(port=_free_port())
    app = create_app(Engine(update.model, args.gallery, update.directory, settings), settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with tempfile.TemporaryDirectory(prefix="place-recognition-") as work:
        photo = Path(work) / "photo.jpg"
        cv2.imwrite(str(photo), render_view(render_place(2), seed=4242))  # place_02, a new view
        driver = chromium(Path(work) / "profile")
        try:
            driver.get(f"http://127.0.0.1:{settings.port}/")
            driver.find_element("id", "file-input").send_keys(str(photo))
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script(
                    "return [...document.querySelectorAll('#results img')].every(i => i.complete "
                    "&& i.naturalWidth > 0) && document.querySelectorAll('#results .result').length"
                )
            )
            args.output.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.output))
        finally:
            driver.quit()
            server.should_exit = True
            thread.join(timeout=10)
    print(f"wrote {args.output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
