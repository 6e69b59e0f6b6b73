"""The README's main job: index the sample gallery, recognise a view, run the demo headless.

Makes what is missing first (the sample gallery, the default model); the demo runs on a
generated video walking past the sample places and one place the gallery does not have, then
on a walk at half speed, at dusk, along a generated route gallery, where sequence matching
follows it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..core.home import data_home, display_path, output_dir
from ..core.images import read_image
from ..core.model import EmbeddingModel
from ..indexing.update import IndexUpdate, UpdateOptions, update_index
from ..recognition.decisions import PlaceVoter, decide, search_places
from ..recognition.recognizer import PlaceRecognizer
from ..recognition.thresholds import resolve_threshold
from ..scenes.street import (
    render_place,
    render_view,
    route_walk_frames,
    write_route_gallery,
    write_sample_gallery,
)
from ._args import CommandParser, add_gallery_arg, add_model_path_arg, add_verbosity_args
from ._common import DEFAULT_MODEL, resolve_model_path
from ._demo_app import DemoSettings, run_demo
from ._demo_io import FrameWriter
from ._matches import place_rows, verdict
from ._run import run
from ._samples import SAMPLE_GALLERY, SAMPLE_VIDEO_FPS, write_sample_video

ROUTE_GALLERY = data_home() / "gallery" / "sample_route"
ROUTE_WALK_SPEED = 0.5  # gallery frames per walk frame: the walk is slower than the gallery's
OUT = output_dir("quickstart")
QUERY_PLACE = 2  # the place of the query view, which is not in the gallery


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="quickstart",
        description="Index the generated sample gallery and recognise a new view of one place.",
    )
    add_model_path_arg(
        parser, f"model (default {display_path(DEFAULT_MODEL)} if present, else netvlad-lite)"
    )
    add_gallery_arg(
        parser,
        f"gallery (default {display_path(SAMPLE_GALLERY)}, generated when missing)",
        required=False,
        default=SAMPLE_GALLERY,
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=OUT,
        help="folder for the sample video and the demo's overlaid output "
        f"(default {display_path(OUT)})",
    )
    parser.add_argument(
        "--route-gallery",
        type=Path,
        default=ROUTE_GALLERY,
        help=f"route gallery (default {display_path(ROUTE_GALLERY)}, generated when missing)",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo runs")
    add_verbosity_args(parser)
    return parser


def _run_demo(args: argparse.Namespace, model_path: Path) -> None:
    video = args.output / "sample_walk.avi"
    if not video.is_file():
        write_sample_video(video)
        print(f"generated the sample video {video}")
    print(f"demo: {video} -> {args.output / 'demo.avi'} (headless)")
    _headless_demo(args, video, args.gallery, model_path, "demo")


def _headless_demo(
    args: argparse.Namespace, video: Path, gallery: Path, model_path: Path, name: str
) -> None:
    """The demo without a window: every frame overlaid into OUTPUT/<name>.avi, and one JSON
    line per frame into OUTPUT/<name>.jsonl."""
    settings = DemoSettings(
        input=str(video),
        gallery=gallery,
        model=model_path,
        no_show=True,
        output=args.output / f"{name}.avi",
        output_limit=0,
        json=args.output / f"{name}.jsonl",
        quiet=args.quiet,
    )
    run_demo(settings)


def _recognise_a_new_view(update: IndexUpdate) -> None:
    """The answer for a view of one sample place that the gallery does not hold."""
    threshold = resolve_threshold(None, update.model, update.directory)
    query = render_view(render_place(QUERY_PLACE), seed=12345)
    places = search_places(update.index, update.model.embed(query)[None], 3)[0]
    result = decide(places, threshold.value, PlaceVoter())
    print(f"a new view of place_{QUERY_PLACE:02d}: {verdict(result)}")
    for line in place_rows(places):
        print(line)


def _run_route_demo(args: argparse.Namespace, model_path: Path) -> None:
    """The demo on a slower walk at dusk along the route gallery; then how often the
    single-frame and the sequence answers named the right gallery frame (within one)."""
    if not args.route_gallery.is_dir():
        write_route_gallery(args.route_gallery)
        print(f"generated the route gallery in {args.route_gallery}")
    video, truth = args.output / "route_walk.avi", []
    writer = FrameWriter(video, SAMPLE_VIDEO_FPS)
    for frame, along in route_walk_frames(speed=ROUTE_WALK_SPEED):
        writer.write(frame)
        truth.append(along)
    writer.close()
    lines = args.output / "route_demo.jsonl"
    print(f"demo: {video} -> {args.output / 'route_demo.avi'} (headless, sequence matching)")
    _headless_demo(args, video, args.route_gallery, model_path, "route_demo")
    single, sequence = _route_hits(lines, truth)
    print(
        f"route walk ({len(truth)} frames, {ROUTE_WALK_SPEED} gallery frames per frame, "
        f"dusk, noisy camera): the right gallery frame (within one) in {single} frames "
        f"from single frames, in {sequence} from the sequence"
    )


def _route_hits(lines: Path, truth: list[float]) -> tuple[int, int]:
    """Frames whose single-frame best match and whose sequence answer were within one gallery
    frame of where the walk really was."""
    single = sequence = 0
    for line, along in zip(lines.read_text().splitlines(), truth, strict=False):
        data = json.loads(line)
        best = data["top_k"][0]["path"] if data["top_k"] else None
        single += best is not None and abs(_frame_number(best) - along) <= 1
        answer = data["sequence"]
        sequence += answer is not None and abs(_frame_number(answer["path"]) - along) <= 1
    return single, sequence


def _frame_number(path: str) -> int:
    return int(Path(path).stem.rpartition("_")[2])


def _main(args: argparse.Namespace) -> int:
    if not args.gallery.is_dir():
        write_sample_gallery(args.gallery)
        print(f"generated the sample gallery in {args.gallery}")
    model_path = resolve_model_path(args.model)
    model = EmbeddingModel(model_path)
    print(f"model: {model.describe()}")
    update = update_index(model, args.gallery, options=UpdateOptions(progress=not args.quiet))
    print(f"index: {len(update.index)} images, {update.embedded} embedded -> {update.directory}")
    _recognise_a_new_view(update)
    if model.synthetic:
        print("note: the synthetic stand-in has random weights; its ranking is meaningless")
    recognizer = PlaceRecognizer(update.model, update.index, args.gallery)
    first = read_image(args.gallery / update.index.records[0].path)
    best = recognizer.match(first, k=1)[0]
    print(f"self-check: {update.index.records[0].path} -> {best.record.path} ({best.score:.4f})")
    if not args.no_demo:
        _run_demo(args, model_path)
        _run_route_demo(args, model_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
