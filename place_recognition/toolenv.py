"""Isolated virtual environments for external tools (Open Model Zoo's openvino-dev releases).

openvino-dev pins an old OpenVINO and numpy<2, so it must never share the runtime environment:
each tool gets its own venv, created once from a pinned requirements file and re-created when that
file changes (a marker holds the file's sha256).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .errors import PlaceRecognitionError
from .fsutil import atomic_write_text, sha256_files

_MARKER = ".requirements.sha256"


def venv_bin(directory: Path) -> Path:
    return Path(directory) / ("Scripts" if sys.platform == "win32" else "bin")


def is_ready(directory: Path, requirements: Path) -> bool:
    """True when the venv exists and was installed from this exact requirements file."""
    marker = Path(directory) / _MARKER
    python = venv_bin(directory) / "python"
    return (
        python.exists()
        and marker.is_file()
        and marker.read_text().strip() == sha256_files([Path(requirements)])
    )


def ensure_venv(directory: Path, requirements: Path) -> Path:
    """Create (once) a venv in ``directory`` with ``requirements`` installed; return its bin dir.

    pip's own output goes to this process's stdout/stderr, so a failure shows its reason.
    """
    directory, requirements = Path(directory), Path(requirements)
    if not requirements.is_file():
        raise FileNotFoundError(f"requirements file not found: {requirements}")
    if is_ready(directory, requirements):
        return venv_bin(directory)
    python = venv_bin(directory) / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", str(directory)], f"cannot create a venv in {directory}")
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r",
         str(requirements)],
        f"installing {requirements} into {directory} failed (see pip's message above)",
    )
    atomic_write_text(directory / _MARKER, sha256_files([requirements]) + "\n")
    return venv_bin(directory)


def _run(command: list[str], failure: str) -> None:
    if subprocess.run(command, check=False).returncode != 0:
        raise PlaceRecognitionError(failure)
