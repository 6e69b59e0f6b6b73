"""netvlad-tf checkpoint -> the Open Model Zoo IR, with OpenVINO's TensorFlow frontend (no TF).

Sources, in order of preference (docs/background/netvlad-tf.md):

* ``meta``: the TF1 MetaGraph ``PREFIX.meta`` with its checkpoint (``PREFIX.index`` +
  ``PREFIX.data-*``), as unpacked from ``netvlad.zip``; ``openvino.convert_model`` restores the
  variables itself.
* ``frozen``: a frozen ``model_frozen.pb`` as OMZ's pre-convert step writes it (the route
  ``omz_converter`` takes through Model Optimizer).
* ``variables``: a checkpoint without its ``.meta``: the variables are read here and the known
  topology is built by :func:`netvlad_graph.build_netvlad_model`.

Every route ends with the OMZ IR interface: input ``Placeholder`` f32 [1, H, W, 3] NHWC **BGR**
(the channel swap is prepended with ``PrePostProcessor``, as ``--reverse_input_channels`` does),
output ``vgg16_netvlad_pca/l2_normalize_1`` [1, D].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import openvino as ov
from openvino.preprocess import PrePostProcessor

from ..core.ir_files import convert_model, save_ir
from ..core.model import RT_SECTION
from ..core.preprocess import input_spec, output_dim
from ..errors import PlaceRecognitionError
from ..nets.netvlad_tf import (
    INPUT_NAME,
    OUTPUT_NAME,
    build_netvlad_model,
    weight_shapes,
)
from .download import (
    CHECKPOINT_NAME,
    NETVLAD_ZIP,
    RemoteFile,
    unpack_zip,
    verify_file,
)
from .tf_checkpoint import Checkpoint

logger = logging.getLogger(__name__)

MODEL_NAME = "netvlad-tf"
DEFAULT_INPUT_SIZE = (200, 300)
PRECISIONS = ("FP32", "FP16")
INPUT_TENSOR = f"{INPUT_NAME}:0"
OUTPUT_TENSOR = f"{OUTPUT_NAME}:0"


class ConversionError(PlaceRecognitionError):
    """The source cannot be found, verified or converted."""


@dataclass(frozen=True)
class NetvladSource:
    """What to convert: ``kind`` is "meta", "frozen" or "variables" (see the module docstring).

    ``path`` is the ``.meta`` file, the ``.pb`` file, or the checkpoint prefix.
    """

    kind: str
    path: Path

    @property
    def checkpoint_prefix(self) -> Path | None:
        if self.kind == "frozen":
            return None
        return self.path.with_suffix("") if self.kind == "meta" else self.path


def locate_source(
    path: Path, expected_zip: RemoteFile | None = NETVLAD_ZIP, progress: bool = False
) -> NetvladSource:
    """Find the checkpoint (or frozen graph) in what the user gave.

    ``path`` may be the OMZ download folder (``<dl>`` or ``<dl>/public/netvlad-tf``), the
    unpacked checkpoint folder, a checkpoint file (``.meta``/``.index``) or prefix, a frozen
    ``.pb``, or the ``netvlad.zip`` archive. A zip is verified against ``expected_zip`` (size,
    sha384, sha256; ``None`` skips that check) and unpacked beside itself, as omz_downloader does.
    """
    path = Path(path)
    if path.suffix == ".zip" and path.is_file():
        return _from_zip(path, expected_zip, progress)
    if path.suffix == ".pb" and path.is_file():
        return NetvladSource("frozen", path)
    if path.suffix in (".meta", ".index") or Path(f"{path}.index").is_file():
        return _from_prefix(path.with_suffix("") if path.suffix in (".meta", ".index") else path)
    if path.is_dir():
        return _from_directory(path, expected_zip, progress)
    raise ConversionError(
        f"{path} does not exist; give the OMZ download folder, the unpacked "
        f"{CHECKPOINT_NAME} folder, netvlad.zip or model_frozen.pb"
    )


def _from_prefix(prefix: Path) -> NetvladSource:
    meta = Path(f"{prefix}.meta")
    if meta.is_file():
        return NetvladSource("meta", meta)
    if Path(f"{prefix}.index").is_file():
        logger.warning("%s not found: building the known topology from the variables", meta)
        return NetvladSource("variables", prefix)
    raise ConversionError(f"checkpoint {prefix}: neither {meta} nor {prefix}.index exists")


def _from_zip(archive: Path, expected: RemoteFile | None, progress: bool) -> NetvladSource:
    if expected is not None:
        logger.info("verifying %s", archive)
        verify_file(archive, expected, progress)
    logger.info("unpacking %s into %s", archive, archive.parent)
    unpack_zip(archive, archive.parent)
    return _from_directory(archive.parent, None, progress, allow_zip=False)


def _from_directory(
    folder: Path, expected_zip: RemoteFile | None, progress: bool, allow_zip: bool = True
) -> NetvladSource:
    prefixes = sorted({p.with_suffix("") for p in folder.rglob("*.index")})
    if len(prefixes) > 1:
        preferred = [p for p in prefixes if p.name == CHECKPOINT_NAME]
        if len(preferred) != 1:
            listing = ", ".join(str(p) for p in prefixes)
            raise ConversionError(f"{folder} holds several checkpoints ({listing}); give one")
        prefixes = preferred
    if prefixes:
        return _from_prefix(prefixes[0])
    zips = sorted(folder.rglob("*.zip"))
    if allow_zip and len(zips) == 1:
        return _from_zip(zips[0], expected_zip, progress)
    frozen = sorted(folder.rglob("*.pb"))
    if len(frozen) == 1:
        return NetvladSource("frozen", frozen[0])
    raise ConversionError(
        f"no netvlad-tf checkpoint (.index + .data + .meta), single netvlad.zip or single "
        f"model_frozen.pb found under {folder}; download {NETVLAD_ZIP.describe()}"
    )


def verify_source(source: NetvladSource) -> None:
    """Check the files are complete and hold the netvlad-tf variables, before any conversion."""
    if source.kind == "frozen":
        if source.path.stat().st_size == 0:
            raise ConversionError(f"{source.path} is empty")
        return
    if source.kind == "meta" and source.path.stat().st_size == 0:
        raise ConversionError(f"{source.path} is empty")
    checkpoint = Checkpoint(source.checkpoint_prefix)
    checkpoint.verify()
    expected = weight_shapes()
    missing = sorted(set(expected) - set(checkpoint.entries))
    if missing:
        raise ConversionError(
            f"checkpoint {checkpoint.prefix} is not netvlad-tf: variables {', '.join(missing)} "
            "are missing"
        )
    for name, shape in expected.items():
        found = checkpoint.entries[name].shape
        if len(found) != len(shape):
            raise ConversionError(
                f"checkpoint {checkpoint.prefix}: {name} has shape {list(found)}, "
                f"expected rank {len(shape)} like {list(shape)}"
            )


def convert_netvlad(
    source: NetvladSource, input_size: tuple[int, int] = DEFAULT_INPUT_SIZE
) -> ov.Model:
    """Verify ``source`` and convert it to an ``ov.Model`` with the OMZ IR interface.

    ``input_size`` (height, width) fixes the input; the network is fully convolutional, so any
    size of at least 16x16 works (docs/background/netvlad-tf.md), 200x300 being the OMZ one.
    """
    height, width = input_size
    if height < 16 or width < 16:
        raise ConversionError(f"input size {height}x{width} is too small: at least 16x16")
    verify_source(source)
    if source.kind == "variables":
        weights = Checkpoint(source.checkpoint_prefix).read_all()
        model = build_netvlad_model(weights, input_size)  # BGR interface built in
    else:
        model = _reverse_input_channels(_frontend_convert(source.path, height, width))
    return _omz_interface(model, source)


def _frontend_convert(path: Path, height: int, width: int) -> ov.Model:
    logger.info("converting %s with the OpenVINO %s TensorFlow frontend", path, ov.__version__)
    if path.suffix == ".meta":
        # The frontend first tries the file as a GraphDef and lets protobuf log about it.
        logger.info("(protobuf 'invalid UTF-8' lines printed while reading a .meta are harmless)")
    try:
        return convert_model(
            str(path), input=[(INPUT_TENSOR, [1, height, width, 3])], output=OUTPUT_TENSOR
        )
    except Exception as exc:  # the frontend raises several unrelated types for a bad graph
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConversionError(f"OpenVINO cannot convert {path}: {first_line}") from exc


def _reverse_input_channels(model: ov.Model) -> ov.Model:
    """Prepend BGR -> RGB: the IR takes BGR like the OMZ one, the graph inside stays RGB."""
    ppp = PrePostProcessor(model)
    ppp.input(0).tensor().set_layout(ov.Layout("NHWC"))
    ppp.input(0).model().set_layout(ov.Layout("NHWC"))
    ppp.input(0).preprocess().reverse_channels()
    return ppp.build()


def _omz_interface(model: ov.Model, source: NetvladSource) -> ov.Model:
    # Names both ways: the OMZ IR has the bare TF names, the TF frontend adds ":0".
    model.input(0).get_tensor().set_names({INPUT_NAME, INPUT_TENSOR})
    model.output(0).get_tensor().set_names({OUTPUT_NAME, OUTPUT_TENSOR})
    model.get_parameters()[0].set_friendly_name(INPUT_NAME)
    model.set_friendly_name(MODEL_NAME)
    input_spec(model)  # refuse (ModelContractError) anything but a rank-4 image in, [N, D] out
    output_dim(model)
    model.set_rt_info(MODEL_NAME, [RT_SECTION, "name"])
    model.set_rt_info(source.path.name, [RT_SECTION, "converted_from"])
    model.set_rt_info(
        f"openvino {ov.__version__} TensorFlow frontend ({source.kind})",
        [RT_SECTION, "converted_with"],
    )
    return model


def omz_ir_path(output_dir: Path, precision: str) -> Path:
    """``<output_dir>/public/netvlad-tf/<precision>/netvlad-tf.xml``, omz_converter's layout."""
    return Path(output_dir) / "public" / MODEL_NAME / precision / f"{MODEL_NAME}.xml"


def write_irs(model: ov.Model, output_dir: Path, precisions: tuple[str, ...]) -> dict[str, Path]:
    """Save one IR per precision in the OMZ tree (FP16 = weights compressed to half floats)."""
    unknown = sorted(set(precisions) - set(PRECISIONS))
    if unknown:
        raise ConversionError(f"unknown precision {', '.join(unknown)}; use FP32 and/or FP16")
    # FP32 first: it must be written before any FP16 compression touches the weights.
    ordered = [p for p in PRECISIONS if p in precisions]
    return {p: save_ir(model, omz_ir_path(output_dir, p), fp16=p == "FP16") for p in ordered}
