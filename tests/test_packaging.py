"""The package's declaration (pyproject.toml, setup.py) agrees with the pinned requirements and
ships what the package reads at run time. The install itself is checked by .ci/run (a fresh
venv, ``pip install .``, the console script, building netvlad-lite in a temporary home)."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import re
import tomllib
from pathlib import Path

import place_recognition
from place_recognition.cli import _commands

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def pins(path: Path) -> dict[str, str]:
    """name -> version of the ``name==version`` lines of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_dependencies_are_the_pinned_requirements_as_ranges():
    pinned = pins(ROOT / "requirements.txt")
    ranges = {}
    for requirement in PROJECT["dependencies"]:
        name, low, high = re.fullmatch(
            r"([\w-]+(?:\[[\w,]+\])?)>=([\d.]+),<([\d.]+)", requirement
        ).groups()
        ranges[name.lower()] = (low, high)
    assert set(ranges) == set(pinned)
    for name, (low, high) in ranges.items():
        # From the tested version (the pin) up to the next major release.
        assert low == pinned[name], name
        assert version_tuple(high) == (version_tuple(low)[0] + 1,), name


def test_the_extras_pin_what_the_separate_requirement_files_pin():
    extras = PROJECT["optional-dependencies"]
    as_pins = {name: dict(r.lower().split("==") for r in reqs) for name, reqs in extras.items()}
    assert as_pins["test"] == pins(ROOT / "tests" / "requirements.txt")
    assert as_pins["train"] == {"torch": pins(ROOT / "scripts" / "requirements-train.txt")["torch"]}
    assert as_pins["int8"] == pins(ROOT / "scripts" / "requirements-int8.txt")
    assert set(as_pins["docs"]) >= {"mkdocs", "mkdocs-material"}


def test_the_version_has_one_place():
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, name = attr.rsplit(".", 1)
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    assigned = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }
    assert assigned[name] == place_recognition.__version__


def test_the_console_script_is_the_entry_point_of_python_dash_m():
    target = PROJECT["scripts"]["place-recognition"]
    module, name = target.split(":")
    assert module == "place_recognition.__main__"
    spec = importlib.util.find_spec(module)
    source = Path(spec.origin).read_text()
    assert "from .cli._commands import main" in source and name == "main"
    assert _commands.PROG == "place-recognition"


def test_the_backbone_ships_as_package_data():
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["place_recognition.nets"]
    folder = ROOT / "place_recognition" / "nets"
    shipped = {p.relative_to(folder).as_posix() for g in globs for p in folder.glob(g)}
    assert {"data/efficientnet-lite0.xml", "data/efficientnet-lite0.bin"} <= shipped
    assert {"data/LICENSE", "data/NOTICE"} <= shipped


def test_the_build_ships_every_scripts_file_the_package_reads():
    """Each ``scripts_file("...")`` in the package names a file that setup.py copies in."""
    patterns = ast.literal_eval(
        re.search(r"^SHIPPED = (\(.*?\))$", (ROOT / "setup.py").read_text(), re.M).group(1)
    )
    read = {
        node.args[0].value
        for path in (ROOT / "place_recognition").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "scripts_file"
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(read) >= 6  # the three Accuracy Checker configs and three requirement files
    for relative in read:
        assert (ROOT / "scripts" / relative).is_file(), relative
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
