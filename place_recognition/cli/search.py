"""Find the places of query images in a gallery's index.

Each query gets the demo's answer for a frame: its top-k distinct places and the known/unknown
verdict against the unknown-place threshold (the calibrated one unless ``--threshold``).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..core.images import decode_image, list_images, read_image, why_undecodable
from ..errors import IndexMissingError, PlaceRecognitionError
from ..index.place_index import default_index_dir
from ..recognition.decisions import FrameResult, PlaceVoter, decide, search_places
from ..recognition.recognizer import PlaceRecognizer
from ..recognition.thresholds import resolve_threshold
from ._args import (
    CommandParser,
    add_gallery_arg,
    add_index_arg,
    add_index_mode_args,
    add_threshold_arg,
    add_top_k_arg,
    add_verbosity_args,
)
from ._common import add_model_args, load_model
from ._matches import place_rows, verdict
from ._run import command_line, run

logger = logging.getLogger("place_recognition.cli.search")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="search", description="Match query images against an indexed gallery."
    )
    add_model_args(parser)
    add_gallery_arg(parser, "indexed gallery root")
    add_index_arg(parser, "index folder (default: GALLERY/.place_index/<model fingerprint>/)")
    parser.add_argument(
        "-i",
        "--input",
        type=Path,
        nargs="+",
        required=True,
        help="query images, or folders searched for images (recursively, sorted by path)",
    )
    add_top_k_arg(parser, "distinct places per query (default 5)")
    add_threshold_arg(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON line per query")
    add_index_mode_args(parser, building=False)
    add_verbosity_args(parser)
    return parser


def _open(args: argparse.Namespace) -> tuple[PlaceRecognizer, Path]:
    """The recognizer of the gallery's saved index, and the index folder."""
    model = load_model(args)
    directory = args.index or default_index_dir(args.gallery, model.fingerprint)
    try:
        recognizer = PlaceRecognizer.open(model, args.gallery, directory)
    except IndexMissingError:
        build = ["-gf", str(args.gallery)]
        build += ["-m", str(args.model)] if args.model else []
        build += ["--index", str(args.index)] if args.index else []
        raise PlaceRecognitionError(
            f"no index of {args.gallery} for {model.name} in {directory}; build it with: "
            f"{command_line('build_index', *build)}"
        ) from None
    if args.nprobe:
        recognizer.index.nprobe = args.nprobe
    return recognizer, directory


def _queries(inputs: list[Path]) -> Iterator[tuple[Path, bool]]:
    """(image path, whether it was found in a folder) for every ``-i`` item, in order."""
    for item in inputs:
        if not item.is_dir():
            yield item, False
            continue
        files = list_images(item)
        if not files:
            raise PlaceRecognitionError(
                f"-i {item}: the folder holds no images (jpg, png, bmp, webp, tif)"
            )
        yield from ((item / file.relpath, True) for file in files)


def _images(inputs: list[Path], names: list[Path]) -> Iterator[np.ndarray]:
    """The decoded queries; each one's path is appended to ``names`` as it is handed out.

    A file named with -i must be readable; one found in a folder is skipped with a warning.
    """
    for path, in_folder in _queries(inputs):
        if not in_folder:
            image = read_image(path)
        else:
            image = _read_found(path)
            if image is None:
                continue
        names.append(path)
        yield image


def _read_found(path: Path) -> np.ndarray | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        logger.warning("skipping %s: %s", path, exc.strerror)
        return None
    image = decode_image(data)
    if image is None:
        logger.warning("skipping %s: %s", path, why_undecodable(data))
    return image


def _main(args: argparse.Namespace) -> int:
    recognizer, directory = _open(args)
    threshold = resolve_threshold(args.threshold, recognizer.model, directory)
    logger.info("unknown-place threshold %s", threshold.describe())
    names: list[Path] = []
    embeddings = recognizer.model.embed_iter(_images(args.input, names))
    for position, embedding in enumerate(embeddings):
        places = search_places(recognizer.index, embedding[None], args.top_k)[0]
        result = decide(places, threshold.value, PlaceVoter())
        _print(names[position], result, args.json)
    return 0


def _print(query: Path, result: FrameResult, as_json: bool) -> None:
    if as_json:
        matches = [
            {"rank": place.rank, "score": round(place.score, 6), **place.match.record.to_json()}
            for place in result.places
        ]
        head = {"query": str(query), "label": result.label, "known": result.known}
        print(json.dumps({**head, "threshold": result.threshold, "matches": matches}))
        return
    print(f"{query}: {verdict(result)}")
    for line in place_rows(result.places):
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
