"""The package's layering: each subpackage imports only what its ``__init__`` docstring allows.

Every subpackage's docstring ends with a line ``May import: a, b, c.`` (or ``nothing else`` /
``everything``). The test reads those lines, checks that the allowed graph has no cycle, and
that every import in the package (module level or inside functions) stays within it. It also
checks the rules that keep the library usable from other programs: only ``cli`` prints, exits,
parses flags or opens windows, only ``training`` (and the build-time backbone export) imports
torch, and nothing imports ``cli``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "place_recognition"
TOP_LEVEL_MODULES = {"__init__", "__main__", "errors", "_version"}
ALWAYS_ALLOWED = {"errors", "_version"}


def subpackages() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def allowed_imports(name: str) -> set[str] | None:
    """The subpackages ``name`` may import (None: everything), from its docstring."""
    doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text())) or ""
    match = re.search(r"May import:\s*(.+?)(?:\.|;|$)", doc, re.MULTILINE)
    assert match, f"{name}/__init__.py: the docstring has no 'May import:' line"
    text = match.group(1).strip()
    if text.startswith("everything"):
        return None
    if text.startswith("nothing"):
        return set()
    return {part.strip() for part in text.split(",")}


def imported_subpackages(path: Path) -> set[tuple[str, int]]:
    """(subpackage or top-level module of place_recognition, line) imported by ``path``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = list(parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = [*base, *(node.module.split(".") if node.module else [])]
                targets = [[*module, a.name] for a in node.names] if not node.module else [module]
            elif node.module and node.module.split(".")[0] == "place_recognition":
                targets = [node.module.split(".")]
            else:
                continue
        elif isinstance(node, ast.Import):
            targets = [a.name.split(".") for a in node.names if a.name.startswith("place_recogn")]
        else:
            continue
        for target in targets:
            if len(target) > 1:
                found.add((target[1], node.lineno))
    return found


def python_files(subpackage: str) -> list[Path]:
    return sorted((PACKAGE / subpackage).rglob("*.py"))


def test_the_package_root_holds_only_the_api_entry_point_and_errors():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules <= TOP_LEVEL_MODULES, modules - TOP_LEVEL_MODULES


def test_the_allowed_layers_form_no_cycle():
    graph = {name: allowed_imports(name) for name in subpackages()}
    assert graph["cli"] is None
    for name, allowed in graph.items():
        assert allowed is None or allowed <= set(graph), (name, allowed - set(graph))
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"layers import each other: {' -> '.join((*path, name))}"
        if name in order:
            return
        for dependency in sorted(graph[name] or ()):
            visit(dependency, (*path, name))
        order.append(name)

    for name in graph:
        if graph[name] is not None:
            visit(name, ())


@pytest.mark.parametrize("subpackage", subpackages())
def test_each_subpackage_imports_only_what_it_declares(subpackage):
    allowed = allowed_imports(subpackage)
    if allowed is None:
        return
    allowed = allowed | ALWAYS_ALLOWED | {subpackage}
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {target}"
        for path in python_files(subpackage)
        for target, line in imported_subpackages(path)
        if target not in allowed
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_cli():
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for name in subpackages()
        if name != "cli"
        for path in python_files(name)
        for target, line in imported_subpackages(path)
        if target == "cli"
    ]
    top = [p for p in PACKAGE.glob("*.py") if p.stem != "__main__"]
    wrong += [f"{p.name}:{line}" for p in top for t, line in imported_subpackages(p) if t == "cli"]
    assert not wrong, wrong


_CLI_ONLY_CALLS = {"print", "exit", "imshow", "waitKey", "namedWindow", "basicConfig"}


def _calls(tree: ast.AST) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _CLI_ONLY_CALLS:
                found.add((name, node.lineno))
    return found


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_cli_prints_exits_parses_flags_or_opens_windows():
    wrong = []
    for name in subpackages():
        if name == "cli":
            continue
        for path in python_files(name):
            tree = ast.parse(path.read_text())
            wrong += [f"{path.relative_to(PACKAGE)}:{line} calls {c}" for c, line in _calls(tree)]
            if "argparse" in _imports(tree):
                wrong.append(f"{path.relative_to(PACKAGE)} imports argparse")
    assert not wrong, "\n".join(wrong)


def test_only_training_and_the_backbone_export_import_torch():
    build_time = {PACKAGE / "nets" / "backbone_export.py"}
    wrong = [
        str(path.relative_to(PACKAGE))
        for name in subpackages()
        if name != "training"
        for path in python_files(name)
        if path not in build_time and "torch" in _imports(ast.parse(path.read_text()))
    ]
    assert not wrong, wrong
