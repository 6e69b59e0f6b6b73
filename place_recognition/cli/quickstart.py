"""The README's main job: index the sample gallery, recognise a view, run the demo headless.

Makes what is missing first (the sample gallery, the default model); the demo runs on a
generated video walking past the sample places and one place the gallery does not have."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..core.home import data_home, display_path, output_dir
from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..indexing.update import UpdateOptions, update_index
from ..recognition.recognizer import PlaceRecognizer
from ..scenes.street import (
    render_place,
    render_view,
    sample_video_frames,
    write_sample_gallery,
)
from . import demo
from ._common import (
    DEFAULT_MODEL,
    add_verbosity_args,
    resolve_model_path,
    run,
)
from ._demo_io import FrameWriter

SAMPLE_GALLERY = data_home() / "gallery" / "sample"
OUT = output_dir("quickstart")
SAMPLE_VIDEO_FPS = 12.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quickstart",
        description="Index the generated sample gallery and recognise a new view of one place.",
    )
    parser.add_argument(
        "-m",
        "--model",
        type=Path,
        default=None,
        help=f"model (default {display_path(DEFAULT_MODEL)} if present, else netvlad-lite)",
    )
    parser.add_argument(
        "-gf",
        "--gallery",
        type=Path,
        default=SAMPLE_GALLERY,
        help=f"gallery (default {display_path(SAMPLE_GALLERY)}, generated when missing)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=OUT,
        help="folder for the sample video and the demo's overlaid output "
        f"(default {display_path(OUT)})",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo run")
    add_verbosity_args(parser)
    return parser


def write_sample_video(path: Path, places: int = 6) -> Path:
    """The generated walk past the sample gallery's places (plus one unknown place)."""
    writer = FrameWriter(path, SAMPLE_VIDEO_FPS)
    for frame in sample_video_frames(places):
        writer.write(frame)
    writer.close()
    return path


def _run_demo(args: argparse.Namespace, model_path: Path) -> int:
    video = args.output / "sample_walk.avi"
    if not video.is_file():
        write_sample_video(video)
        print(f"generated the sample video {video}")
    overlaid = args.output / "demo.avi"
    print(f"demo: {video} -> {overlaid} (headless)")
    argv = ["-m", str(model_path), "-gf", str(args.gallery), "-i", str(video), "--no_show"]
    argv += ["-o", str(overlaid), "-limit", "0", "--json", str(args.output / "demo.jsonl")]
    return demo.main([*argv, "-q"] if args.quiet else argv)


def _main(args: argparse.Namespace) -> int:
    if not args.gallery.is_dir():
        write_sample_gallery(args.gallery)
        print(f"generated the sample gallery in {args.gallery}")
    model_path = resolve_model_path(args.model)
    model = EmbeddingModel(model_path)
    print(f"model: {model.describe()}")
    update = update_index(model, args.gallery, options=UpdateOptions(progress=not args.quiet))
    print(f"index: {len(update.index)} images, {update.embedded} embedded -> {update.directory}")
    recognizer = PlaceRecognizer(update.model, update.index, args.gallery)
    query = render_view(render_place(2), seed=12345)  # a view of place_02 not in the gallery
    for match in recognizer.match(query, k=3):
        print(
            f"  {match.rank + 1}. {match.record.label:<10} {match.score:.4f}  {match.record.path}"
        )
    if model.synthetic:
        print("note: the synthetic stand-in has random weights; its ranking is meaningless")
    first = read_image(args.gallery / update.index.records[0].path)
    best = recognizer.match(first, k=1)[0]
    print(f"self-check: {update.index.records[0].path} -> {best.record.path} ({best.score:.4f})")
    return 0 if args.no_demo else _run_demo(args, model_path)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
