"""Gallery indexing on a Dask cluster (2 worker processes x 1 thread on 127.0.0.1), through the
real runtime: the same index as one process, incremental updates, a worker killed mid-run, a
shard that fails every attempt, workers that cannot load the model, on-disk inverted lists.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time

import cv2
import dask
import numpy as np
import pytest

from place_recognition.cli.build_index import main as build_index
from place_recognition.core.images import ImageFile, list_images
from place_recognition.core.model import EmbeddingModel
from place_recognition.distributed.shards import (
    STAGING,
    ShardResult,
    ShardRow,
    ShardRows,
    Staging,
    plan_shards,
    read_shard,
    reusable_digest,
    write_shard,
)
from place_recognition.distributed.update import ClusterOptions, update_on_cluster
from place_recognition.distributed.worker import ModelRecipe
from place_recognition.errors import PlaceRecognitionError
from place_recognition.index.manifest import read_manifest
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.update import UpdateOptions, update_index

from conftest import F32, free_port, scene

EXACT = UpdateOptions(index_mode="exact")


@pytest.fixture(scope="module")
def model(tiny_ir):
    return EmbeddingModel(tiny_ir, precision=F32)


@pytest.fixture
def cluster(dask_cluster):
    dask_cluster.wait_for_workers(2, timeout=60)  # a test may have killed one: back again
    return dask_cluster.scheduler.address


def _gallery(root, count, size=(120, 160)):
    for i in range(count):
        folder = root / f"place{i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"v{i:03d}.png"), scene(i, *size))
    return root


def _same_index(a: PlaceIndex, b: PlaceIndex) -> None:
    """Same records and skipped files, and every gallery image's top-1 the same."""
    assert [r.to_json() for r in a.records] == [r.to_json() for r in b.records]
    assert a.skipped == b.skipped
    np.testing.assert_allclose(a.vectors(), b.vectors(), atol=1e-5)
    queries = np.asarray(a.vectors())
    tops = [[row[0].record.path for row in index.search(queries, 1)] for index in (a, b)]
    assert tops[0] == tops[1] == [r.path for r in a.records]


