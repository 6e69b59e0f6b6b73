"""Time to the first frame on a warm start with a 100k-image gallery.

``python scripts/measure_warm_start.py [--images 100000]`` makes (once) a gallery of N small
files in 1000 place folders and its index with random unit vectors of the model's size
( embedding 100k images would take hours and changes nothing about start-up), lets
``update_index`` record the gallery listing as a normal run would, then starts the demo
``--runs`` times on a short generated video (-limit 1) and prints the demo's own "first frame
after start" and the whole process's wall time, with the command.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..core.home import display_path, output_dir
from ..core.images import list_images
from ..core.model import EmbeddingModel
from ..index.place_index import PlaceIndex, default_index_dir, l2_normalize
from ..index.records import GalleryRecord
from ..indexing.listing import default_label
from ..indexing.update import update_index
from ..scenes.street import render_place, render_view, sample_video_frames
from ._commands import child_env, command_line
from ._common import (
    add_verbosity_args,
    positive_int,
    resolve_model_path,
    run,
)
from ._demo_io import FrameWriter

OUT = output_dir("warm_start")
PER_FOLDER = 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="measure_warm_start", description=__doc__.split("\n")[0])
    parser.add_argument("-m", "--model", type=Path, default=None,
                        help="model (default: netvlad-lite)")  # fmt: skip
    parser.add_argument("--images", type=positive_int, default=100_000, help="gallery size")
    parser.add_argument("--runs", type=positive_int, default=3, help="demo starts (3)")
    parser.add_argument(
        "-o", "--output", type=Path, default=OUT, help=f"work folder ({display_path(OUT)})"
    )
    add_verbosity_args(parser)
    return parser


def _make_gallery(gallery: Path, count: int) -> None:
    """``count`` copies of one small JPEG under place_XXXX/ folders (content is never read)."""
    if gallery.is_dir() and len(list_images(gallery)) == count:
        return
    _, data = cv2.imencode(".jpg", render_view(render_place(7), seed=7, size=(48, 64)))
    payload = data.tobytes()
    for i in tqdm(range(count), desc="gallery files", unit="file"):
        folder = gallery / f"place_{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i % PER_FOLDER:03d}.jpg").write_bytes(payload)


def _make_index(model: EmbeddingModel, gallery: Path) -> None:
    directory = default_index_dir(gallery, model.fingerprint)
    files = list_images(gallery)
    records = [
        GalleryRecord(f.relpath, default_label(f.relpath), f"{i:064x}", f.size, f.mtime_ns)
        for i, f in enumerate(files)
    ]
    vectors = l2_normalize(np.random.default_rng(0).standard_normal((len(files), model.dim)))
    PlaceIndex.build(model.fingerprint, records, vectors).save(directory)
    # A normal update: every file is unchanged (size, mtime), so nothing is read or embedded;
    # it records the listing digest, as any demo or build_index run does.
    update = update_index(model, gallery)
    assert update.embedded == 0 and len(update.index) == len(files), "index not reused"


def _demo_start(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=child_env())
    wall = time.perf_counter() - started
    found = re.search(r"first frame ([\d.]+) s after start", result.stdout)
    if result.returncode != 0 or not found:
        raise SystemExit(f"measure_warm_start: demo failed: {result.stderr.strip()[-300:]}")
    return float(found.group(1)), wall


def warm_starts(
    model_path: Path, images: int, workdir: Path, runs: int, echo=print
) -> list[tuple[float, float]]:
    """(first frame after the demo's start, process wall time) of ``runs`` warm demo starts."""
    model = EmbeddingModel(model_path)
    gallery = workdir / f"gallery_{images}"
    _make_gallery(gallery, images)
    if not (default_index_dir(gallery, model.fingerprint) / "manifest.json").is_file():
        _make_index(model, gallery)
    video = workdir / "walk.avi"
    if not video.is_file():
        writer = FrameWriter(video, fps=30.0)
        for frame in sample_video_frames(2, 4, size=(480, 640)):
            writer.write(frame)
        writer.close()
    command = [*command_line("demo"), "-m", str(model_path.resolve()),
               "-gf", str(gallery.resolve()), "-i", str(video.resolve()), "--no_show",
               "-o", str((workdir / "first.avi").resolve()), "-limit", "1", "-q"]  # fmt: skip
    echo("$ " + " ".join(command))
    _demo_start(command)  # the first start fills OpenVINO's model cache
    return [_demo_start(command) for _ in range(runs)]


def _main(args: argparse.Namespace) -> int:
    model_path = resolve_model_path(args.model)
    results = warm_starts(model_path, args.images, args.output, args.runs)
    for first, wall in results:
        print(f"  first frame {first:.2f} s after the demo's start; process wall time {wall:.2f} s")
    firsts = sorted(first for first, _ in results)
    walls = sorted(wall for _, wall in results)
    print(
        f"{args.images} images: median first frame {firsts[len(firsts) // 2]:.2f} s "
        f"(process incl. interpreter start and exit {walls[len(walls) // 2]:.2f} s); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
