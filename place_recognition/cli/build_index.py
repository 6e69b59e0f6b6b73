"""Index a gallery folder, or bring its index up to date (embeds only new or changed images)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..indexing.gallery_fit import fit_to_gallery
from ..indexing.routes import RouteMode
from ..indexing.update import UpdateOptions, update_index
from ..sequence.layout import RouteLayout
from ._args import (
    CommandParser,
    add_gallery_arg,
    add_gallery_size_arg,
    add_index_arg,
    add_index_mode_args,
    add_verbosity_args,
    positive_int,
)
from ._common import add_model_args, load_model
from ._run import run


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="build_index",
        description="Embed a folder of place images into a persisted faiss index. Re-running "
        "embeds only new or changed images and drops deleted ones.",
    )
    add_model_args(parser)
    # Indexing wants images per second, not the first answer soon (--hint LATENCY overrides).
    parser.set_defaults(hint="THROUGHPUT")
    add_gallery_arg(
        parser,
        "gallery root; the place label is each image's subfolder path, or its places.csv label",
    )
    add_index_arg(
        parser,
        "index folder (default: GALLERY/.place_index/<model fingerprint>/)",
        aliases=("-o", "--output"),
    )
    add_gallery_size_arg(parser, "index only the first N images in sorted order")
    parser.add_argument(
        "--rehash",
        action="store_true",
        help="hash every file, even those whose size and mtime are unchanged",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="ignore the existing index and embed every image again",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=1,
        help="images per inference request (default 1); 4-8 raise throughput when the gallery's "
        "images share one size (consecutive images of one size are grouped; a group cut short "
        "by a change of size is padded, so mixed sizes gain nothing)",
    )
    add_index_mode_args(parser, building=True)
    parser.add_argument(
        "--routes",
        choices=[mode.value for mode in RouteMode],
        default=None,
        help="root: the images in the gallery root form one route, subfolders are places; "
        "folders: every subfolder is a route of frames too, one place per frame (default: the "
        "index's own, root for a new index); places.csv route/index columns add routes anywhere",
    )
    fit = parser.add_argument_group("fitting to the gallery (netvlad-lite only)")
    fit.add_argument(
        "--fit-to-gallery",
        action="store_true",
        help="fit the NetVLAD vocabulary and whitening to this gallery's images (recommended), "
        "save the fitted model in the index folder and index with it; search and the demo "
        "then use it automatically",
    )
    fit.add_argument("-K", "--clusters", type=positive_int, default=None, help="K (model's own)")
    fit.add_argument("--dim", type=positive_int, default=None, help="output dims (model's own)")
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    model = load_model(args, batch=args.batch)
    if args.fit_to_gallery:
        update = fit_to_gallery(
            model,
            args.gallery,
            args.index,
            args.clusters,
            args.dim,
            args.gallery_size,
            progress=not args.quiet,
            routes=_routes(args),
        )
        print(f"fitted model: {update.model.path} ({update.model.describe()})")
    else:
        options = UpdateOptions(
            rehash=args.rehash,
            rebuild=args.rebuild,
            max_images=args.gallery_size,
            index_mode=args.index_mode,
            nprobe=args.nprobe,
            progress=not args.quiet,
            routes=_routes(args),
        )
        update = update_index(model, args.gallery, args.index, options)
    for relpath, reason in update.failed:
        print(f"skipped {args.gallery / relpath}: {reason}")
    state = "saved" if update.saved else "unchanged"
    relabelled = (
        f", {update.relabelled} with new labels or coordinates (places.csv)"
        if update.relabelled
        else ""
    )
    print(
        f"{len(update.index)} images indexed ({update.embedded} embedded, {update.reused} reused, "
        f"{update.removed} removed, {len(update.failed)} failed{relabelled}) in "
        f"{update.seconds:.1f} s; index {state} ({_describe_mode(update.index)}): "
        f"{update.directory}"
    )
    routes = RouteLayout.from_records(update.index.records)
    if len(routes):
        sizes = routes.ends - routes.starts
        print(f"routes: {len(sizes)} ({int(sizes.sum())} images; the longest {int(sizes.max())})")
    return 0


def _routes(args: argparse.Namespace) -> RouteMode | None:
    return RouteMode(args.routes) if args.routes else None


def _describe_mode(index) -> str:
    if index.factory == "Flat":
        return "exact search"
    return f"{index.factory}, nprobe {index.nprobe}, re-ranked exactly"


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
