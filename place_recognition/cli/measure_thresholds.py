"""Gallery-derived unknown-place thresholds against labelled calibration, on real sets.

``python scripts/measure_thresholds.py --datasets DIR [-m MODEL]`` runs, for each labelled set
(``ref/``, ``query/``, ``ground_truth.csv``) under DIR, the model and netvlad-lite fitted to the
gallery half, and prints one markdown table per model (bench/threshold_study.py says how).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..bench.threshold_study import Outcome, fitted_model, held_out_split, study
from ..core.sysinfo import cpu_model
from ..eval.datasets import read_ground_truth_folder
from ._args import CommandParser, add_verbosity_args
from ._common import add_model_args, load_model
from ._run import run

DATASETS = ("corridor", "gardens_point_10", "nordland_train")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="measure_thresholds", description=__doc__.split("\n")[0])
    add_model_args(parser)
    parser.add_argument("--datasets", type=Path, required=True, help="folder of labelled sets")
    parser.add_argument(
        "-w",
        "--workdir",
        type=Path,
        default=None,
        help="folder for the fitted models (default: a temporary one)",
    )
    add_verbosity_args(parser)
    return parser


def _table(title: str, rows: list[tuple[str, Outcome]]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| set | threshold rule | threshold | precision | recall | F1 | unknown rejected |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, o in rows:
        lines.append(
            f"| {name} | {o.rule} | {o.threshold:.3f} | {o.precision:.3f} | {o.recall:.3f} "
            f"| {o.f1:.3f} | {o.rejected:.3f} |"
        )
    return "\n".join(lines)


def _stored_threshold(model) -> float | None:
    value = model.info.get("threshold")
    return float(value) if value is not None else None


def _main(args: argparse.Namespace) -> int:
    model = load_model(args)
    print(f"CPU: {cpu_model()}; model {model.describe()}")
    base_rows, fitted_rows = [], []
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for name in DATASETS:
            dataset = read_ground_truth_folder(args.datasets / name)
            small = len(dataset.database) < 80  # gardens_point_10: every other image, one each
            split = held_out_split(dataset, 1 if small else 20, 1 if small else 5)
            stored = _stored_threshold(model)
            for outcome in study(model, dataset, split, stored, not args.quiet):
                base_rows.append((name, outcome))
            fitted = fitted_model(model, dataset, split, work)
            stored = _stored_threshold(fitted)
            for outcome in study(fitted, dataset, split, stored, not args.quiet):
                fitted_rows.append((name, outcome))
    print(_table(f"{model.name} (as shipped)", base_rows))
    print()
    print(_table(f"{model.name} fitted to the gallery half", fitted_rows))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(_main, build_parser(), argv)
