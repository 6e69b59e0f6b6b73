"""Recall@N of a model on a labelled set: ``scripts/evaluate.py --dataset DIR [-m MODEL]``."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..datasets import read_ground_truth_folder
from ..evaluating import embed_paths, evaluate_dataset
from ..evaluation import rank_database, recall_at_n
from ..fingerprint import cache_dir
from ..gallery_fit import fit_lite_to_images
from ..images import read_image
from ..recall_plot import save_recall_plot
from ._common import add_model_args, add_verbosity_args, load_model, positive_int, run
from .make_synthetic import parse_size

CURVE_MAX_N = 25


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evaluate",
        description="Embed a labelled set (ref/, query/, ground_truth.csv), rank the references "
        "for every query and print Recall@N (a query counts once if any of its top N is a "
        "positive). Writes a JSON report and a Recall@N plot.",
    )
    add_model_args(parser)
    parser.add_argument("--dataset", type=Path, required=True, help="labelled set folder")
    parser.add_argument("--input-size", type=parse_size, default=None, help="HxW to reshape to")
    parser.add_argument(
        "--fit-to-gallery",
        action="store_true",
        help="fit the netvlad-lite vocabulary and whitening to the set's reference images "
        "(never its queries) before evaluating",
    )
    parser.add_argument(
        "--recall-at", type=positive_int, nargs="+", default=[1, 5, 10], metavar="N"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("out") / "eval", help="report folder (out/eval)"
    )
    parser.add_argument("--no-cache", action="store_true", help="embed again, ignore the cache")
    add_verbosity_args(parser)
    return parser


def _fitted(model, dataset, args):
    """The model re-fitted on the dataset's references, cached by model and image list."""
    key = hashlib.sha256("\n".join(dataset.database).encode()).hexdigest()[:12]
    path = cache_dir() / "fitted" / f"{model.fingerprint.key}-{dataset.name}-{key}.xml"
    if args.no_cache or not path.is_file():
        images = (read_image(p) for p in dataset.database_paths())
        fit_lite_to_images(model, images, path, f"gallery {dataset.name}", progress=not args.quiet)
    return model.sibling(path)


def _main(args: argparse.Namespace) -> int:
    dataset = read_ground_truth_folder(args.dataset)
    model = load_model(args, input_size=args.input_size)
    if args.fit_to_gallery:
        model = _fitted(model, dataset, args)
    ns = tuple(sorted(set(args.recall_at)))
    report, _ranking = evaluate_dataset(
        model, dataset, ns, progress=not args.quiet, use_cache=not args.no_cache
    )
    curve_n = min(max(CURVE_MAX_N, *ns), len(dataset.database))
    database, _ = embed_paths(model, dataset.database_paths())
    queries, _ = embed_paths(model, dataset.query_paths())
    curve = recall_at_n(
        rank_database(queries, database, curve_n)[0],
        dataset.positives,
        tuple(range(1, curve_n + 1)),
    )
    report.extra["recall_curve"] = {str(n): v for n, v in curve.items()}
    stem = f"{dataset.name}-{model.fingerprint.key}"
    json_path = report.save(args.output / f"{stem}.json")
    plot_path = save_recall_plot(
        args.output / f"{stem}.png", {model.name: curve}, f"{dataset.name}: {model.name}"
    )
    print(f"model: {model.describe()}")
    print(f"vocabulary: {report.vocabulary or 'n/a (no NetVLAD head)'}")
    print(report.summary())
    print("timings: " + ", ".join(f"{k} {v}" for k, v in report.timings.items()))
    print(f"report: {json_path}\nplot: {plot_path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
