"""One entry point: ``python -m place_recognition <command>`` (and the ``place-recognition``
console script) knows every command, lists them without importing them, and says what to type
when a name is wrong."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from place_recognition.cli import _commands
from place_recognition.cli._commands import COMMANDS, child_env, command_line

from conftest import ROOT

CLI = ROOT / "place_recognition" / "cli"


def command_modules() -> set[str]:
    return {p.stem for p in CLI.glob("*.py") if not p.name.startswith("_")}


def wrapped_command(script: Path) -> str | None:
    """The cli module a wrapper script runs (``from place_recognition.cli.X import main``)."""
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "place_recognition.cli."
        ):
            return node.module.rsplit(".", 1)[1]
    return None


def test_the_table_lists_exactly_the_command_modules():
    assert set(COMMANDS) == command_modules()


@pytest.mark.parametrize(
    "script", [*sorted((ROOT / "scripts").glob("*.py")), ROOT / "demo.py"], ids=lambda p: p.name
)
def test_every_wrapper_runs_the_command_of_its_name(script):
    assert wrapped_command(script) == script.stem
    assert script.stem in COMMANDS


@pytest.mark.parametrize("name", sorted(command_modules()))
def test_each_summary_is_the_first_line_of_the_module_docstring(name):
    docstring = ast.get_docstring(ast.parse((CLI / f"{name}.py").read_text())) or ""
    assert COMMANDS[name] == docstring.splitlines()[0]


def test_help_lists_every_command_without_importing_one():
    """Base requirements only: --help imports no command module (train_netvlad needs torch)."""
    probe = (
        "import contextlib, io, json, sys\n"
        "from place_recognition.cli._commands import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    code = main(['--help'])\n"
        "loaded = [m for m in sys.modules if m.startswith('place_recognition.cli.')]\n"
        "print(json.dumps({'code': code, 'help': out.getvalue(), 'loaded': loaded,\n"
        "                  'torch': 'torch' in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert report["code"] == 0 and not report["torch"]
    assert {m.rsplit(".", 1)[1] for m in report["loaded"]} <= {"_commands"}
    lines = report["help"].splitlines()
    listed = {line.split()[0] for line in lines if line[:2] == "  " and line[2] != " "}
    assert listed == set(COMMANDS)


def test_python_dash_m_runs_a_command_from_any_folder(tmp_path):
    gallery = tmp_path / "gallery"
    argv = ["-o", str(gallery), "--places", "2", "--views", "1", "-q"]
    result = subprocess.run(
        [*command_line("make_sample_gallery"), *argv],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(list(gallery.rglob("*.jpg"))) == 2


def test_a_command_gets_its_own_arguments_and_help(capsys):
    assert _commands.main(["make_sample_gallery", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: make_sample_gallery")


@pytest.mark.parametrize(
    ("typed", "suggested"), [("buld_index", "build_index"), ("build-index", "build_index")]
)
def test_an_unknown_command_gets_one_line_and_a_suggestion(typed, suggested, capsys):
    assert _commands.main([typed, "-gf", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"did you mean {suggested}?" in err


def test_no_command_shows_the_list_and_fails(capsys):
    assert _commands.main([]) == 2
    assert "build_netvlad_lite" in capsys.readouterr().err


def test_child_env_puts_this_package_first():
    parts = child_env()["PYTHONPATH"].split(os.pathsep)
    assert Path(parts[0]) == ROOT
