"""Find the places of query images in a gallery's index."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..core.images import read_image
from ..recognition.recognizer import PlaceRecognizer
from ._common import (
    add_index_mode_args,
    add_model_args,
    add_verbosity_args,
    load_model,
    positive_int,
    run,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="search", description="Match query images against an indexed gallery."
    )
    add_model_args(parser)
    parser.add_argument("-gf", "--gallery", type=Path, required=True, help="indexed gallery root")
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="index folder (default: GALLERY/.place_index/<model fingerprint>/)",
    )
    parser.add_argument(
        "-i", "--input", type=Path, nargs="+", required=True, help="query image file(s)"
    )
    parser.add_argument(
        "-k", "--top-k", type=positive_int, default=5, help="matches per query (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line per query")
    add_index_mode_args(parser, building=False)
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    recognizer = PlaceRecognizer.open(load_model(args), args.gallery, args.index)
    if args.nprobe:
        recognizer.index.nprobe = args.nprobe
    for query in args.input:
        matches = recognizer.match(read_image(query), k=args.top_k)
        if args.json:
            hits = [
                {"rank": m.rank, "score": round(m.score, 6), **m.record.to_json()} for m in matches
            ]
            print(json.dumps({"query": str(query), "matches": hits}))
            continue
        print(query)
        for m in matches:
            where = f" ({m.record.lat:.6f}, {m.record.lon:.6f})" if m.record.has_coordinates else ""
            print(f"  {m.rank + 1}. {m.score:.4f}  {m.record.label}{where}  {m.record.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
