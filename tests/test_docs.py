"""The documentation stays usable: a short README, complete command tables, links that lead
somewhere, a command reference that renders from the parsers, and no citation of documents the
repository does not contain. (`mkdocs build --strict` in .ci/run checks the site itself.)"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 200

# Built from pieces so that this file does not match itself.
OUTSIDE_CITATION = re.compile("REFERENCE" + r"\.md|" + "DATA" + r"\.md|[Ii]ss" + r"ue #?[0-9]+")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def load_site_hook():
    spec = importlib.util.spec_from_file_location("docs_site_hook", DOCS / "hooks" / "site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands() -> set[str]:
    """The commands: a thin wrapper in scripts/ per command, plus demo.py."""
    return {p.stem for p in (ROOT / "scripts").glob("*.py")} | {"demo"}


def markdown_files() -> list[Path]:
    return [README, ROOT / "BENCHMARKS.md", *sorted(DOCS.rglob("*.md"))]


def outside_fences(text: str) -> list[str]:
    """The lines of a Markdown text that are not inside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def command_table(path: Path) -> list[str]:
    """The first column of the table headed `| command | what it does |` in ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("| command | what it does |")
    names = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names.append(line.split("|")[1].strip().strip("`"))
    return names


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (formatting removed, punctuation dropped)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in outside_fences(path.read_text(encoding="utf-8")):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            anchor = github_anchor(match.group(1))
            count = sum(1 for a in found if a == anchor or re.fullmatch(rf"{anchor}-\d+", a))
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    if path == DOCS / "cli.md":  # the sections the site hook renders, one per command
        found |= commands()
    return found


def links(path: Path) -> list[tuple[str, str]]:
    """(target, anchor) of every relative link in ``path``, outside code blocks."""
    found = []
    for line in outside_fences(path.read_text(encoding="utf-8")):
        for target in _LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            found.append((file_part, anchor))
    return found


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("page", [README, DOCS / "cli.md"], ids=["README", "cli"])
def test_the_command_table_lists_every_command_once(page):
    table = command_table(page)
    assert len(table) == len(set(table)), table
    assert set(table) == commands(), (
        f"{page.name}: missing {sorted(commands() - set(table))}, "
        f"not a command {sorted(set(table) - commands())}"
    )
    for name in table:
        wrapper = ROOT / "demo.py" if name == "demo" else ROOT / "scripts" / f"{name}.py"
        assert wrapper.is_file(), wrapper


@pytest.mark.parametrize("page", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_lead_to_files_and_headings_that_exist(page):
    broken = []
    for file_part, anchor in links(page):
        target = (page.parent / file_part).resolve() if file_part else page
        if not target.exists():
            broken.append(f"{file_part}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{file_part}#{anchor}: no such heading")
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_command_reference_renders_every_command_from_its_parser():
    hook = load_site_hook()
    assert set(hook.command_names()) == commands()
    page = hook.page_markdown((DOCS / "cli.md").read_text(encoding="utf-8"), "cli.md")
    for name in commands():
        section = page.split(f"\n## {name}\n", 1)
        assert len(section) == 2, f"no section for {name}"
        assert "usage:" in section[1].split("\n## ", 1)[0], name


def test_root_pages_are_shown_with_links_rewritten_for_the_site():
    hook = load_site_hook()
    home = hook.page_markdown((DOCS / "index.md").read_text(encoding="utf-8"), "index.md")
    assert home.startswith(README.read_text(encoding="utf-8").splitlines()[0])
    assert "](docs/" not in home and "](BENCHMARKS.md" not in home
    assert "](benchmarks.md)" in home
    page = hook.page_markdown("[b](../../BENCHMARKS.md#x) [m](../models.md)", "background/p.md")
    assert page == "[b](../benchmarks.md#x) [m](../models.md)"


def test_the_api_example_in_the_readme_is_the_runnable_one():
    example = DOCS / "api_example.py"
    if not example.is_file():
        pytest.skip("docs/api_example.py is not there")
    block = README.read_text(encoding="utf-8").split("```python\n", 1)[1].split("```", 1)[0]
    assert block.strip() in example.read_text(encoding="utf-8")


def repository_text_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = [ROOT / name for name in listed.decode().split("\0") if name]
    return [p for p in paths if p.is_file() and b"\0" not in p.read_bytes()[:8192]]


def test_nothing_cites_documents_or_issues_outside_the_repository():
    found = []
    for path in repository_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE_CITATION.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not found, "cite the original sources instead (docs/background/):\n" + "\n".join(found)
