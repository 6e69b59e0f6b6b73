"""An IVF index built on the cluster recalls what the same mode built in one process recalls,
on real images: corridor and nordland_train references (1911) in one gallery, embedded by the
workers with netvlad-lite (the device's default precision: both indexes hold the same vectors),
then ``IVF64,SQ8`` trained on a sample across the shards, added in parallel and merged, in
memory and on disk; the one-process index is built from the same vectors. Recall@1 of each
set's queries must agree within 0.01."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from place_recognition.core.model import EmbeddingModel
from place_recognition.distributed.update import ClusterOptions, update_on_cluster
from place_recognition.eval.datasets import read_ground_truth_folder
from place_recognition.eval.runs import embed_paths
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.update import UpdateOptions
from place_recognition.zoo.lite import ensure_lite_model

pytestmark = [pytest.mark.data, pytest.mark.slow]
SETS = ("corridor", "nordland_train")
MODE = "IVF64,SQ8"


def _recall_at_1(index: PlaceIndex, queries: np.ndarray, datasets: dict) -> dict[str, float]:
    """Per set: the share of its queries whose top-1 record is one of their positives."""
    recall = {}
    for name, dataset in datasets.items():
        row_of = {f"{name}/{path.split('/', 1)[1]}": i for i, path in enumerate(dataset.database)}
        tops = [row[0].record.path for row in index.search(queries[name], 1)]
        pairs = zip(tops, dataset.positives, strict=True)
        hits = [row_of[top] in positives for top, positives in pairs if top in row_of]
        recall[name] = sum(hits) / len(dataset.queries)
    return recall


def test_ivf_built_on_the_cluster_recalls_like_one_process(data_dir, dask_cluster, tmp_path):
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    datasets = {name: read_ground_truth_folder(data_dir / name) for name in SETS}
    for name in SETS:  # one gallery of both sets' references (folders are followed)
        (gallery / name).symlink_to(data_dir / name / "ref", target_is_directory=True)
    model = EmbeddingModel(ensure_lite_model())
    queries = {
        n: embed_paths(model, d.query_paths(), cache=tmp_path)[0] for n, d in datasets.items()
    }

    cluster = ClusterOptions(dask_cluster.scheduler.address, shard_size=64)
    exact = UpdateOptions(index_mode="exact")
    update, report = update_on_cluster(model, gallery, tmp_path / "memory", exact, cluster)
    assert len(update.index) == 1911 and report.images == 1911
    shutil.copytree(tmp_path / "memory", tmp_path / "disk")
    ivf = UpdateOptions(index_mode=MODE, nprobe=8)  # a new mode: built from the stored vectors
    on_disk = ClusterOptions(dask_cluster.scheduler.address, on_disk=True)
    for name, where in (("memory", cluster), ("disk", on_disk)):
        update, report = update_on_cluster(model, gallery, tmp_path / name, ivf, where)
        assert update.embedded == 0 and {"training", "adding", "merging"} <= set(report.seconds)

    built = PlaceIndex.load(tmp_path / "memory")
    single = PlaceIndex.build(model.fingerprint, built.records, np.array(built.vectors()), MODE)
    single.nprobe = 8
    expected = _recall_at_1(single, queries, datasets)
    for name in ("memory", "disk"):
        measured = _recall_at_1(PlaceIndex.load(tmp_path / name), queries, datasets)
        print(name, measured, "one process:", expected)
        assert all(abs(measured[s] - expected[s]) <= 0.01 for s in SETS), (measured, expected)
    assert expected["corridor"] > 0.5 and expected["nordland_train"] > 0.03  # a real search
