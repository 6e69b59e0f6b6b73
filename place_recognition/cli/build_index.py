"""Index a gallery folder, or bring its index up to date (embeds only new or changed images)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from ..distributed.address import parse_address
from ..distributed.shards import DEFAULT_SHARD_SIZE
from ..errors import EXIT_OK, EXIT_RUNTIME, PlaceRecognitionError
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
    _add_cluster_args(parser)
    add_verbosity_args(parser)
    return parser


def _main(args: argparse.Namespace) -> int:
    _refuse_cluster_mismatch(args)
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
        if args.dask:
            update = _cluster_update(args, model, options)
        else:
            update = update_index(model, args.gallery, args.index, options)
    for relpath, reason in update.failed:
        print(f"skipped {args.gallery / relpath}: {reason}")
    for relpath in update.unfinished:
        print(f"not indexed (its shard failed on the cluster; a re-run takes it): {relpath}")
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
    return EXIT_RUNTIME if update.unfinished else EXIT_OK


def _add_cluster_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster (Dask; see docs/distributed.md)")
    group.add_argument(
        "--dask",
        metavar="CLUSTER",
        type=_cluster,
        default=None,
        help="embed and build on a Dask cluster: local[:N] (N worker processes of 1 thread "
        "here; default one per core) or tcp://HOST:PORT of a running scheduler, whose workers "
        "see the gallery, the index folder and the model at the same paths",
    )
    group.add_argument(
        "--shard-size",
        type=positive_int,
        default=DEFAULT_SHARD_SIZE,
        metavar="N",
        help=f"images per shard of work (default {DEFAULT_SHARD_SIZE})",
    )
    group.add_argument(
        "--on-disk",
        action="store_true",
        help="keep the inverted lists of an IVF index mode in a memory-mapped file beside the "
        "index (indexes larger than RAM; needs --dask)",
    )


def _cluster(text: str) -> str:
    """argparse type: a cluster address (the library's check, as a usage error)."""
    try:
        return parse_address(text).text
    except PlaceRecognitionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _refuse_cluster_mismatch(args: argparse.Namespace) -> None:
    if args.on_disk and not args.dask:
        raise PlaceRecognitionError("--on-disk needs --dask (the lists are merged on the cluster)")
    if args.dask and args.fit_to_gallery:
        raise PlaceRecognitionError(
            "--fit-to-gallery runs without --dask; fit first, then update with --dask"
        )


def _cluster_update(args: argparse.Namespace, model, options: UpdateOptions):
    """update_on_cluster with the command's options; prints the cluster's summary."""
    from ..distributed.update import ClusterOptions, update_on_cluster  # Dask: only when used

    if not (args.verbose or args.debug):  # Dask's own news (connections, nannies): warnings only
        logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = ClusterOptions(args.dask, args.shard_size, args.on_disk)
    update, report = update_on_cluster(model, args.gallery, args.index, options, cluster)
    for line in report.lines():
        print(line)
    return update


def _routes(args: argparse.Namespace) -> RouteMode | None:
    return RouteMode(args.routes) if args.routes else None


def _describe_mode(index) -> str:
    if index.factory == "Flat":
        return "exact search"
    return f"{index.factory}, nprobe {index.nprobe}, re-ranked exactly"


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
