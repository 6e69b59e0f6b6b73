"""EmbeddingModel: the one owner of OpenVINO's Core, compiled model and infer requests.

Images go in as u8 BGR frames of any size; L2-normalised float32 descriptors come out. The resize
to the model's input size runs inside the compiled graph (see ``core/preprocess.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import openvino as ov

from ..errors import PlaceRecognitionError, RuntimeFailure
from .devices import check_device, compile_config, precision_in_effect
from .fingerprint import ModelFingerprint, model_digest
from .preprocess import (
    InputSpec,
    as_bgr,
    embed_preprocessing,
    input_spec,
    output_dim,
)

logger = logging.getLogger(__name__)

RT_SECTION = "place_recognition"  # our keys in the IR's rt_info


def rt_value(model: ov.Model, key: str) -> str | None:
    """A ``place_recognition`` rt_info value of ``model`` as a string, or None when absent."""
    if not model.has_rt_info([RT_SECTION, key]):
        return None
    return model.get_rt_info([RT_SECTION, key]).astype(str)


def rt_section(model: ov.Model) -> dict[str, str]:
    """All ``place_recognition`` rt_info values of ``model`` (name, vocabulary, threshold ...)."""
    if not model.has_rt_info([RT_SECTION]):
        return {}
    section = model.get_rt_info([RT_SECTION])
    try:
        items = section.astype(dict)
    except (RuntimeError, TypeError):
        return {}
    return {str(k): v.astype(str) if hasattr(v, "astype") else str(v) for k, v in items.items()}


def read_model(path: Path, core: ov.Core | None = None) -> ov.Model:
    """Read an IR (.xml) or ONNX file, with a one-line error when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path} (see docs/models.md)")
    if path.suffix.lower() == ".xml" and not path.with_suffix(".bin").is_file():
        raise FileNotFoundError(
            f"model weights not found: {path.with_suffix('.bin')} (an IR's .xml needs its .bin "
            "beside it, with the same name)"
        )
    try:
        return (core or ov.Core()).read_model(path)
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PlaceRecognitionError(f"cannot read model {path}: {first_line}") from exc


def reshape_input(model: ov.Model, size: tuple[int, int]) -> None:
    """Fix the image input to ``size`` = (height, width): the network is fully convolutional."""
    port = model.input(0)
    shape = port.get_partial_shape()
    channels_last = (
        shape.rank.get_length() == 4 and shape[3].is_static and shape[3].get_length() == 3
    )
    height, width = size
    new_shape = [1, height, width, 3] if channels_last else [1, 3, height, width]
    model.reshape({port: ov.PartialShape(new_shape)})


def reshape_batch(model: ov.Model, path: Path, batch: int) -> None:
    """Give the input a static batch of ``batch`` frames.

    Static, not dynamic: OpenVINO's CPU plugin compiles a fixed shape into faster kernels, and
    the demo pads a short last group (see :meth:`EmbeddingModel.frames_tensor`).
    """
    port = model.input(0)
    shape = port.get_partial_shape()
    shape[0] = ov.Dimension(batch)
    try:
        model.reshape({port: shape})
        output = model.output(0).get_partial_shape()
    except RuntimeError as exc:
        raise PlaceRecognitionError(
            f"{path} cannot take batches of frames ({str(exc).strip().splitlines()[0]}); "
            "use a batch of 1"
        ) from exc
    if output.rank.get_length() != 2 or output[0] != ov.Dimension(batch):
        raise PlaceRecognitionError(
            f"{path} keeps a batch of 1 inside its graph (output {output}); use a batch of 1"
        )


def _frame_tensor(image: np.ndarray) -> np.ndarray:
    """A u8 BGR frame of any size as the input of the in-graph preprocessing."""
    return as_bgr(image)[None]


