"""benchmark_distributed end to end on the tiny model and small vectors (a smoke test of every
section: what each reports, never how fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from place_recognition.bench import distributed_scale as ds
from place_recognition.cli import benchmark_distributed

from conftest import F32

pytestmark = pytest.mark.slow


def test_the_throughput_section_times_both_indexers_in_interleaved_rounds(
    tiny_ir, tmp_path, capsys
):
    output = tmp_path / "report.json"
    argv = ["-m", str(tiny_ir), "--precision", F32, "--sections", "throughput", "--images", "6"]
    argv += ["--shard-size", "2", "--rounds", "2", "-w", str(tmp_path), "-o", str(output), "-q"]
    assert benchmark_distributed.main(argv) == 0
    report = json.loads(output.read_text())
    throughput = report["throughput"]
    rounds = throughput["rounds"]
    # Round 0 starts with one process, round 1 with the cluster: neither always goes first.
    assert [(r["round"], r["indexer"]) for r in rounds] == [
        (0, "single"),
        (0, "cluster"),
        (1, "cluster"),
        (1, "single"),
    ]
    assert all(r["images"] == 6 and r["cpu_ms_per_image"] > 0 for r in rounds)
    assert throughput["dim"] == 256 and throughput["precision"] == F32
    assert "cluster / single: " in capsys.readouterr().out


def test_the_merge_and_the_projection_come_from_measured_parts(tmp_path, capsys):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    np.save(tmp_path / "descriptors.npy", vectors)
    built = ds.ivf_parts(tmp_path / "descriptors.npy", tmp_path / "build", "IVF8,SQ8", workers=2)
    assert built["vectors"] == 3000 and len(built["parts"]) == 2  # one part per worker thread
    merges = [ds.merge_in_child(kind, tmp_path / "build") for kind in ("memory", "disk")]
    assert [(m["kind"], m["vectors"], m["parts"]) for m in merges] == [
        ("memory", 3000, 2),
        ("disk", 3000, 2),
    ]
    assert (tmp_path / "build" / "merged.ivfdata").stat().st_size > 3000 * 16  # 8-bit codes

    report = tmp_path / "measured.json"
    measured = {"dim": 16, "cluster_per_worker_median": 10.0}
    report.write_text(json.dumps({"throughput": measured, "merge": [{**built, "merges": merges}]}))
    argv = ["--sections", "project", "--rates", str(report), "-w", str(tmp_path), "-q"]
    assert benchmark_distributed.main(argv) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["projection"]
    assert [(r["images"], r["workers"]) for r in rows] == [
        (n, w) for n in (1_000_000, 10_000_000) for w in (8, 32, 128)
    ]
    by_size = {(r["images"], r["workers"]): r for r in rows}
    # 10 images/s per worker: a million on 8 workers is 1e6 / 80 s.
    assert by_size[1_000_000, 8]["embed_h"] == pytest.approx(1e6 / 80 / 3600)
    assert by_size[10_000_000, 8]["lists"] == 16384  # what auto picks at 10M
    assert "10,000,000 x 16-d on 128 workers" in capsys.readouterr().out
