"""The default model of every command and of :func:`default_model`: netvlad-tf when its IR is in
the data home (``<home>/models/netvlad-tf.xml``, a download the user makes), else netvlad-lite,
built from the committed backbone on first use. The choice and its reason are logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..core.home import models_dir
from .lite import ensure_lite_model

logger = logging.getLogger(__name__)


def netvlad_tf_path() -> Path:
    """Where netvlad-tf is looked for: ``<data home>/models/netvlad-tf.xml``."""
    return models_dir() / "netvlad-tf.xml"


def default_model(progress: bool = False) -> Path:
    """The default model's IR: netvlad-tf when present, else netvlad-lite (built on first use,
    about a minute; ``progress`` shows its progress bar)."""
    netvlad_tf = netvlad_tf_path()
    if netvlad_tf.is_file():
        logger.info("model: %s (netvlad-tf, the default when present)", netvlad_tf)
        return netvlad_tf
    lite = ensure_lite_model(progress=progress)
    logger.info("model: %s (netvlad-lite: %s is not there)", lite, netvlad_tf)
    return lite
