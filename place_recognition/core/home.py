"""Where the project's data lives: one folder, the data home, holds ``models/``, caches and
default outputs, whichever folder a command is started from.

The data home is the first of:

1. ``$PLACE_RECOGNITION_HOME``, when set;
2. the checkout's root, when the package runs from a checkout (``python scripts/...``, or
   ``pip install -e .``): the folder above the package with the project's ``pyproject.toml`` and
   ``models/``, so ``models/netvlad-tf.xml`` and ``out/`` are where a checkout always had them;
3. a per-user folder: ``$XDG_DATA_HOME/place-recognition``, else
   ``~/.local/share/place-recognition`` (a non-editable install, whose package folder holds no
   models).

Inside it: ``models/`` (``netvlad-tf.xml``, ``netvlad-lite/``, ``synthetic/``, ``omz/``),
``cache/`` (``$PLACE_RECOGNITION_CACHE`` overrides it) and ``out/<command>/``.

A few files of the repository's ``scripts/`` folder are read at run time (the Accuracy Checker's
configs, the pinned requirements of the tool environments): :func:`scripts_file` finds them in
the checkout, or in the copy that the package build puts inside the package (``setup.py``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

HOME_ENV = "PLACE_RECOGNITION_HOME"
CACHE_ENV = "PLACE_RECOGNITION_CACHE"
PROJECT_NAME = "place-recognition"  # pyproject.toml's [project] name

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def checkout_root() -> Path | None:
    """The checkout the package runs from, or None (an installed copy of the package).

    A checkout is recognised by the package's parent folder holding this project's
    ``pyproject.toml`` (by its project name, so another project's folder never qualifies)
    and ``models/``.
    """
    root = PACKAGE_DIR.parent
    if not (root / "models").is_dir():
        return None
    try:
        with open(root / "pyproject.toml", "rb") as f:
            project = tomllib.load(f).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return root if project.get("name") == PROJECT_NAME else None


def user_data_home() -> Path:
    """``$XDG_DATA_HOME/place-recognition``, else ``~/.local/share/place-recognition``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / PROJECT_NAME


def data_home() -> Path:
    """The data home (see the module docstring for the order); it may not exist yet."""
    given = os.environ.get(HOME_ENV)
    if given:
        return Path(given).expanduser()
    return checkout_root() or user_data_home()


def models_dir() -> Path:
    """``<home>/models``: every model the project makes or downloads by default."""
    return data_home() / "models"


def output_dir(command: str) -> Path:
    """``<home>/out/<command>``: where a command writes when not told where."""
    return data_home() / "out" / command


def cache_dir() -> Path:
    """``$PLACE_RECOGNITION_CACHE``, else ``<home>/cache``: digests, features, embeddings."""
    given = os.environ.get(CACHE_ENV)
    return Path(given).expanduser() if given else data_home() / "cache"


def scripts_file(relative: str) -> Path:
    """A file of the repository's ``scripts/`` folder that the package reads at run time.

    From a checkout, the file itself; from an installed package, the copy the build put in
    ``place_recognition/scripts/`` (``setup.py``), so both read the same bytes.
    """
    return (checkout_root() or PACKAGE_DIR) / "scripts" / relative


def display_path(path: Path) -> str:
    """``path`` as help texts and docs show it: ``<home>/out/quickstart`` for a path in the data
    home, so that the text is the same on every machine; other paths unchanged."""
    try:
        return "<home>/" + Path(path).relative_to(data_home()).as_posix()
    except ValueError:
        return str(path)