class EmbeddingModel:
    """An image-embedding model compiled on one OpenVINO device.

    Args:
        path: IR ``.xml`` (with its ``.bin``) or ``.onnx``.
        device: passed to OpenVINO unchanged (``CPU``, ``GPU``, ``NPU``, ``AUTO``, ``HETERO:...``).
        precision: inference precision hint ``f32``/``bf16``/``f16``; None = device default.
        performance_hint: ``LATENCY``/``THROUGHPUT``/``CUMULATIVE_THROUGHPUT``; None = default.
        cache_dir: OpenVINO model cache folder; makes later compilations fast.
        input_size: (height, width) to reshape the input to; None keeps the IR's size.
        num_requests: infer requests for batch embedding; None = the device's optimum (at least 2).
        batch: images per request in :meth:`embed_iter` (gallery indexing) and for
            :meth:`frames_tensor` / :meth:`infer_queue` users (the demo's pipeline); above 1 the
            input takes that static batch size.
        threads: inference threads at most (None: OpenVINO uses every core it may).
        host_preprocessing: no in-graph preprocessing; images must already be float32
            (height, width, 3) at the input size, resized on the host. This is the Accuracy
            Checker's path (``eval/ac_protocol.py``); the product path resizes in the graph.
    """

    def __init__(
        self,
        path: Path | str,
        device: str = "CPU",
        precision: str | None = None,
        performance_hint: str | None = None,
        cache_dir: Path | str | None = None,
        input_size: tuple[int, int] | None = None,
        num_requests: int | None = None,
        host_preprocessing: bool = False,
        batch: int = 1,
        threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.device = device
        self.host_preprocessing = host_preprocessing
        # What a sibling model (e.g. one fitted to a gallery) is compiled with, see sibling().
        self._options = {
            "device": device,
            "precision": precision,
            "performance_hint": performance_hint,
            "cache_dir": cache_dir,
            "num_requests": num_requests,
            "host_preprocessing": host_preprocessing,
            "batch": batch,
            "threads": threads,
        }
        core = ov.Core()
        model = read_model(self.path, core)
        if input_size is not None:
            reshape_input(model, input_size)
        self.batch = batch
        if batch > 1:
            reshape_batch(model, self.path, batch)
        self.input: InputSpec = input_spec(model)
        self.dim: int = output_dim(model)
        self.name: str = rt_value(model, "name") or self.path.stem
        self.synthetic: bool = rt_value(model, "synthetic") == "true"
        self.info: dict[str, str] = rt_section(model)
        if self.synthetic:
            logger.warning(
                "%s is a SYNTHETIC stand-in with random weights: it runs like netvlad-tf but "
                "cannot recognise places",
                self.path,
            )
        check_device(core, device)
        if cache_dir is not None:
            core.set_property({"CACHE_DIR": str(cache_dir)})
        config = compile_config(precision, performance_hint, threads)
        try:
            graph = model if host_preprocessing else embed_preprocessing(model, self.input)
            self._compiled = core.compile_model(graph, device, config)
        except RuntimeError as exc:
            raise RuntimeFailure(f"cannot compile {self.path} on {device}: {exc}") from exc
        self.precision: str = precision_in_effect(self._compiled)
        optimal = self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
        self.num_requests: int = num_requests or max(2, int(optimal))
        self._request = self._compiled.create_infer_request()
        self._to_tensor = self._host_tensor if host_preprocessing else _frame_tensor
        self._fingerprint: ModelFingerprint | None = None
        logger.info(
            "model %s: input %s %s %dx%d, output %d-d, device %s, precision %s",
            self.name,
            self.input.name,
            self.input.layout,
            self.input.height,
            self.input.width,
            self.dim,
            device,
            self.precision,
        )

    @property
    def fingerprint(self) -> ModelFingerprint:
        """Name, file digest, input size and output size (the digest is computed on first use)."""
        if self._fingerprint is None:
            self._fingerprint = ModelFingerprint(
                self.name, model_digest(self.path), self.input.size, self.dim
            )
        return self._fingerprint

    def embed(self, image: np.ndarray) -> np.ndarray:
        """Descriptor of one u8 BGR image (H, W, 3) of any size: (D,) float32, L2-normalised."""
        self._request.infer({0: self._group_tensor([image])})
        return self._request.get_output_tensor(0).data[0].copy()

    def embed_batch(self, images: Iterable[np.ndarray]) -> np.ndarray:
        """Descriptors of many images, in input order: (N, D) float32."""
        rows = list(self.embed_iter(images))
        return np.stack(rows) if rows else np.empty((0, self.dim), np.float32)

    def embed_iter(self, images: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Embed a stream of images with several requests in flight; yields (D,) in input order.

        With ``batch`` above 1, up to that many consecutive images of the same size go into
        one request (a short group, at a change of size or at the end, is padded).
        """
        queue = ov.AsyncInferQueue(self._compiled, self.num_requests)
        done: dict[int, np.ndarray] = {}
        sizes: dict[int, int] = {}
        next_job = 0

        def on_done(request: ov.InferRequest, job: int) -> None:
            # Copy now: the request's output buffer is reused by the next job on it.
            done[job] = request.get_output_tensor(0).data.copy()

        def ready() -> Iterator[np.ndarray]:
            nonlocal next_job
            while next_job in done:
                yield from done.pop(next_job)[: sizes.pop(next_job)]
                next_job += 1

        queue.set_callback(on_done)
        try:
            for job, group in enumerate(self._groups(images)):
                sizes[job] = len(group)
                queue.start_async({0: self._group_tensor(group)}, userdata=job)
                yield from ready()
            queue.wait_all()
            yield from ready()
        finally:
            queue.wait_all()

    def _groups(self, images: Iterable[np.ndarray]) -> Iterator[list[np.ndarray]]:
        """Consecutive images of one size, ``batch`` at most per group."""
        group: list[np.ndarray] = []
        for image in images:
            if group and (len(group) == self.batch or image.shape != group[0].shape):
                yield group
                group = []
            group.append(image)
        if group:
            yield group

    def _group_tensor(self, group: list[np.ndarray]) -> np.ndarray:
        if self.batch == 1:
            return self._to_tensor(group[0])
        if self.host_preprocessing:
            padded = group + [group[-1]] * (self.batch - len(group))
            return np.concatenate([self._host_tensor(image) for image in padded])
        return self.frames_tensor(group)

    def infer_queue(self, jobs: int | None = None) -> ov.AsyncInferQueue:
        """An AsyncInferQueue on the compiled model (``jobs`` requests; default num_requests)."""
        return ov.AsyncInferQueue(self._compiled, jobs or self.num_requests)

    def frames_tensor(self, images: list[np.ndarray]) -> np.ndarray:
        """1 to ``batch`` same-size u8 BGR frames as one input tensor (batch, H, W, 3).

        A short group is padded with copies of its last frame; output rows past
        ``len(images)`` are to be ignored.
        """
        if not 0 < len(images) <= self.batch:
            raise ValueError(f"{len(images)} frames for a model compiled for {self.batch}")
        if self.batch == 1:
            return _frame_tensor(images[0])
        padded = list(images) + [images[-1]] * (self.batch - len(images))
        return np.stack([as_bgr(image) for image in padded])

    @property
    def compile_options(self) -> dict:
        """The options this model was compiled with (device, precision, hint, cache folder,
        requests, batch, threads): what :meth:`sibling` passes on, or another process needs
        to compile the same model the same way."""
        return dict(self._options)

    def sibling(self, path: Path | str, **overrides) -> EmbeddingModel:
        """Another model compiled with this one's device, precision, hint, cache and requests
        (``overrides``: options to change, e.g. ``precision="f32"``)."""
        return EmbeddingModel(path, **{**self._options, **overrides})

    def with_host_preprocessing(self) -> EmbeddingModel:
        """This model again, taking host-resized float32 images (the Accuracy Checker's path)."""
        options = {**self._options, "host_preprocessing": True}
        return EmbeddingModel(self.path, input_size=self.input.size, **options)

    def _host_tensor(self, image: np.ndarray) -> np.ndarray:
        """A host-preprocessed (H, W, 3) float image as the model's input tensor."""
        if image.shape != (self.input.height, self.input.width, 3):
            raise ValueError(
                f"host-preprocessed input must be {self.input.height}x{self.input.width}x3, "
                f"got {image.shape}"
            )
        tensor = np.asarray(image, np.float32)[None]
        return tensor.transpose(0, 3, 1, 2) if self.input.layout == "NCHW" else tensor

    def describe(self) -> str:
        """One line for logs and summaries."""
        kind = " (synthetic stand-in)" if self.synthetic else ""
        return (
            f"{self.name}{kind} {self.input.height}x{self.input.width}->{self.dim}d "
            f"on {self.device}, precision {self.precision}"
        )
