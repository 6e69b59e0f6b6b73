"""Distributed indexing measured: numbers only, no printing (``scripts/benchmark_distributed.py``).

- ``throughput``: the same gallery indexed by the single-process indexer and by a local Dask
  cluster (N worker processes x 1 thread), rounds interleaved, model compilation left out of
  both (the workers compile in a warm-up run), each timing with the load average before it.
- ``merge``: 1M non-uniform descriptors (real netvlad-lite references augmented as
  bench/search_scale.py does) trained into an inverted file on a sample, added on the cluster
  in shards of 100k, then the parts merged, in memory and on disk, each merge in a fresh
  process (time and peak resident memory).
- ``project``: embedding, training, adding, merging and search memory at other sizes, worker
  counts and dimensions, from the measured rates (a projection on paper: assumptions in
  BENCHMARKS.md).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import psutil  # Dask distributed's own dependency

from ..core.model import EmbeddingModel
from ..distributed.cluster import connect
from ..distributed.ivf_build import add_on_workers, merge_in_memory, merge_on_disk, write_vectors
from ..distributed.update import ClusterOptions, update_on_cluster
from ..index import modes as ann
from ..indexing.engine import Rows
from ..indexing.update import UpdateOptions, update_index

_ROOT = Path(__file__).resolve().parents[2]
_FRESH = UpdateOptions(rebuild=True, index_mode="exact")


def load() -> float:
    """The 1-minute load average (other jobs on the machine), 0 where unknown."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def throughput_rounds(
    model: EmbeddingModel, gallery: Path, workdir: Path, workers: int, shard_size: int, rounds: int
) -> list[dict]:
    """Per round: images/s of one process and of the local cluster, interleaved, and the CPU
    seconds per image of all the processes involved (this one, and the workers): a measure that
    other jobs sharing the cores disturb much less than the wall clock."""
    results = []
    with connect(f"local:{workers}") as client:
        options = ClusterOptions(client.scheduler.address, shard_size)
        update_on_cluster(model, gallery, workdir / "warm-up", _FRESH, options)  # compiles
        processes = [psutil.Process(), *map(psutil.Process, client.run(os.getpid).values())]
        for round_ in range(rounds):
            order = ("single", "cluster") if round_ % 2 == 0 else ("cluster", "single")
            for what in order:
                before, cpu, started = load(), _cpu_seconds(processes), time.perf_counter()
                driver = _cpu_seconds(processes[:1])
                if what == "single":
                    update = update_index(model, gallery, workdir / what, _FRESH)
                else:
                    update, _ = update_on_cluster(model, gallery, workdir / what, _FRESH, options)
                seconds = time.perf_counter() - started
                cpu, driver = _cpu_seconds(processes) - cpu, _cpu_seconds(processes[:1]) - driver
                timing = _timing(round_, what, update.embedded, seconds, cpu, before)
                results.append({**timing, "driver_cpu_ms_per_image": _per_image(driver, timing)})
    return results


def _per_image(seconds: float, timing: dict) -> float:
    return round(1000 * seconds / timing["images"], 1)


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(sum(process.cpu_times()[:2]) for process in processes)  # user + system


def _timing(round_: int, what: str, images: int, seconds: float, cpu: float, load_: float) -> dict:
    return {
        "round": round_,
        "indexer": what,
        "images": images,
        "seconds": round(seconds, 2),
        "images_per_s": round(images / seconds, 2),
        "cpu_ms_per_image": round(1000 * cpu / images, 1),
        "load_before": load_,
    }


