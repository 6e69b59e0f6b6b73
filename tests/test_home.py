"""The data home: where models, caches and default outputs go, from a checkout or an install;
the default model chosen there; netvlad-lite's first-use build said with its cost."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from place_recognition.core import home
from place_recognition.nets.lite_build import LiteRecipe
from place_recognition.zoo import lite
from place_recognition.zoo.default import default_model

from conftest import ROOT


@pytest.fixture
def no_home(monkeypatch, tmp_path):
    """No $PLACE_RECOGNITION_HOME; per-user data under tmp_path/xdg."""
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "place-recognition"


def installed_layout(root: Path, pyproject: str | None, models: bool) -> Path:
    """A folder holding a package folder (as site-packages or a checkout would)."""
    package = root / "place_recognition"
    package.mkdir(parents=True)
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    if models:
        (root / "models").mkdir()
    return package


def test_the_environment_variable_wins(monkeypatch, tmp_path):
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    assert home.data_home() == tmp_path / "h"
    assert home.models_dir() == tmp_path / "h" / "models"
    assert home.output_dir("quickstart") == tmp_path / "h" / "out" / "quickstart"


def test_a_checkout_is_its_own_home(no_home):
    assert home.checkout_root() == ROOT
    assert home.data_home() == ROOT
    assert home.scripts_file("accuracy_check/netvlad-tf.yml").is_file()


@pytest.mark.parametrize(
    ("pyproject", "models", "is_checkout"),
    [
        ('[project]\nname = "place-recognition"\n', True, True),
        ('[project]\nname = "place-recognition"\n', False, False),  # no models/
        ('[project]\nname = "another-project"\n', True, False),  # someone else's folder
        ("not toml [", True, False),
        (None, True, False),  # site-packages: no pyproject.toml
    ],
)
def test_a_checkout_is_recognised_by_its_pyproject_and_models(
    no_home, tmp_path, monkeypatch, pyproject, models, is_checkout
):
    package = installed_layout(tmp_path / "site", pyproject, models)
    monkeypatch.setattr(home, "PACKAGE_DIR", package)
    expected = tmp_path / "site" if is_checkout else no_home
    assert home.data_home() == expected
    scripts = (tmp_path / "site" if is_checkout else package) / "scripts"
    assert home.scripts_file("requirements-omz.txt") == scripts / "requirements-omz.txt"


def test_an_install_without_xdg_uses_local_share(monkeypatch, tmp_path):
    monkeypatch.delenv(home.HOME_ENV, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(home, "PACKAGE_DIR", installed_layout(tmp_path / "site", None, False))
    assert home.data_home() == tmp_path / ".local" / "share" / "place-recognition"


def test_the_cache_is_in_the_home_unless_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path / "h"))
    monkeypatch.setenv(home.CACHE_ENV, str(tmp_path / "c"))
    assert home.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(home.CACHE_ENV)
    assert home.cache_dir() == tmp_path / "h" / "cache"


def test_help_texts_show_home_paths_the_same_on_every_machine(monkeypatch, tmp_path):
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path))
    assert home.display_path(tmp_path / "out" / "eval") == "<home>/out/eval"
    assert home.display_path(Path("/elsewhere/x")) == "/elsewhere/x"


# Every path a command uses when not told one, under a home given by the environment: nothing
# relative to the working folder, nothing anchored elsewhere.
_DEFAULTS = """
import importlib, json, sys
from pathlib import Path
from place_recognition.cli._commands import COMMANDS
found = {}
for name in COMMANDS:
    parser = importlib.import_module(f"place_recognition.cli.{name}").build_parser()
    for action in parser._actions:
        values = action.default if isinstance(action.default, list) else [action.default]
        paths = [str(v) for v in values if isinstance(v, Path)]
        if paths:
            found[f"{name} {action.dest}"] = paths
print(json.dumps(found))
"""


def test_every_default_path_of_every_command_is_in_the_home(tmp_path):
    env = {**_env_without_home(), home.HOME_ENV: str(tmp_path / "h")}
    result = subprocess.run(
        [sys.executable, "-c", _DEFAULTS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    defaults = json.loads(result.stdout)
    assert "quickstart output" in defaults and "build_netvlad_lite output" in defaults
    assert defaults["build_netvlad_lite output"] == [
        str(tmp_path / "h" / "models" / "netvlad-lite" / "netvlad-lite.xml")
    ]
    # The package's own files: the Accuracy Checker's configs; the committed backbone, which
    # only the build-time export_backbone writes.
    package_files = (ROOT / "scripts", ROOT / "place_recognition")
    wrong = {
        option: path
        for option, paths in defaults.items()
        for path in paths
        if not Path(path).is_relative_to(tmp_path / "h")
        and not any(Path(path).is_relative_to(folder) for folder in package_files)
    }
    assert not wrong, wrong


def _env_without_home() -> dict[str, str]:
    unset = (home.HOME_ENV, home.CACHE_ENV, "PLACE_DATASETS")
    return {k: v for k, v in os.environ.items() if k not in unset}


# --- the default model --------------------------------------------------------------------------
def _built_lite(home_dir: Path) -> Path:
    """A netvlad-lite IR as a finished default build leaves it (its recipe stamp beside it)."""
    path = home_dir / "models" / "netvlad-lite" / "netvlad-lite.xml"
    path.parent.mkdir(parents=True)
    shutil.copy(ROOT / "place_recognition" / "nets" / "data" / "efficientnet-lite0.xml", path)
    path.with_suffix(".recipe").write_text(repr(LiteRecipe()))
    return path


def test_default_model_is_netvlad_tf_when_in_the_home_else_lite(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path))
    caplog.set_level(logging.INFO)
    lite_path = _built_lite(tmp_path)
    assert default_model() == lite_path
    assert "netvlad-lite: " in caplog.text and "netvlad-tf.xml is not there" in caplog.text
    assert "building" not in caplog.text  # an up-to-date build is reused
    netvlad_tf = tmp_path / "models" / "netvlad-tf.xml"
    netvlad_tf.write_text("<net/>")
    caplog.clear()
    assert default_model() == netvlad_tf
    assert "netvlad-tf, the default when present" in caplog.text


def test_the_first_use_build_is_announced_with_its_cost_then_timed(monkeypatch, tmp_path, caplog):
    builds = []

    def one_second_build(path, progress=False):  # the real one takes a minute (see .ci/run)
        builds.append(progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("ir")
        path.with_suffix(".recipe").write_text(repr(LiteRecipe()))

    monkeypatch.setattr(lite, "build_calibrated_lite", one_second_build)
    monkeypatch.setenv(home.HOME_ENV, str(tmp_path))
    caplog.set_level(logging.INFO)
    path = lite.ensure_lite_model(progress=True)
    assert path == tmp_path / "models" / "netvlad-lite" / "netvlad-lite.xml"
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("building netvlad-lite once (first use, about a minute on 2 ")
    assert messages[1].startswith("netvlad-lite built in ")
    assert builds == [True]  # with its progress bar
    lite.ensure_lite_model()
    assert len(builds) == 1
