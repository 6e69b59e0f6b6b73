"""The model every command embeds with: the model options, the default model and loading it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..core.devices import PRECISIONS
from ..core.home import display_path
from ..core.model import EmbeddingModel
from ..nets.synthetic import synthetic_dir, write_synthetic_model
from ..zoo.default import default_model, netvlad_tf_path
from ._args import add_device_arg, add_hint_arg, add_model_path_arg

logger = logging.getLogger("place_recognition.cli")

DEFAULT_MODEL = netvlad_tf_path()  # in the data home (core/home.py)
# What the measuring commands run by default: speed does not depend on the weight values.
FULL_SIZE_SYNTHETIC = synthetic_dir() / "netvlad-tf-synthetic.xml"


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """-m, -d, --precision, --hint, --cache-dir."""
    group = parser.add_argument_group("model")
    add_model_path_arg(
        group,
        f"IR .xml or .onnx embedding model (default: {display_path(DEFAULT_MODEL)} when it "
        "exists, else netvlad-lite, built on first use)",
    )
    add_device_arg(group)
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="inference precision hint (default: the device's own, bf16 on recent Xeon/EPYC)",
    )
    add_hint_arg(group)
    group.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="OpenVINO model cache folder: later starts compile much faster",
    )


# --- default model: netvlad-tf when present, else netvlad-lite ------------------------------
def resolve_model_path(path: Path | None, progress: bool = True) -> Path:
    """The -m value, else the library's default model (zoo/default.py), which logs its choice.

    netvlad-lite is built from the committed backbone IR on first use (no download, no torch),
    with a progress bar unless ``progress`` is False.
    """
    return path if path is not None else default_model(progress=progress)


# --- end default model ------------------------------------------------------------------------


def require_measured_model(path: Path) -> None:
    """A measuring command's -m must exist; the default full-size stand-in is built once."""
    if path.is_file():
        return
    if path != FULL_SIZE_SYNTHETIC:
        raise FileNotFoundError(f"model file not found: {path}")
    print(f"building {path} (full-size synthetic netvlad-tf, 0.6 GB, once)", flush=True)
    write_synthetic_model(path)


def load_model(
    args: argparse.Namespace, input_size: tuple[int, int] | None = None, batch: int = 1
) -> EmbeddingModel:
    return EmbeddingModel(
        resolve_model_path(args.model, progress=not getattr(args, "quiet", False)),
        device=args.device,
        precision=args.precision,
        performance_hint=args.hint,
        cache_dir=args.cache_dir,
        input_size=input_size,
        batch=batch,
    )
