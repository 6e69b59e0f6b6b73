"""SIGKILL the indexing script at random moments; the index survives and resumes.

Each attempt changes the gallery, starts ``scripts/build_index.py`` and kills it: at a uniformly
random moment of a whole run, or (to land enough kills in the short commit) shortly after the
first temporary file of the save appears. Where the kill landed is read from the folder: an
uncommitted save leaves temporary or newer-generation files beside the old manifest. After every
kill the index must load (sizes and sha256 checked) and be exactly the old index or exactly the
new one; at the end, a re-run must give the index an uninterrupted run gives.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from place_recognition.core.images import list_images, read_image
from place_recognition.core.model import EmbeddingModel
from place_recognition.index.manifest import MANIFEST, read_manifest
from place_recognition.index.place_index import PlaceIndex
from place_recognition.indexing.journal import JOURNAL

from conftest import F32, ROOT, scene

pytestmark = pytest.mark.slow

MIN_KILLS_IN_COMMIT = 10
MAX_ATTEMPTS = 80


def _command(model: Path, gallery: Path, *extra: str) -> list[str]:
    script = ROOT / "scripts" / "build_index.py"
    return [
        sys.executable,
        str(script),
        "-m",
        str(model),
        "-gf",
        str(gallery),
        "--precision",
        F32,
        *extra,
    ]


def _start(model: Path, gallery: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _command(model, gallery, "-q"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _generation(directory: Path) -> int:
    manifest = read_manifest(directory, missing_ok=True)
    return manifest.generation if manifest else 0


def _uncommitted_files(directory: Path, committed: int) -> set[str]:
    """Temporary files, and data files newer than the committed generation."""
    found = set()
    for path in directory.iterdir():
        parts = path.name.split(".")
        if path.name.endswith(".tmp") or (
            parts[0] in ("index", "records") and int(parts[1]) > committed
        ):
            found.add(path.name)
    return found


def _commit_in_progress(directory: Path, committed: int, leftovers: set[str]) -> bool:
    """True when a save has started (new temporary or data files) but not committed yet.

    ``leftovers``: such files from earlier killed runs, there before this run started.
    """
    if _generation(directory) != committed:
        return False
    return bool(_uncommitted_files(directory, committed) - leftovers)


def _kill_during_commit(
    process: subprocess.Popen, directory: Path, committed: int, leftovers: set[str]
) -> None:
    """Kill soon after a random step of the save: its first temporary file, the new faiss
    file renamed into place, or the new records file (the last step before the commit)."""
    step = random.choice([".tmp", ".faiss", ".jsonl"])
    while process.poll() is None:
        new = _uncommitted_files(directory, committed) - leftovers
        if _generation(directory) == committed and any(name.endswith(step) for name in new):
            time.sleep(random.uniform(0, 0.002))
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.0002)


def _kill_anywhere(process: subprocess.Popen, run_seconds: float) -> None:
    try:
        process.wait(timeout=random.uniform(0, run_seconds))
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)


def _state(directory: Path) -> tuple[int, list, np.ndarray]:
    index = PlaceIndex.load(directory)
    return index.generation, index.records, index.vectors()


def _assert_is_the_new_index(state, gallery: Path, reference) -> None:
    _, records, vectors = state
    assert [r.path for r in records] == [f.relpath for f in list_images(gallery)]
    for record, vector in zip(records, vectors, strict=True):
        np.testing.assert_allclose(vector, reference(record.path, record.sha256), atol=1e-5)


@pytest.fixture
def model_and_gallery(tiny_ir, tmp_path):
    gallery = tmp_path / "gallery"
    for i in range(40):
        (gallery / f"place{i % 8}").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(gallery / f"place{i % 8}" / f"v{i}.png"), scene(i))
    return tiny_ir, gallery


def test_kills_at_random_moments_leave_the_old_or_the_new_index(model_and_gallery, tmp_path):
    random.seed(8)
    model_path, gallery = model_and_gallery
    model = EmbeddingModel(model_path, precision=F32)
    vectors_by_sha: dict[str, np.ndarray] = {}

    def reference(relpath: str, sha: str) -> np.ndarray:
        if sha not in vectors_by_sha:
            vectors_by_sha[sha] = model.embed(read_image(gallery / relpath))
        return vectors_by_sha[sha]

    started = time.perf_counter()
    subprocess.run(_command(model_path, gallery, "-q"), check=True, capture_output=True)
    run_seconds = time.perf_counter() - started
    directory = next((gallery / ".place_index").iterdir())

    kills = {"commit": 0, "elsewhere": 0, "finished": 0}
    for attempt in range(MAX_ATTEMPTS):
        if kills["commit"] >= MIN_KILLS_IN_COMMIT and attempt >= 2 * MIN_KILLS_IN_COMMIT:
            break
        old = _state(directory)
        (gallery / "new").mkdir(exist_ok=True)
        cv2.imwrite(str(gallery / "new" / f"n{attempt}.png"), scene(1000 + attempt))
        if attempt % 3 == 2:
            (gallery / f"place{attempt % 8}" / f"v{attempt % 8}.png").unlink(missing_ok=True)
        leftovers = _uncommitted_files(directory, old[0])
        process = _start(model_path, gallery)
        if attempt % 2 == 0:
            _kill_during_commit(process, directory, old[0], leftovers)
        else:
            _kill_anywhere(process, run_seconds)
        process.wait()
        if process.returncode == 0:
            kills["finished"] += 1
        elif _commit_in_progress(directory, old[0], leftovers):
            kills["commit"] += 1
        else:
            kills["elsewhere"] += 1
        assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()
        process.stderr.close()

        state = _state(directory)  # loads: every file's size and sha256 match the manifest
        if state[0] == old[0]:
            assert state[1] == old[1] and np.array_equal(state[2], old[2])  # the old index
        else:
            _assert_is_the_new_index(state, gallery, reference)
    assert kills["commit"] >= MIN_KILLS_IN_COMMIT, kills

    # Resume: the re-run ends with what an uninterrupted run on the same files gives.
    subprocess.run(_command(model_path, gallery, "-q"), check=True, capture_output=True)
    resumed = _state(directory)
    copy = tmp_path / "copy"
    shutil.copytree(gallery, copy, ignore=shutil.ignore_patterns(".place_index"))
    subprocess.run(_command(model_path, copy, "-q"), check=True, capture_output=True)
    fresh = _state(next((copy / ".place_index").iterdir()))
    assert [r.to_json() for r in resumed[1]] == [r.to_json() for r in fresh[1]]
    np.testing.assert_allclose(resumed[2], fresh[2], atol=1e-6)
    assert sorted(p.name for p in directory.iterdir() if p.name != ".lock") == sorted(
        [MANIFEST, *(entry.name for entry in read_manifest(directory).files.values())]
    )  # no temporaries, no old generations, no journal left behind


def test_a_killed_run_resumes_from_its_journal(model_and_gallery):
    model_path, gallery = model_and_gallery
    subprocess.run(_command(model_path, gallery, "-q"), check=True, capture_output=True)
    directory = next((gallery / ".place_index").iterdir())
    (gallery / "new").mkdir()
    for i in range(60):
        cv2.imwrite(str(gallery / "new" / f"n{i}.png"), scene(2000 + i))
    process = _start(model_path, gallery)
    journal = directory / JOURNAL
    while process.poll() is None and (not journal.exists() or journal.stat().st_size < 10_000):
        time.sleep(0.001)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert len(PlaceIndex.load(directory)) == 40  # the old index, untouched

    rerun = subprocess.run(
        _command(model_path, gallery), check=True, capture_output=True, text=True
    )
    summary = rerun.stdout.strip().splitlines()[-1]
    embedded = int(summary.split("(")[1].split(" embedded")[0])
    assert "100 images indexed" in summary and embedded < 60, summary  # the rest came back
    assert not journal.exists()
