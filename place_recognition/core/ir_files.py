"""Saving IRs without leaving a half-written model behind; converting without logging damage."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import openvino as ov

from .files import atomic_write_with


def save_ir(model: ov.Model, path: Path, fp16: bool = False) -> Path:
    """Write ``model`` to ``path`` (.xml + .bin), FP32 weights unless ``fp16``.

    Both files are written under temporary names in the target folder and renamed into place,
    weights first: the .xml, written last, is the commit point a reader opens.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_xml = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        ov.save_model(model, tmp_xml, compress_to_fp16=fp16)
        os.replace(tmp_xml.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(tmp_xml, path)
    finally:
        tmp_xml.unlink(missing_ok=True)
        tmp_xml.with_suffix(".bin").unlink(missing_ok=True)
    return path


def copy_ir(source: Path, target: Path) -> Path:
    """Copy the IR ``source`` (.xml + .bin) to ``target``, weights first, each file atomically."""
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".bin", ".xml"):
        atomic_write_with(
            target.with_suffix(suffix),
            lambda tmp, suffix=suffix: shutil.copyfile(source.with_suffix(suffix), tmp),
        )
    return target


def convert_model(source: str, **options) -> ov.Model:
    """``ov.convert_model``, with the root logger as it was even when the conversion fails.

    OpenVINO sets the root logger to ERROR while converting and restores it only on success
    (``openvino.tools.ovc.convert``): after a failed conversion every warning of this package
    would be silenced for the rest of the process.
    """
    root = logging.getLogger()
    level, filters, handlers = root.level, list(root.filters), list(root.handlers)
    try:
        return ov.convert_model(source, **options)
    finally:
        root.setLevel(level)
        root.filters[:] = filters
        root.handlers[:] = handlers
