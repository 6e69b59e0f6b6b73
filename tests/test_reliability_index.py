"""Damaged indexes, concurrent readers, model problems, exit codes.

Everything goes through the real commands (``main(argv)``) on a tiny model built in code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from place_recognition.cli import build_index, search
from place_recognition.errors import EXIT_INPUT, EXIT_RUNTIME
from place_recognition.index.manifest import MANIFEST, read_manifest
from place_recognition.index.place_index import PlaceIndex

from conftest import ROOT, scene
from models import save


@pytest.fixture
def indexed(tiny_ir, image_dir, capsys):
    """A gallery indexed twice (generation 2), and the index folder."""
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "-q"]
    assert build_index.main(argv) == 0
    cv2.imwrite(str(image_dir / "place0" / "v2.png"), scene(7))
    assert build_index.main(argv) == 0
    capsys.readouterr()
    directory = next((image_dir / ".place_index").iterdir())
    assert read_manifest(directory).generation == 2
    return argv, directory


def _data_file(directory: Path, role: str) -> Path:
    return directory / read_manifest(directory).files[role].name


def _damage(directory: Path, kind: str) -> Path:
    """Damage the index in one way; return the file the error must name."""
    manifest = directory / MANIFEST
    if kind == "manifest missing":
        manifest.unlink()
        return directory
    if kind == "manifest truncated":
        manifest.write_bytes(manifest.read_bytes()[:40])
        return manifest
    if kind == "manifest fields":
        data = json.loads(manifest.read_text())
        data["files"]["index"]["name"] = "../../elsewhere.faiss"
        manifest.write_text(json.dumps(data))
        return manifest
    if kind == "newer format":
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format_version": 9}))
        return manifest
    role, _, damage = kind.partition(" ")
    path = _data_file(directory, role)
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-7])
    else:  # same size, one bit flipped
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(data))
    return path


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize(
    "kind",
    [
        "manifest missing",
        "manifest truncated",
        "manifest fields",
        "newer format",
        "index missing",
        "index truncated",
        "index flipped",
        "records missing",
        "records truncated",
        "records flipped",
    ],
)
def test_a_damaged_index_is_refused_in_one_line_and_left_alone(indexed, kind, image_dir, capsys):
    argv, directory = indexed
    named = _damage(directory, kind)
    before = _snapshot(directory)
    query = ["-i", str(image_dir / "lonely.bmp")]
    for command, args in ((search.main, [*argv, *query]), (build_index.main, argv)):
        assert command(args) == EXIT_INPUT
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(named) in err[0], err
        expected_fix = (
            "build it with: place-recognition build_index"
            if kind == "manifest missing" and command is search.main
            else "--rebuild"
        )
        assert expected_fix in err[0]
    assert _snapshot(directory) == before  # nothing rebuilt over it
    assert build_index.main([*argv, "--rebuild"]) == 0
    assert search.main([*argv, *query]) == 0
    assert len(PlaceIndex.load(directory)) == 8


def test_another_models_index_is_refused_showing_both(indexed, tmp_path, capsys):
    argv, directory = indexed
    other = save(_pooling_model(32), tmp_path / "other.xml")
    code = build_index.main(["-m", str(other), *argv[2:], "-o", str(directory)])
    err = capsys.readouterr().err
    assert (
        code == EXIT_INPUT
        and "built with model netvlad-tf-synthetic-w16-" in err
        and "not with other-" in err
    )


@contextmanager
def _read_only(folder: Path):
    """Make ``folder`` unwritable, also for root (immutable attribute), or skip."""
    folder.chmod(0o555)
    immutable = False
    try:
        probe = folder / ".probe"
        try:
            probe.write_bytes(b"")
        except PermissionError:
            pass
        else:
            probe.unlink()
            chattr = shutil.which("chattr")
            if not chattr or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
                pytest.skip("cannot make a folder read-only here (root without chattr)")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr"), "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_read_only_index_folder_is_searched_and_its_update_refused(indexed, image_dir, capsys):
    argv, directory = indexed
    before = _snapshot(directory)
    with _read_only(directory):
        query = ["-i", str(image_dir / "lonely.bmp"), "--json"]
        assert search.main([*argv, *query]) == 0
        assert build_index.main(argv) == 0  # nothing changed: nothing to write
        cv2.imwrite(str(image_dir / "place1" / "new.png"), scene(8))
        capsys.readouterr()
        assert build_index.main(argv) == EXIT_RUNTIME
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"cannot write the index in {directory}" in err[0]
        assert "-o" in err[0]
    assert _snapshot(directory) == before
    assert len(PlaceIndex.load(directory)) == 8


def _pooling_model(dim: int) -> ov.Model:
    image = ops.parameter([1, 32, 32, 3], np.float32, name="image")
    pooled = ops.reduce_mean(image, ops.constant(np.array([1, 2], np.int64)), False)
    weights = ops.constant(np.random.default_rng(0).normal(size=(3, dim)).astype(np.float32))
    return ov.Model([ops.result(ops.matmul(pooled, weights, False, False))], [image], "other")


def _vector_input_model() -> ov.Model:
    vector = ops.parameter([1, 100], np.float32, name="features")
    return ov.Model([ops.result(ops.relu(vector))], [vector])


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("missing bin", "model weights not found: .*model.bin"),
        ("not an image", r"input.*\[1,100\]"),
        ("rank-3 output", r"output has shape \[1,32,3\]"),
        ("no such device", "device 'FPGA'"),
    ],
)
def test_model_problems_are_one_line(problem, message, image_dir, tmp_path, capsys):
    import re

    path = tmp_path / "model.xml"
    device = "CPU"
    if problem == "not an image":
        save(_vector_input_model(), path)
    elif problem == "rank-3 output":
        image = ops.parameter([1, 32, 32, 3], np.float32, name="image")
        tokens = ops.reshape(image, ops.constant(np.array([1, 32, 96], np.int64)), False)
        tokens = ops.reshape(tokens, ops.constant(np.array([1, 32, 3, 32], np.int64)), False)
        pooled = ops.reduce_mean(tokens, ops.constant(np.array([3], np.int64)), False)
        save(ov.Model([ops.result(pooled)], [image]), path)
    else:
        save(_pooling_model(8), path)
        if problem == "missing bin":
            path.with_suffix(".bin").unlink()
        else:
            device = "FPGA"
    assert build_index.main(["-m", str(path), "-d", device, "-gf", str(image_dir)]) == EXIT_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err


def test_usage_errors_exit_2_and_debug_shows_the_traceback(tiny_ir, tmp_path, capsys):
    assert build_index.main(["-gf", ".", "--no-such-option"]) == EXIT_INPUT
    assert "unknown option --no-such-option" in capsys.readouterr().err
    argv = ["-m", str(tiny_ir), "-gf", str(tmp_path / "nowhere")]
    assert build_index.main(argv) == EXIT_INPUT
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="gallery folder not found"):
        build_index.main([*argv, "--debug"])


def test_the_script_itself_exits_with_the_documented_code(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_index.py"), "-gf", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_INPUT
    assert result.stderr.strip().splitlines()[-1].startswith("build_index: error: ")
    assert "Traceback" not in result.stderr


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from place_recognition.core.fingerprint import ModelFingerprint
    from place_recognition.index.records import GalleryRecord
    from place_recognition.index.place_index import PlaceIndex

    directory, generations = sys.argv[1], int(sys.argv[2])
    fp = ModelFingerprint("gen", "ef" * 32, (8, 8), 16)
    for g in range(1, generations + 1):
        count = 50 + 37 * (g % 5)
        records = [GalleryRecord(f"{g}/{i}.png", f"gen{g}", "0" * 64, 1, 1) for i in range(count)]
        vectors = np.zeros((count, 16), np.float32)
        vectors[:, g % 16] = 1.0
        PlaceIndex.build(fp, records, vectors).save(directory)
    """
)


def test_readers_see_the_old_or_the_new_index_never_a_mix(tmp_path):
    generations = 40
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), str(generations)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    seen = set()
    while writer.poll() is None or not seen:
        if read_manifest(tmp_path, missing_ok=True) is None:
            continue
        index = PlaceIndex.load(tmp_path)
        labels = {record.label for record in index.records}
        assert len(labels) == 1, labels  # records of one generation only
        generation = int(labels.pop().removeprefix("gen"))
        assert len(index) == 50 + 37 * (generation % 5)
        assert (np.argmax(index.vectors(), axis=1) == generation % 16).all()  # vectors too
        assert index.search(np.eye(16, dtype=np.float32)[generation % 16], 1)[0][0].score == 1.0
        seen.add(generation)
    assert writer.returncode == 0, writer.stderr.read().decode()
    assert len(seen) >= 3  # the reader really ran across several commits
