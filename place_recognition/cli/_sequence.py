"""Sequence-matching options shared by the demo and the evaluator, and the demo's default.

``--sequence L`` (0 = off); without it the demo turns sequence matching on (L = 10) when the
gallery has a route to follow and the input is a stream (camera, video, folder), and off for a
single image or an unordered gallery: a stream against a route gallery gets it without anyone
knowing the word, and the log says so.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

from ..errors import PlaceRecognitionError
from ..index.place_index import PlaceIndex
from ..sequence.settings import (
    DEFAULT_LENGTH,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_VELOCITIES,
    SequenceSettings,
    SequenceSettingsError,
    parse_velocities,
)
from ..sequence.stream import RouteStream
from ._args import int_type

logger = logging.getLogger("place_recognition.cli")

STREAM_INPUTS = ("camera", "video", "folder")
MIN_ROUTE_FRAMES = 3  # a shorter route is no sequence to follow


def velocities_type(text: str) -> tuple[float, float, float]:
    """argparse type of --velocities: MIN,MAX[,STEP], its error said in the usage line."""
    try:
        return parse_velocities(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_length = int_type(0, "0 (off) or more frames")


AUTO = f"{DEFAULT_LENGTH} for a video, camera or folder against a gallery with routes, else off"


def add_sequence_args(parser: argparse.ArgumentParser, default: str = AUTO) -> None:
    """--sequence, --velocities, --sequence-confidence (``default`` describes --sequence's)."""
    group = parser.add_argument_group("sequence matching")
    group.add_argument(
        "--sequence",
        type=_length,
        default=None,
        metavar="L",
        help="match the stream's consecutive frames along the gallery's routes, with a memory "
        f"of about L frames (0 = off; default: {default})",
    )
    group.add_argument(
        "--velocities",
        type=velocities_type,
        default=DEFAULT_VELOCITIES,
        metavar="MIN,MAX[,STEP]",
        help="gallery frames per query frame searched (default 0.5,2,0.5; negative: backwards)",
    )
    group.add_argument(
        "--sequence-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        metavar="C",
        help="a sequence answer with less confidence is an unknown place "
        f"(default {DEFAULT_MIN_CONFIDENCE})",
    )


def sequence_settings(args: argparse.Namespace, length: int) -> SequenceSettings:
    try:
        return replace(
            SequenceSettings(),
            length=length,
            velocities=args.velocities,
            min_confidence=args.sequence_confidence,
        )
    except SequenceSettingsError as exc:
        raise PlaceRecognitionError(f"--sequence/--velocities: {exc}") from None


def route_stream(
    args: argparse.Namespace, index: PlaceIndex, input_kind: str
) -> RouteStream | None:
    """The demo's route stream, or None when sequence matching is off (and why, logged)."""
    if args.sequence == 0:
        return None
    routes = RouteStream(index, sequence_settings(args, args.sequence or DEFAULT_LENGTH))
    longest = routes.layout.longest_route()
    if longest < MIN_ROUTE_FRAMES:
        if args.sequence:
            logger.warning(
                "--sequence %d: the gallery has no route to follow (images in its root, "
                "--routes folders or places.csv route columns make one); single frames only",
                args.sequence,
            )
        return None
    if args.sequence is None and input_kind not in STREAM_INPUTS:
        return None
    logger.info(
        "sequence matching on (L=%d, velocities %s): %d route(s), the longest %d frames%s",
        routes.settings.length,
        ",".join(f"{v:g}" for v in routes.settings.velocities),
        len(routes.layout.starts),
        longest,
        "" if args.sequence else "; --sequence 0 turns it off",
    )
    return routes
