"""The commands end to end: main(argv) on a tiny IR, and their one-line errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import faiss
import numpy as np
import pytest

from place_recognition.cli import (
    build_index,
    search,
)
from place_recognition.cli import (
    make_sample_gallery as make_samples,
)
from place_recognition.cli import (
    make_synthetic_model as make_synthetic,
)
from place_recognition.cli._args import (
    non_negative_int,
    positive_float,
    positive_int,
    share,
    similarity,
    weight_fraction,
)

from conftest import ROOT


def test_make_synthetic_writes_a_marked_ir(tmp_path, capsys):
    out = tmp_path / "m.xml"
    assert make_synthetic.main(["--width", "32", "--input-size", "64x96", "-o", str(out)]) == 0
    assert out.exists() and out.with_suffix(".bin").exists()
    assert "cannot recognise places" in capsys.readouterr().out


def test_index_then_search_from_the_command_line(tiny_ir, tmp_path, capsys):
    gallery = tmp_path / "gallery"
    assert make_samples.main(["-o", str(gallery), "--places", "3", "--views", "2"]) == 0
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "-q"]
    assert build_index.main(argv) == 0
    assert "6 embedded" in capsys.readouterr().out
    assert build_index.main(argv) == 0
    second = capsys.readouterr().out
    assert "0 embedded" in second and "index unchanged" in second
    query = gallery / "place_01" / "view_1.jpg"
    assert search.main([*argv, "-i", str(query), "-k", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["matches"][0]["path"] == "place_01/view_1.jpg"
    assert result["matches"][0]["label"] == "place_01"


def test_batched_indexing_gives_the_same_index(tiny_ir, tmp_path, capsys):
    gallery = tmp_path / "gallery"
    assert make_samples.main(["-o", str(gallery), "--places", "3", "--views", "3"]) == 0
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "--precision", "f32", "-q"]
    assert build_index.main([*argv, "-o", str(tmp_path / "one")]) == 0
    assert build_index.main([*argv, "-o", str(tmp_path / "four"), "--batch", "4"]) == 0
    assert capsys.readouterr().out.count("9 embedded") == 2
    one, four = (faiss.read_index(str(next((tmp_path / name).glob("index.*.faiss"))))
                 for name in ("one", "four"))  # fmt: skip
    assert one.ntotal == four.ntotal == 9
    np.testing.assert_allclose(four.reconstruct_n(0, 9), one.reconstruct_n(0, 9), atol=1e-5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "missing.xml", "-gf", "."], "model file not found: missing.xml"),
        (["-gf", "nowhere"], "gallery folder not found: nowhere"),
        (["-d", "NPU", "-gf", "."], "device 'NPU'"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(tiny_ir, argv, message, capsys):
    if "-m" not in argv:
        argv = ["-m", str(tiny_ir), *argv]
    assert build_index.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_search_without_an_index_names_the_command_that_builds_it(tiny_ir, image_dir, capsys):
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "--index", str(image_dir / "idx")]
    query = ["-i", str(image_dir / "lonely.bmp")]
    assert search.main([*argv, *query]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "search: error: no index of" in err[0]
    command = err[0].split("build it with: ")[1].split()
    assert command[:2] == ["place-recognition", "build_index"]
    assert build_index.main([*command[2:], "-q"]) == 0  # the command named does build it
    assert search.main([*argv, *query]) == 0


def test_script_wrappers_run_from_any_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_index.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "--gallery" in result.stdout


@pytest.mark.parametrize(
    ("parse", "good", "bad"),
    [
        (positive_float, ["1e-4", "3"], ["0", "-1", "nan", "x"]),
        (share, ["0", "0.05", "1"], ["-0.1", "1.5", "nan"]),
        (weight_fraction, ["0.01", "0.25"], ["0", "1", "nan"]),
        (similarity, ["-1", "0", "0.56", "1"], ["-1.5", "1.01", "nan"]),
        (positive_int, ["1", "12"], ["0", "-3", "1.5", "x"]),
        (non_negative_int, ["0", "12"], ["-1", "1.5", "x"]),
    ],
)
def test_number_options_take_their_range_and_refuse_the_rest(parse, good, bad):
    assert [parse(text) for text in good] == [float(text) for text in good]
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match="^expected .*, got"):
            parse(text)


def test_quickstart_indexes_recognises_and_runs_the_demo(tiny_ir, tmp_path, capsys):
    from place_recognition.cli import quickstart

    gallery, out = tmp_path / "sample", tmp_path / "out"
    argv = ["-m", str(tiny_ir), "-gf", str(gallery), "-o", str(out), "-q"]
    assert quickstart.main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    verdict = next(line for line in printed if line.startswith("a new view of place_02: "))
    header = printed[printed.index(verdict) + 1].split()
    assert header == ["rank", "label", "score", "lat", "lon", "path"]
    rows = [line.split() for line in printed[printed.index(verdict) + 2 :][:3]]
    assert [row[0] for row in rows] == ["1", "2", "3"] and len({row[1] for row in rows}) == 3
    assert all(row[5].startswith(f"{row[1]}/") for row in rows)  # the best image of the place
    frames = (out / "demo.jsonl").read_text().splitlines()
    assert len(frames) == 7 * 24 and (out / "demo.avi").stat().st_size > 0
