"""The frozen backbone's local features of every image, computed once through OpenVINO and cached.

They come from the netvlad-lite IR itself, cut where its head starts
(``lite.local_features_model``), with the f32 hint, so training sees exactly what the deployed
IR's head sees. The cache is one float32 ``.npy`` (N, h*w, C) per image list, keyed by the IR's
fingerprint (name, digest, input size) and the images' paths, sizes and mtimes; it is written
atomically.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import openvino as ov

from ..core.files import atomic_save_npy
from ..core.home import cache_dir
from ..core.images import read_image
from ..core.ir_files import save_ir
from ..core.model import EmbeddingModel, read_model
from ..core.prefetch import ordered_prefetch
from ..eval.runs import embedding_cache_file
from ..nets.lite import local_features_model

logger = logging.getLogger(__name__)

# bf16 would move the backbone's activations (docs/background/precision.md)
FEATURES_PRECISION = "f32"


class LocalFeatureExtractor:
    """Local features (n, C) of images under a netvlad-lite IR, cached per image list."""

    def __init__(self, lite_path: Path, cache: Path | None = None, device: str = "CPU") -> None:
        self.lite_path = Path(lite_path)
        self.lite = EmbeddingModel(self.lite_path, device=device, precision=FEATURES_PRECISION)
        self.cache = Path(cache) if cache else cache_dir() / "local-features"
        self._device = device
        self._local: EmbeddingModel | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="place-recognition-")
        self.channels = int(_local_channels(read_model(self.lite_path)))

    def _local_model(self) -> EmbeddingModel:
        if self._local is None:
            path = save_ir(
                local_features_model(read_model(self.lite_path)), Path(self._tmp.name) / "l.xml"
            )
            self._local = EmbeddingModel(path, device=self._device, precision=FEATURES_PRECISION)
        return self._local

    def cache_file(self, paths: list[Path]) -> Path:
        # The lite IR's fingerprint (its file digest and input size) names the backbone cut.
        file = embedding_cache_file(self.lite, paths, self.cache)
        return file.with_name(f"local-{file.name}")

    def features(
        self, paths: list[Path], progress: bool = False, what: str = "images"
    ) -> np.ndarray:
        """(N, h*w, C) float32 per-location L2-normalised features of ``paths``, in order."""
        from tqdm import tqdm

        cache_file = self.cache_file(paths)
        if cache_file.is_file():
            logger.info("local features of %d %s from the cache %s", len(paths), what, cache_file)
            return np.load(cache_file, mmap_mode="r")
        local = self._local_model()
        rows = local.embed_iter(ordered_prefetch(read_image, paths))
        bar = tqdm(
            rows, total=len(paths), unit="img", desc=f"features ({what})", disable=not progress
        )
        stacked = np.stack([row.reshape(-1, self.channels) for row in bar]).astype(np.float32)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(cache_file, stacked)
        return stacked

    def close(self) -> None:
        self._tmp.cleanup()


def _local_channels(model: ov.Model) -> int:
    from ..nets.lite import local_features_output

    return local_features_output(model).get_partial_shape()[1].get_length()
