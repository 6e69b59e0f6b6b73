"""Every progress bar in the package says what it counts, in which unit, out of how many."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "place_recognition"
REQUIRED = {"desc", "unit", "total"}


def test_every_progress_bar_has_a_label_a_unit_and_a_total():
    calls = [
        (path, node)
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tqdm"
    ]
    assert len(calls) >= 10  # the scan finds them
    wrong = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} lacks {sorted(REQUIRED - keywords)}"
        for path, node in calls
        if not (keywords := {keyword.arg for keyword in node.keywords}) >= REQUIRED
    ]
    assert not wrong, "\n".join(wrong)
