"""The model every command embeds with: the model options, the default model and loading it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..core.devices import PRECISIONS
from ..core.model import EmbeddingModel
from ..nets.synthetic import SYNTHETIC_DIR, write_synthetic_model
from ..zoo.lite import ensure_lite_model
from ._args import add_device_arg, add_hint_arg, add_model_path_arg

logger = logging.getLogger("place_recognition.cli")

DEFAULT_MODEL = Path("models") / "netvlad-tf.xml"
# What the measuring commands run by default: speed does not depend on the weight values.
FULL_SIZE_SYNTHETIC = SYNTHETIC_DIR / "netvlad-tf-synthetic.xml"


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """-m, -d, --precision, --hint, --cache-dir."""
    group = parser.add_argument_group("model")
    add_model_path_arg(
        group,
        f"IR .xml or .onnx embedding model (default: {DEFAULT_MODEL} when it exists, "
        "else netvlad-lite, built on first use)",
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
def resolve_model_path(path: Path | None) -> Path:
    """The -m value, else ``models/netvlad-tf.xml`` when it exists, else netvlad-lite.

    netvlad-lite is built from the committed backbone IR on first use (no download, no torch).
    The choice is logged, so every command says at start-up which model it uses.
    """
    if path is not None:
        return path
    if DEFAULT_MODEL.is_file():
        logger.info("model: %s (netvlad-tf, the default when present)", DEFAULT_MODEL)
        return DEFAULT_MODEL
    lite = ensure_lite_model()
    logger.info("model: %s (netvlad-lite; %s is not there)", lite, DEFAULT_MODEL)
    return lite


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
        resolve_model_path(args.model),
        device=args.device,
        precision=args.precision,
        performance_hint=args.hint,
        cache_dir=args.cache_dir,
        input_size=input_size,
        batch=batch,
    )
