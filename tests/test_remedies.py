"""Library errors say the remedy in library terms; the command line names its option."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from place_recognition.cli import build_index, search
from place_recognition.errors import IndexFormatError, PlaceRecognitionError, Remedy
from place_recognition.index import modes
from place_recognition.index.manifest import read_manifest
from place_recognition.index.place_index import PlaceIndex

PACKAGE = Path(__file__).resolve().parents[1] / "place_recognition"
# A command-line option (--rebuild, -o) or a script name (build_index.py) in a message.
CLI_TERMS = re.compile(r"(?:^|[\s(])--?[a-z][a-z0-9_-]*|\b[a-z_]+\.py\b")


# Commands of other tools, quoted as they are typed.
OTHER_TOOLS = (
    "INT8 quantization needs NNCF: .venv/bin/pip install -r scripts/requirements-int8.txt",
)


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with ``{}`` for each value put in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def _library_messages() -> list[tuple[str, int, str]]:
    """(module, line, text) of every string literal raised or logged outside cli/."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            logged = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("debug", "info", "warning", "error")
            )
            if not (isinstance(node, ast.Raise) or logged):
                continue
            inner = {
                id(v) for n in ast.walk(node) if isinstance(n, ast.JoinedStr) for v in n.values
            }
            for part in ast.walk(node):
                text = _text(part) if id(part) not in inner else None
                if text is not None:
                    found.append((path.name, part.lineno, text))
    return found


def test_no_library_message_names_a_command_line_option_or_script():
    messages = _library_messages()
    assert len(messages) > 100  # the scan sees them
    offenders = [m for m in messages if CLI_TERMS.search(m[2]) and m[2] not in OTHER_TOOLS]
    assert offenders == []


def test_a_damaged_index_names_rebuild_in_the_library_and_the_flag_on_the_command_line(
    tiny_ir, image_dir, capsys
):
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "-q"]
    assert build_index.main(argv) == 0
    directory = next((image_dir / ".place_index").iterdir())
    records = directory / read_manifest(directory).files["records"].name
    records.write_bytes(records.read_bytes()[:-5])
    with pytest.raises(IndexFormatError) as error:
        PlaceIndex.load(directory)
    assert error.value.remedy is Remedy.REBUILD_INDEX
    assert "rebuild the index" in str(error.value) and "--" not in str(error.value)
    capsys.readouterr()
    assert build_index.main(argv) == 2
    assert "rebuild the index to replace it (run again with --rebuild)" in capsys.readouterr().err
    query = str(next(image_dir.glob("place0/*.png")))
    assert search.main(["-m", str(tiny_ir), "-gf", str(image_dir), "-i", query]) == 2
    assert "(build_index --rebuild)" in capsys.readouterr().err  # search has no --rebuild
    assert build_index.main([*argv, "--rebuild"]) == 0


def test_a_bad_index_mode_names_the_option_only_on_the_command_line(tiny_ir, image_dir, capsys):
    with pytest.raises(PlaceRecognitionError) as error:
        modes.new_index("IVF4,Bogus", 8)
    assert error.value.remedy is Remedy.INDEX_MODE and "--" not in str(error.value)
    argv = ["-m", str(tiny_ir), "-gf", str(image_dir), "--index-mode", "IVF4,Bogus", "-q"]
    assert build_index.main(argv) == 2
    err = capsys.readouterr().err
    assert "index mode 'IVF4,Bogus' is not a faiss index factory string" in err
    assert err.strip().endswith("(--index-mode)")