def test_the_cluster_builds_the_index_one_process_builds(model, cluster, tmp_path):
    gallery = _gallery(tmp_path / "gallery", 26)
    (gallery / "place1" / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    single = update_index(model, gallery, tmp_path / "single", EXACT)
    options = ClusterOptions(cluster, shard_size=3)
    update, report = update_on_cluster(model, gallery, tmp_path / "cluster", EXACT, options)
    assert (update.embedded, update.reused, update.unfinished) == (26, 0, [])
    assert update.failed == single.failed == [("place1/broken.jpg", "truncated JPEG")]
    assert report.shards == 9 and report.images == 26 and report.failed == 0
    assert sum(tally.images for tally in report.workers.values()) == 26
    _same_index(PlaceIndex.load(tmp_path / "single"), PlaceIndex.load(tmp_path / "cluster"))
    assert not (tmp_path / "cluster" / STAGING).exists()  # spent once committed


def test_an_incremental_update_on_the_cluster_embeds_only_what_changed(model, cluster, tmp_path):
    gallery = _gallery(tmp_path / "gallery", 20)
    options = ClusterOptions(cluster, shard_size=2)
    update_on_cluster(model, gallery, tmp_path / "index", EXACT, options)
    cv2.imwrite(str(gallery / "place0" / "new1.png"), scene(500))
    cv2.imwrite(str(gallery / "place3" / "new2.png"), scene(501))
    cv2.imwrite(str(gallery / "place2" / "v002.png"), scene(502))  # changed content
    (gallery / "place4" / "v004.png").unlink()
    (gallery / "place1" / "v001.png").rename(gallery / "place1" / "renamed.png")
    update, report = update_on_cluster(model, gallery, tmp_path / "index", EXACT, options)
    # The renamed file is read and hashed on a worker, which finds its content indexed already.
    assert (update.embedded, update.reused, update.removed) == (3, 1, 2)
    assert report.images == 3
    single = update_index(model, gallery, tmp_path / "single", EXACT)
    _same_index(single.index, PlaceIndex.load(tmp_path / "index"))
    again, report = update_on_cluster(model, gallery, tmp_path / "index", EXACT, options)
    assert (again.saved, again.embedded, report.shards) == (False, 0, 0)


def _kill_a_busy_worker(client, killed: list) -> None:
    """SIGKILL the first worker seen embedding a shard (the nanny starts a new one)."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = [
            worker
            for worker, keys in client.processing().items()
            if any(str(key).startswith("embed-shard") for key in keys)
        ]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])
            return
        time.sleep(0.002)


def test_a_worker_killed_mid_run_changes_nothing(model, cluster, dask_cluster, tmp_path):
    gallery = _gallery(tmp_path / "gallery", 20, size=(768, 1024))  # shards of ~0.15 s
    killed: list = []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(dask_cluster, killed))
    killer.start()
    options = ClusterOptions(cluster, shard_size=2)
    try:
        update, report = update_on_cluster(model, gallery, tmp_path / "cluster", EXACT, options)
    finally:
        killer.join()
    assert killed, "no worker was seen busy"
    assert (update.embedded, update.unfinished, report.failed) == (20, [], 0)
    single = update_index(model, gallery, tmp_path / "single", EXACT)
    _same_index(single.index, PlaceIndex.load(tmp_path / "cluster"))


def test_a_shard_failing_every_attempt_is_left_out_and_taken_by_the_next_run(
    model, cluster, tmp_path, capsys
):
    gallery = _gallery(tmp_path / "gallery", 12)
    index_dir = tmp_path / "index"
    shards = plan_shards(list_images(gallery), 4, ModelRecipe.of(model).key, reusable_digest([]))
    # A folder where the second shard's result file goes: every attempt to write it fails.
    (index_dir / STAGING / f"{shards[1].key}.shard.npz").mkdir(parents=True)
    argv = ["-m", str(model.path), "-gf", str(gallery), "--index", str(index_dir), "-q"]
    argv += ["--precision", F32, "--index-mode", "exact", "--dask", cluster, "--shard-size", "4"]
    assert build_index(argv) == 1
    out = capsys.readouterr().out
    left_out = [file.relpath for file in shards[1].files]
    assert all(
        f"not indexed (its shard failed on the cluster; a re-run takes it): {path}" in out
        for path in left_out
    )
    assert "8 images indexed (8 embedded, 0 reused, 0 removed, 0 failed)" in out
    # The summary: the cluster's shards, where the time went, and who embedded what.
    assert f"cluster {cluster}: 2 workers at the start; 3 shards (0 resumed from staging, " in out
    assert "1 failed), 8 images embedded (" in out
    assert re.search(r"^time: .*embedding \d+\.\d s", out, re.MULTILINE)
    tallies = re.findall(r"^  tcp://127\.0\.0\.1:\d+: (\d+) shards, (\d+) images, ", out, re.M)
    assert [sum(int(t[i]) for t in tallies) for i in (0, 1)] == [2, 8]
    index = PlaceIndex.load(index_dir)
    assert {r.path for r in index.records} == {f.relpath for f in list_images(gallery)} - set(
        left_out
    )
    assert read_manifest(index_dir).listing is None  # so the next run compares the files again

    assert build_index(argv) == 0  # the obstacle went with the staging folder
    assert "12 images indexed (4 embedded, 0 reused" in capsys.readouterr().out


def test_a_worker_that_cannot_load_the_model_stops_the_run_with_one_line(
    tiny_ir, cluster, tmp_path
):
    gallery = _gallery(tmp_path / "gallery", 4)
    xml = shutil.copy(tiny_ir, tmp_path / "model.xml")
    shutil.copy(tiny_ir.with_suffix(".bin"), tmp_path / "model.bin")
    model = EmbeddingModel(xml, precision=F32)
    assert model.fingerprint  # the driver has its digest; the workers will not find the weights
    (tmp_path / "model.bin").unlink()
    with pytest.raises(PlaceRecognitionError) as error:
        update_on_cluster(model, gallery, tmp_path / "index", EXACT, ClusterOptions(cluster))
    message = str(error.value)
    assert "\n" not in message and message.startswith("worker tcp://127.0.0.1:")
    assert "cannot load the model: model weights not found" in message
    assert str(tmp_path / "model.bin") in message

    # Other bytes at the model's path on the workers: refused, not mixed into the index.
    other = EmbeddingModel(tiny_ir, precision=F32, batch=1)
    shutil.copy(other.path.parent / "tiny.bin", tmp_path / "model.bin")
    (tmp_path / "model.xml").write_bytes(other.path.read_bytes().replace(b"<net ", b"<net  "))
    with pytest.raises(PlaceRecognitionError, match="has another model at .*model.xml"):
        update_on_cluster(model, gallery, tmp_path / "index", EXACT, ClusterOptions(cluster))
    assert not (tmp_path / "index" / "manifest.json").exists()


def test_an_unreachable_scheduler_is_one_line_on_stderr(tiny_ir, image_dir, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "--precision", F32, "--dask", address]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert build_index(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"build_index: error: cannot reach the Dask scheduler at {address}")
    assert not any("Traceback" in line for line in err)


def test_cluster_options_are_checked_before_any_work(tiny_ir, image_dir, capsys):
    base = ["-m", str(tiny_ir), "-gf", str(image_dir)]
    assert build_index([*base, "--dask", "locale"]) == 2
    assert "neither local, local:N nor a scheduler address" in capsys.readouterr().err
    assert build_index([*base, "--on-disk"]) == 2
    assert "--on-disk needs --dask" in capsys.readouterr().err
    assert build_index([*base, "--dask", "local:1", "--on-disk", "--index-mode", "exact"]) == 2
    assert "on-disk inverted lists need an inverted-file index mode" in capsys.readouterr().err


def _top(index: PlaceIndex, queries: np.ndarray) -> list:
    return [[(m.id, round(m.score, 5)) for m in row] for row in index.search(queries, 3)]


def test_ivf_on_disk_is_built_updated_and_moved(model, cluster, tmp_path):
    gallery = _gallery(tmp_path / "gallery", 48)
    ivf = UpdateOptions(index_mode="IVF4,SQ8", nprobe=2)
    on_disk = ClusterOptions(cluster, shard_size=8, on_disk=True)
    update, report = update_on_cluster(model, gallery, tmp_path / "disk", ivf, on_disk)
    assert {"training", "adding", "merging"} <= set(report.seconds)
    in_memory = ClusterOptions(cluster, shard_size=8)
    update_on_cluster(model, gallery, tmp_path / "memory", ivf, in_memory)
    single = update_index(model, gallery, tmp_path / "single", ivf)
    queries = np.asarray(single.index.vectors())
    disk = PlaceIndex.load(tmp_path / "disk")
    assert disk.lists_file == tmp_path / "disk" / "invlists.000001.ivfdata"
    expected = _top(single.index, queries)  # same vectors, same training, lists in row order
    assert _top(disk, queries) == _top(PlaceIndex.load(tmp_path / "memory"), queries) == expected

    cv2.imwrite(str(gallery / "place0" / "new.png"), scene(900))
    update, _ = update_on_cluster(model, gallery, tmp_path / "disk", ivf, on_disk)
    assert update.embedded == 1
    assert sorted(p.name for p in (tmp_path / "disk").glob("*.ivfdata")) == [
        "invlists.000002.ivfdata"
    ]
    shutil.move(tmp_path / "disk", tmp_path / "moved")
    moved = PlaceIndex.load(tmp_path / "moved")
    single = update_index(model, gallery, tmp_path / "single", ivf)
    queries = np.asarray(single.index.vectors())
    assert _top(moved, queries) == _top(single.index, queries)

    # One process updates it too (its lists then in memory: on-disk lists come from a cluster).
    cv2.imwrite(str(gallery / "place1" / "new.png"), scene(901))
    update = update_index(model, gallery, tmp_path / "moved", ivf)
    assert update.embedded == 1 and read_manifest(tmp_path / "moved").requires == ()
    assert not list((tmp_path / "moved").glob("*.ivfdata"))


def test_shard_keys_follow_everything_that_decides_a_shards_result(tiny_ir):
    files = [ImageFile(f"a/{i}.png", 100 + i, 10**9 + i) for i in range(5)]
    shards = plan_shards(files, 2, "model", "reusable")
    assert [len(shard.files) for shard in shards] == [2, 2, 1]
    assert plan_shards(files, 2, "model", "reusable") == shards  # a re-run finds its shards
    touched = [files[0]._replace(mtime_ns=1), *files[1:]]
    for other in (
        plan_shards(files, 2, "other model", "reusable"),
        plan_shards(files, 2, "model", "other reusable content"),
        plan_shards(touched, 2, "model", "reusable"),
    ):
        assert other[0].key != shards[0].key
    assert plan_shards(touched, 2, "model", "reusable")[1:] == shards[1:]
    f32, bf16 = (ModelRecipe.of(EmbeddingModel(tiny_ir, precision=p)) for p in ("f32", "bf16"))
    assert f32.key != bf16.key and f32.sha256 == bf16.sha256


def test_a_shard_file_is_taken_for_its_own_shard_only(tmp_path):
    files = [ImageFile(f"a/{i}.png", 100 + i, 10**9 + i) for i in range(4)]
    first, second = plan_shards(files, 2, "model", "reusable")
    staging = Staging(tmp_path)
    path = staging.shard_path(first.key)
    path.parent.mkdir()
    vectors = np.eye(2, 8, dtype=np.float32)
    entries = [(*file, f"{i:064x}", None, i) for i, file in enumerate(first.files)]
    write_shard(path, first.key, ShardResult(entries, "w", 0.1, "f32", vectors))
    assert read_shard(path, first, 8).entries == entries
    assert read_shard(path, second, 8) is None and read_shard(path, first, 16) is None
    rows = ShardRows(staging)
    assert np.array_equal(np.stack([ShardRow(rows, first.key, i) for i in (1, 0)]), vectors[::-1])
    path.write_bytes(path.read_bytes()[:-10])  # cut short: never taken
    assert read_shard(path, first, 8) is None
