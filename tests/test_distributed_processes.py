"""Cluster indexing across real processes: ``build_index --dask`` killed and resumed from its
shard files, and a real ``dask scheduler`` with two ``dask worker`` processes on 127.0.0.1.
Every process started here is killed at the end (its whole process group)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import cv2
import pytest
from distributed import Client

from place_recognition.cli.build_index import main as build_index
from place_recognition.core.images import list_images
from place_recognition.core.model import EmbeddingModel
from place_recognition.distributed.shards import STAGING
from place_recognition.distributed.update import ClusterOptions, update_on_cluster
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.update import UpdateOptions, update_index

from conftest import F32, ROOT, free_port, scene

pytestmark = pytest.mark.slow
EXACT = UpdateOptions(index_mode="exact")


@pytest.fixture
def spawn():
    """Start processes in their own session; SIGKILL each one's group at the end."""
    started: list[subprocess.Popen] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(argv: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _gallery(root, count):
    for i in range(count):
        (root / f"place{i % 6}").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / f"place{i % 6}" / f"v{i:03d}.png"), scene(i, 240, 320))
    return root


def test_a_killed_driver_is_resumed_from_the_shard_files(tiny_ir, dask_cluster, spawn, tmp_path):
    gallery, index_dir = _gallery(tmp_path / "gallery", 40), tmp_path / "index"
    argv = [sys.executable, str(ROOT / "scripts" / "build_index.py"), "-m", str(tiny_ir)]
    argv += ["-gf", str(gallery), "--index", str(index_dir), "--precision", F32, "-q"]
    driver = spawn([*argv, "--dask", "local:2", "--shard-size", "2"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while driver.poll() is None and time.monotonic() < deadline:
        if len(list((index_dir / STAGING).glob("*.shard.npz"))) >= 4:
            os.kill(driver.pid, signal.SIGKILL)  # the driver only: its workers follow it
            break
        time.sleep(0.001)
    driver.wait()
    assert driver.returncode == -signal.SIGKILL, driver.stderr.read().decode()
    assert not (index_dir / "manifest.json").exists()
    staged = len(list((index_dir / STAGING).glob("*.shard.npz")))

    model = EmbeddingModel(tiny_ir, precision=F32)
    options = ClusterOptions(dask_cluster.scheduler.address, shard_size=2)
    update, report = update_on_cluster(model, gallery, index_dir, EXACT, options)
    assert report.resumed >= staged >= 4 and report.shards == 20
    assert update.embedded == report.images == 40 - 2 * report.resumed
    assert update.reused == 2 * report.resumed  # (as the single-process journal counts them)
    single = update_index(model, gallery, tmp_path / "single", EXACT).index
    resumed = PlaceIndex.load(index_dir)
    assert [r.to_json() for r in resumed.records] == [r.to_json() for r in single.records]
    assert abs(resumed.vectors() - single.vectors()).max() < 1e-5
    assert not (index_dir / STAGING).exists()


def test_a_real_scheduler_and_two_workers_share_the_shards(tiny_ir, spawn, tmp_path, capsys):
    gallery = _gallery(tmp_path / "gallery", 24)
    address = f"tcp://127.0.0.1:{free_port()}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    spawn([*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
           "--no-dashboard"], **quiet)  # fmt: skip
    for _ in range(2):
        spawn([*dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
               "--host", "127.0.0.1", "--no-dashboard"], **quiet)  # fmt: skip
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)

    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "--index", str(tmp_path / "index"), "-q"]
    argv += ["--precision", F32, "--index-mode", "exact", "--dask", address, "--shard-size", "2"]
    assert build_index(argv) == 0
    out = capsys.readouterr().out
    assert f"cluster {address}: 2 workers at the start; 12 shards" in out
    workers = re.findall(r"^  (tcp://127\.0\.0\.1:\d+): (\d+) shards, (\d+) images", out, re.M)
    assert len(workers) == 2 and all(int(shards) > 0 for _, shards, _ in workers), out
    assert sum(int(images) for _, _, images in workers) == 24
    assert len(PlaceIndex.load(tmp_path / "index")) == len(list_images(gallery)) == 24