def ivf_parts(vectors_path: Path, workdir: Path, factory: str, workers: int) -> dict:
    """Train ``factory`` on a sample of the ``.npy`` vectors and add them on a local cluster in
    parts of at most 100k (written to ``workdir``); timings of both and of writing the vectors."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = np.load(vectors_path, mmap_mode="r")
    before, started = load(), time.perf_counter()
    vectors = write_vectors(
        workdir / "vectors.npy", Rows(list(range(len(source))), source, source.shape[1])
    )
    written = time.perf_counter()
    index = ann.new_index(factory, vectors.shape[1])
    ann.train(index, vectors)
    trained = time.perf_counter()
    faiss.write_index(index, str(workdir / "trained.faiss"))
    with connect(f"local:{workers}") as client:
        added = time.perf_counter()
        parts = add_on_workers(client, workdir, len(vectors))
        done = time.perf_counter()
    return {
        "vectors": len(vectors),
        "dim": int(vectors.shape[1]),
        "factory": factory,
        "load_before": before,
        "write_s": written - started,
        "train_s": trained - written,
        "add_s": done - added,
        "add_workers": workers,
        "parts": [str(part) for part in parts],
    }


def merge_in_child(kind: str, workdir: Path) -> dict:
    """Merge ``workdir``'s parts (``memory`` or ``disk``) in a fresh process: seconds, peak RSS."""
    out = workdir / f"merge-{kind}.json"
    code = (
        f"import sys; sys.path.insert(0, {str(_ROOT)!r}); "
        "from place_recognition.bench.distributed_scale import _merge_child; "
        f"_merge_child({kind!r}, {str(workdir)!r}, {str(out)!r})"
    )
    before = load()
    subprocess.run([sys.executable, "-c", code], check=True)
    return {**json.loads(out.read_text()), "load_before": before}


def _merge_child(kind: str, workdir: str, out: str) -> None:
    workdir = Path(workdir)
    parts = sorted(workdir.glob("part-*.faiss"))
    index = faiss.read_index(str(workdir / "trained.faiss"))
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    if kind == "memory":
        merge_in_memory(index, parts)
    else:
        (workdir / "merged.ivfdata").unlink(missing_ok=True)
        merge_on_disk(index, parts, workdir / "merged.ivfdata")
    seconds = time.perf_counter() - started
    result = {"kind": kind, "vectors": int(index.ntotal), "seconds": seconds}
    result.update(peak_rss_mb=_peak_rss_mb(), rss_before_mb=rss_before, parts=len(parts))
    Path(out).write_text(json.dumps(result))


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM, Linux), MB; file-backed mapped pages
    touched count too."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def project(rates: dict, images: int, workers: int, dim: int) -> dict:
    """Seconds and bytes for ``images`` at ``dim`` on ``workers`` 1-thread workers, scaled from
    the measured ``rates`` (see BENCHMARKS.md for where each comes from and the assumptions)."""
    lists = int(ann.approximate_factory(images).split(",")[0][3:])
    cost = (lists / rates["lists"]) * (dim / rates["dim"])  # coarse assignment ~ lists x dim
    code_bytes = images * (dim + 8)  # SQ8 codes + 64-bit ids
    return {
        "images": images,
        "workers": workers,
        "dim": dim,
        "lists": lists,
        "embed_h": images / (workers * rates["embed_per_worker"][dim]) / 3600,
        "train_min": rates["train_s"] * cost / 60,  # fixed sample: independent of images
        "add_min": images * cost / (workers * rates["add_per_worker"]) / 60,
        "merge_min": code_bytes / rates["merge_bytes_per_s"] / 60,
        "write_min": 2 * images * dim * 4 / rates["write_bytes_per_s"] / 60,
        "codes_gb": code_bytes / 1e9,
        "vectors_gb": images * dim * 4 / 1e9,
        "shards": math.ceil(images / 64),
    }


def rates_from_reports(reports: list[dict]) -> dict:
    """The rates ``project`` scales: per-worker embedding rate of each dimension measured
    (throughput sections), training, adding, merging (on disk) and writing (merge section)."""
    embed = {
        r["throughput"]["dim"]: r["throughput"]["cluster_per_worker_median"]
        for r in reports
        if "throughput" in r
    }
    merge = next(r["merge"][0] for r in reports if r.get("merge"))
    on_disk = statistics.median(m["seconds"] for m in merge["merges"] if m["kind"] == "disk")
    return {
        "embed_per_worker": embed,
        "dim": merge["dim"],
        "lists": int(merge["factory"].split(",")[0][3:]),
        "train_s": merge["train_s"],
        "add_per_worker": merge["vectors"] / (merge["add_s"] * merge["add_workers"]),
        "merge_bytes_per_s": merge["vectors"] * (merge["dim"] + 8) / on_disk,
        "write_bytes_per_s": merge["vectors"] * merge["dim"] * 4 / merge["write_s"],
    }
