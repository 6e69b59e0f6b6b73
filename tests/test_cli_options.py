"""The commands' options: one kebab-case spelling each, the documented older spellings as
aliases, misspellings answered in one line with the closest option, defaults taken from the
library's settings, and command modules that do not import each other."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import place_recognition.cli as cli
from place_recognition.cli import demo, train_netvlad
from place_recognition.cli._args import settings_from_args
from place_recognition.cli._demo_app import DemoSettings
from place_recognition.training.settings import RunOptions, TrainSettings

COMMANDS = sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if not m.name.startswith("_"))
KEBAB = re.compile(r"-[a-zA-Z]|--[a-z][a-z0-9]*(-[a-z0-9]+)*")
SHORT_EXCEPTIONS = {"-gf"}  # the Open Model Zoo demo's gallery option, used by every command
# Older spellings kept working; the CLI reference documents each of them.
DOCUMENTED_ALIASES = {
    "build_index": {"--gallery_folder", "--gallery_size", "-o", "--output"},
    "demo": {
        "--gallery_folder",
        "--gallery_size",
        "-limit",
        "--output_limit",
        "--no_show",
        "--utilization_monitors",
    },
    "search": {"--gallery_folder"},
    "quickstart": {"--gallery_folder"},
    "serve": {"--gallery_folder"},
    "make_service_screenshot": {"--gallery_folder"},
    "run_accuracy_check": {"-td"},
    "convert_netvlad": {"--output-dir"},
    "omz_netvlad": {"--dir", "--cache-dir"},
    "measure_demo_fps": {"--rounds"},
    "make_pitts_fixture": {"--source"},
    "benchmark_search": {"--mode"},
}


def parser_of(command: str):
    return importlib.import_module(f"place_recognition.cli.{command}").build_parser()


def aliased_actions(parser):
    return [action for action in parser._actions if getattr(action, "aliases", ())]


@pytest.mark.parametrize("command", COMMANDS)
def test_options_are_kebab_case_except_the_documented_aliases(command):
    parser = parser_of(command)
    primary = [option for action in parser._actions for option in action.option_strings]
    wrong = [o for o in primary if not KEBAB.fullmatch(o) and o not in SHORT_EXCEPTIONS]
    assert not wrong, f"{command}: {wrong}"
    aliases = {alias for action in aliased_actions(parser) for alias in action.aliases}
    assert aliases == DOCUMENTED_ALIASES.get(command, set())
    usage = parser.format_usage()  # shows the primary spellings only
    assert not [a for a in aliases if re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", usage)]


def _required_argv(parser) -> list[str]:
    argv = []
    for action in parser._actions:
        if action.required:
            argv += [action.option_strings[0], "3"] if action.option_strings else ["3"]
    return argv


@pytest.mark.parametrize("command", sorted(DOCUMENTED_ALIASES))
def test_each_alias_parses_like_its_primary_spelling(command):
    parser = parser_of(command)
    required = _required_argv(parser)
    for action in aliased_actions(parser):
        primary = action.option_strings[-1]
        value = [] if action.nargs == 0 else ["FP16" if "precision" in action.dest else "7"]
        expected = parser.parse_args([*required, primary, *value])
        assert getattr(expected, action.dest) != action.default, (command, primary)
        for alias in action.aliases:
            assert parser.parse_args([*required, alias, *value]) == expected, (command, alias)


@pytest.mark.parametrize(
    ("command", "argv", "message"),
    [
        ("demo", ["-i", "x", "-gf", "g", "--no-sho"], "--no-sho; did you mean --no-show?"),
        ("demo", ["-i", "x", "--gallery_fodler", "g"], "--gallery_fodler; did you mean --gallery?"),
        ("demo", ["--thresold", "0.5"], "--thresold; did you mean --threshold?"),
        ("demo", ["-limt", "3"], "-limt; did you mean --output-limit?"),
        ("search", ["--top_k", "3"], "--top_k; did you mean --top-k?"),
        ("build_index", ["--index_mode", "exact"], "--index_mode; did you mean --index-mode?"),
        (
            "build_index",
            ["-gf", "g", "--gallery-s", "3"],
            "--gallery-s; did you mean --gallery-size?",
        ),
        ("evaluate", ["--frobnicate"], "--frobnicate (--help lists the options)"),
    ],
)
def test_a_misspelt_option_is_one_line_with_the_closest_spelling(command, argv, message, capsys):
    module = importlib.import_module(f"place_recognition.cli.{command}")
    assert module.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{command}: error: unknown option {message}"]


def test_other_usage_errors_are_one_line_too(capsys):
    assert demo.main(["-i", "x"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["demo: error: the following arguments are required: -gf/--gallery"]
    assert demo.main(["-i", "x", "-gf", "g", "--threshold", "2"]) == 2
    assert "expected a similarity from -1 to 1" in capsys.readouterr().err


def test_the_demo_settings_default_to_what_the_demo_options_default_to():
    args = demo.build_parser().parse_args(["-i", "camera", "-gf", "g"])
    assert settings_from_args(DemoSettings, args) == DemoSettings(input="camera", gallery=Path("g"))


def test_train_options_default_to_the_training_settings():
    parser = train_netvlad.build_parser()
    options, settings = train_netvlad.run_settings(parser.parse_args(["--dataset", "d"]), Path("m"))
    assert settings == TrainSettings()
    assert options == RunOptions(Path("d"), Path("m"), train_netvlad.DEFAULT_OUTPUT)
    argv = ["--dataset", "d", "--epochs", "3", "--positions", "p.csv", "--fp32"]
    options, settings = train_netvlad.run_settings(parser.parse_args(argv), Path("m"))
    assert settings.epochs == 3 and options.positions_csv == Path("p.csv") and not options.fp16


def test_omz_netvlad_runs_all_steps_by_default():
    parser = parser_of("omz_netvlad")
    assert parser.parse_args([]).steps == ["all"]
    assert parser.parse_args(["setup", "info"]).steps == ["setup", "info"]
    with pytest.raises(SystemExit):
        parser.parse_args(["everything"])


def _imported_commands(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            found += [name.split(".")[0] for name in names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module.removeprefix("place_recognition.cli.")]
        elif isinstance(node, ast.Import):
            found += [a.name.removeprefix("place_recognition.cli.") for a in node.names]
    return [name for name in found if name in COMMANDS]


def test_command_modules_import_no_other_command():
    """Commands share code through the ``_`` helpers or the library, never each other."""
    folder = Path(cli.__file__).parent
    wrong = {path.stem: _imported_commands(path) for path in sorted(folder.glob("*.py"))}
    assert not {name: found for name, found in wrong.items() if found}
