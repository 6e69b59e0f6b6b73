"""The README's Python API example (docs/api_example.py) runs as a user would run it: a script
in a folder outside the repository, on a generated gallery and a tiny model built in code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import ROOT

EXAMPLE = ROOT / "docs" / "api_example.py"


def test_the_api_example_names_the_place_from_outside_the_repository(tiny_ir, image_dir, tmp_path):
    photo = shutil.copy(image_dir / "place1" / "v0.png", tmp_path / "photo.png")
    script = shutil.copy(EXAMPLE, tmp_path / "example.py")  # nothing of the checkout beside it
    # As after `pip install -e .`: the package importable, the working folder elsewhere.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(script), str(image_dir), str(photo), str(tiny_ir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "7 gallery images indexed (7 embedded just now)"
    assert lines[1].split() == ["place1", "score", "1.000", "place1/v0.png"]
    assert lines[-1].startswith("photo.png: place1 (threshold ")
