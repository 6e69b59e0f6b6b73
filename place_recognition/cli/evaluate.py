"""Recall@N of a model on a labelled set, with a JSON report and a plot."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..core.home import cache_dir, display_path, output_dir
from ..core.images import ImageFiles
from ..core.model import EmbeddingModel
from ..eval.datasets import read_dataset
from ..eval.metrics import RecallReport
from ..eval.plots import save_recall_plot
from ..eval.runs import embed_paths, evaluate_dataset, evaluate_like_accuracy_checker
from ..eval.sequences import evaluate_sequences
from ..indexing.gallery_fit import fit_lite_to_images
from ._args import CommandParser, add_verbosity_args, parse_size, positive_int
from ._common import add_model_args, load_model
from ._run import run
from ._sequence import add_sequence_args, sequence_settings

CURVE_MAX_N = 25


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="evaluate",
        description="Embed a labelled set, rank the database for every query and print Recall@N "
        "(a query counts once if any of its top N is a positive), and, for sets with UTM "
        "positions, the Accuracy Checker's localization_recall. Writes a JSON report and a "
        "Recall@N plot.",
    )
    add_model_args(parser)
    parser.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="a folder with ref/, query/, ground_truth.csv; a NetVLAD split .mat "
        "(pitts250k/datasets/pitts30k_val.mat); or a folder with database/ and queries/ "
        "images named @east@north@...",
    )
    parser.add_argument(
        "--protocol",
        choices=("product", "accuracy-checker", "both"),
        default=None,
        help="product: OpenCV decode, in-graph resize, inner product; accuracy-checker: PIL "
        "decode, host cv2.resize, squared L2, localization_recall (default: both for sets with "
        "UTM positions, else product)",
    )
    parser.add_argument("--input-size", type=parse_size, default=None, help="HxW to reshape to")
    parser.add_argument(
        "--fit-to-gallery",
        action="store_true",
        help="fit the netvlad-lite vocabulary and whitening to the set's reference images "
        "(never its queries) before evaluating",
    )
    parser.add_argument(
        "--recall-at", type=positive_int, nargs="+", default=[1, 5, 10, 20], metavar="N"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=output_dir("eval"),
        help=f"report folder (default {display_path(output_dir('eval'))})",
    )
    parser.add_argument("--no-cache", action="store_true", help="embed again, ignore the cache")
    add_sequence_args(parser, default="0 (off)")
    add_verbosity_args(parser)
    return parser


def _fitted(model, dataset, args):
    """The model re-fitted on the dataset's references, cached by model and image list."""
    key = hashlib.sha256("\n".join(dataset.database).encode()).hexdigest()[:12]
    path = cache_dir() / "fitted" / f"{model.fingerprint.key}-{dataset.name}-{key}.xml"
    if args.no_cache or not path.is_file():
        images = ImageFiles(dataset.database_paths(), skip_unreadable=False)
        fit_lite_to_images(model, images, path, f"gallery {dataset.name}", progress=not args.quiet)
    return model.sibling(path)


def _main(args: argparse.Namespace) -> int:
    dataset = read_dataset(args.dataset)
    model = load_model(args, input_size=args.input_size)
    if args.fit_to_gallery:
        model = _fitted(model, dataset, args)
    ns = tuple(sorted(set(args.recall_at)))
    curve_ns = tuple(range(1, min(max(CURVE_MAX_N, *ns), len(dataset.database)) + 1))
    report, _ranking = evaluate_dataset(
        model, dataset, tuple(sorted({*ns, *curve_ns})), not args.quiet, None, not args.no_cache
    )
    if args.sequence:
        report.sequence = _sequence_entry(model, dataset, args, ns)
    curve = report.recall_at
    report.recall_at = {n: curve[n] for n in ns}
    report.extra["recall_curve"] = {str(n): curve[n] for n in curve_ns}
    protocol = args.protocol or ("both" if dataset.has_utm else "product")
    if protocol != "product":
        report.extra["accuracy_checker"] = evaluate_like_accuracy_checker(
            model, dataset, ns, progress=not args.quiet, use_cache=not args.no_cache
        )
    stem = f"{dataset.name}-{model.fingerprint.key}"
    json_path = report.save(args.output / f"{stem}.json")
    plot_path = save_recall_plot(
        args.output / f"{stem}.png",
        {model.name: {n: curve[n] for n in curve_ns}},
        f"{dataset.name}: {model.name}",
    )
    _print_report(model, report, protocol)
    print(f"report: {json_path}\nplot: {plot_path}")
    return 0


def _sequence_entry(model, dataset, args, ns: tuple[int, ...]) -> dict:
    """Recall@N of the sequence matcher, the queries streamed in natural order (causal)."""
    settings = sequence_settings(args, args.sequence)
    use_cache = not args.no_cache
    database, _ = embed_paths(model, dataset.database_paths(), False, None, use_cache)
    queries, _ = embed_paths(model, dataset.query_paths(), False, None, use_cache)
    return evaluate_sequences(
        queries, database, dataset.queries, dataset.database, dataset.positives, settings, ns
    )


def _print_report(model: EmbeddingModel, report: RecallReport, protocol: str) -> None:
    print(f"model: {model.describe()}")
    print(f"vocabulary: {report.vocabulary or 'n/a (no NetVLAD head)'}")
    if protocol != "accuracy-checker":
        print("product path (in-graph resize, inner product): " + report.summary())
    if report.sequence is not None:
        entry = report.sequence
        recalls = "  ".join(f"R@{n} {v:.3f}" for n, v in entry["recall_at"].items())
        velocities = ",".join(f"{v:g}" for v in entry["velocities"])
        print(f"sequences (L={entry['length']}, velocities {velocities}, causal): {recalls}")
    if "accuracy_checker" in report.extra:
        print("Accuracy Checker path: " + _ac_summary(report.extra["accuracy_checker"]))
    print("timings: " + ", ".join(f"{k} {v}" for k, v in report.timings.items()))


def _ac_summary(result: dict) -> str:
    recalls = "  ".join(f"R@{n} {v:.3f}" for n, v in result["recall_at"].items())
    if "localization_recall" in result:
        return f"localization_recall {result['localization_recall']:.4f}  {recalls}"
    return f"{recalls}  (no UTM positions: no localization_recall)"


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
