"""The sections of ``scripts/benchmark.py``: each measures (in interleaved rounds where the
machine's load matters) and returns its numbers as a JSON-ready dict; the CLI prints them.

Callbacks let the caller show progress as it happens: ``on_command`` sees every external command
before it runs (so each number can be reproduced by hand), ``on_round`` / ``on_row`` each
finished round or row as the dict that ends up in the report.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.model import EmbeddingModel
from ..core.sysinfo import cap_thread_pools
from ..eval.datasets import read_dataset
from ..eval.noise import recall_under_query_noise
from ..eval.runs import evaluate_dataset
from ..nets.int8 import FLOAT_FRONT_SHARE, int8_fidelity, quantize_int8
from . import measurements as bm
from .benchmark_app import BenchmarkAppResult, benchmark_app_sweep

logger = logging.getLogger(__name__)

RECALL_CALIBRATION_IMAGES = 300  # the first references of the recall set; the check skips them

Report = Callable[[dict], None]


@dataclass(frozen=True)
class Target:
    """The IR measured and how.

    ``precision``: the one asked for (None: the device's own); ``infer_precision``: the one in
    effect, which ``benchmark_app`` is given so that both run alike. ``workdir`` keeps the
    generated galleries and quantized copies for later runs.
    """

    model: Path
    device: str
    precision: str | None
    infer_precision: str
    workdir: Path
    seconds: int = 10  # benchmark_app time per configuration
    on_command: Callable[[str], None] | None = None

    def sweep(self, models: dict[str, Path]) -> dict[str, BenchmarkAppResult]:
        return benchmark_app_sweep(
            models, self.device, self.infer_precision, self.seconds, on_command=self.on_command
        )


def measure_indexing(
    target: Target, images: int, batches: list[int], runs: int, on_round: Report | None = None
) -> dict:
    """Indexing from JPEG files (the best of ``batches``) against the best ``benchmark_app``
    and against the reference demo's gallery build, in ``runs`` rounds; the median round."""
    paths = bm.make_image_gallery(target.workdir / f"gallery_{images}", images)
    rounds = []
    for _ in range(runs):
        rounds.append(_indexing_round(target, paths, batches))
        if on_round:
            on_round(rounds[-1])
    median = sorted(rounds, key=lambda r: r["indexing_vs_benchmark_app"])[len(rounds) // 2]
    return {
        "images": images,
        "rounds": rounds,
        "median_round": rounds.index(median),
        "indexing_vs_benchmark_app": median["indexing_vs_benchmark_app"],
        "build_speedup_vs_reference": bm.median([r["build_speedup_vs_reference"] for r in rounds]),
    }


def _indexing_round(target: Target, paths: list[Path], batches: list[int]) -> dict:
    gallery = paths[0].parents[1]
    builds = {
        batch: bm.time_our_build(
            target.model, gallery, target.workdir, target.device, target.precision, batch
        )
        for batch in batches
    }
    best_batch = max(builds, key=lambda batch: builds[batch].images_per_s)
    ours = builds[best_batch]
    reference = bm.time_reference_build(target.model, paths, target.device)
    sweep = target.sweep({"model": target.model})["model"]
    decode = bm.decode_images_per_s(paths)
    bound = 1 / (1 / decode + 1 / sweep.best_fps)  # decode and inference share the cores
    return {
        "ours": vars(ours),
        "ours_batch": best_batch,
        "ours_images_per_s_by_batch": {b: t.images_per_s for b, t in builds.items()},
        "reference": vars(reference),
        "benchmark_app": sweep.to_dict(),
        "indexing_images_per_s": ours.images_per_s,
        "benchmark_app_best_fps": sweep.best_fps,
        "indexing_vs_benchmark_app": ours.images_per_s / sweep.best_fps,
        "decode_only_images_per_s": decode,
        "decode_plus_inference_bound": bound,
        "indexing_vs_bound": ours.images_per_s / bound,
        "build_speedup_vs_reference": reference.total_s / ours.total_s,
        "load_average": os.getloadavg()[0],
    }


def measure_search(dim: int, sizes: list[int], on_row: Report | None = None) -> dict:
    """ms per query at each gallery size, ``PlaceIndex`` vs the reference demo's search."""
    cap_thread_pools()  # as the demo searches: one faiss thread
    rows = []
    for size in sizes:
        rows.append(bm.time_search(dim, size, queries=200, reference_queries=20))
        if on_row:
            on_row(rows[-1])
    return {"sizes": rows}


def reference_builds(target: Target, images: int, indexing: dict | None) -> list[bm.BuildTiming]:
    """The reference demo's gallery builds: those of the indexing section, else one made now."""
    if indexing is not None:
        return [bm.BuildTiming(**r["reference"]) for r in indexing["rounds"]]
    paths = bm.make_image_gallery(target.workdir / f"gallery_{images}", images)
    return [bm.time_reference_build(target.model, paths, target.device)]


def compare_startup(
    builds: list[bm.BuildTiming], images: int, warm_starts: list[tuple[float, float]]
) -> dict:
    """Our measured warm starts (first frame, process wall time) against the reference demo's
    start-up with ``images`` images, extrapolated from its measured ``builds``."""
    reference = bm.median([bm.extrapolate_start(b, images) for b in builds])
    first = bm.median([first for first, _ in warm_starts])
    return {
        "images": images,
        "ours_first_frame_s": first,
        "ours_process_s": bm.median([wall for _, wall in warm_starts]),
        "reference_s_extrapolated": reference,
        "reference_measured_images": builds[0].images,
        "speedup": reference / first,
    }


def quantized_copy(model: Path, calibration: Path, workdir: Path, subset: int) -> Path:
    """The INT8 copy of ``model`` calibrated on ``subset`` images of ``calibration``, made once.

    Named by what it was calibrated on (the speed and recall parts may calibrate differently)
    and by the float front, so that a copy made by an earlier recipe is not reused.
    """
    source = f"{calibration.parent.name}-{calibration.name}-{subset}"
    output = workdir / f"{model.stem}-int8-{source}-front{FLOAT_FRONT_SHARE}.xml"
    if not output.is_file() or output.stat().st_mtime < model.stat().st_mtime:
        logger.info("quantizing %s on %s (%d images at most)", model, calibration, subset)
        quantize_int8(model, calibration, output, subset=subset)
    return output


def measure_int8_speed(
    target: Target, calibration: Path, runs: int, on_round: Report | None = None
) -> dict:
    """``benchmark_app`` speed-up of the INT8 copy over the float IR, in ``runs`` rounds."""
    int8 = quantized_copy(target.model, calibration, target.workdir, 100)
    rounds = []
    for _ in range(runs):
        sweeps = target.sweep({"default": target.model, "int8": int8})
        best = {name: sweep.best_fps for name, sweep in sweeps.items()}
        rounds.append(
            {name: sweep.to_dict() | {"best_fps": best[name]} for name, sweep in sweeps.items()}
            | {"speedup": best["int8"] / best["default"], "load_average": os.getloadavg()[0]}
        )
        if on_round:
            on_round(rounds[-1])
    speedup = bm.median([r["speedup"] for r in rounds])
    return {"int8_model": str(int8), "rounds": rounds, "speedup": speedup}


def measure_int8_recall(
    model: Path, dataset_dir: Path, workdir: Path, device: str, precision: str | None
) -> dict:
    """Recall@N of ``model`` and its INT8 copy on a labelled set, the descriptors' fidelity on
    held-out references, and the float model's R@1 under query pixel noise (the yardstick)."""
    dataset = read_dataset(dataset_dir)
    calibration = dataset_dir / "ref"
    int8 = quantized_copy(model, calibration, workdir, RECALL_CALIBRATION_IMAGES)
    recalls = {}
    for name, path in (("default", model), ("int8", int8)):
        embedder = EmbeddingModel(path, device, precision)
        report, _ = evaluate_dataset(embedder, dataset, use_cache=False)
        recalls[name] = {str(n): r for n, r in report.recall_at.items()}
        recalls[name]["precision"] = report.precision
    fidelity = int8_fidelity(
        model, int8, calibration, skip=RECALL_CALIBRATION_IMAGES, device=device
    )
    noisy = recall_under_query_noise(model, dataset, device=device, precision=precision)
    return {
        "model": str(model),
        "dataset": dataset.describe(),
        "queries": len(dataset.queries),
        "recall_at": recalls,
        "recall_at_1_change_points": 100 * (recalls["int8"]["1"] - recalls["default"]["1"]),
        "fidelity": fidelity.to_dict(),
        "float_recall_at_1_with_query_noise": noisy,
    }
