"""The documentation stays usable and true to the code: a short README whose commands are the
ones CI runs, complete command tables, every page in the site's navigation, links that lead
somewhere, a command reference and a layer table that follow the code, and no citation of
documents the repository does not contain. (`mkdocs build --strict` in .ci/run checks the site.)"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

import place_recognition
from place_recognition.cli._commands import COMMAND_GROUPS, COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
MKDOCS_YML = ROOT / "mkdocs.yml"
API_EXAMPLE = DOCS / "api_example.py"
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
    """The commands: the entry point's table (``place-recognition --help`` lists the same)."""
    return set(COMMANDS)


def markdown_files() -> list[Path]:
    return [README, ROOT / "BENCHMARKS.md", *sorted(DOCS.rglob("*.md"))]


def site_pages() -> set[str]:
    """The pages of the site: every Markdown file of docs/, relative to it."""
    return {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}


def nav_pages() -> list[str]:
    """The pages ``mkdocs.yml``'s ``nav`` lists (``- Title: page.md`` lines)."""
    text = MKDOCS_YML.read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return re.findall(r"^\s*-\s+(?:[^\n]*?:\s+)?([\w./-]+\.md)\s*$", text, flags=re.M)


def fenced_block(text: str, after: str, language: str) -> str:
    """The first ```language block after the text ``after``."""
    rest = text.split(after, 1)[1]
    return rest.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def ci_commands() -> list[str]:
    return [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]


def outside_fences(text: str) -> list[str]:
    """The lines of a Markdown text that are not inside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def readme_command_table() -> list[str]:
    """The command names of the README's table headed ``| to | commands |``, in order."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| to | commands |")
    names = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names += re.findall(r"`([\w-]+)`", line.split("|")[2])
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


def test_the_readme_command_table_lists_every_command_once():
    table = readme_command_table()
    assert len(table) == len(set(table)), table
    assert set(table) == commands(), (
        f"README.md: missing {sorted(commands() - set(table))}, "
        f"not a command {sorted(set(table) - commands())}"
    )


def test_every_command_has_its_script_wrapper():
    for name in commands():
        wrapper = ROOT / "demo.py" if name == "demo" else ROOT / "scripts" / f"{name}.py"
        assert wrapper.is_file(), wrapper


def test_the_readme_runs_the_commands_that_ci_runs():
    """The README's install line and test line are, character for character, lines of .ci/run."""
    text = README.read_text(encoding="utf-8")
    install = fenced_block(text, "## Install and quick start", "bash").strip()
    tests = fenced_block(text, "## Tests and development", "bash").strip()
    assert install in ci_commands(), f".ci/run does not run the README's install line: {install}"
    assert tests in ci_commands(), f".ci/run does not run the README's test line: {tests}"
    assert ci_commands().index(install) < ci_commands().index(tests)


def test_ci_builds_the_site_strictly_with_the_docs_requirements():
    build = [line for line in ci_commands() if "mkdocs build" in line]
    assert len(build) == 1, build
    assert "-r docs/requirements.txt" in build[0] and "--strict" in build[0], build[0]
    assert ci_commands().index(build[0]) < next(
        i for i, line in enumerate(ci_commands()) if "pytest" in line
    ), "the site is built before the tests, so a broken page fails fast"


def test_every_page_is_in_the_navigation_once_and_the_navigation_names_only_pages():
    nav = nav_pages()
    assert len(nav) == len(set(nav)), nav
    assert set(nav) == site_pages(), (
        f"mkdocs.yml nav: missing {sorted(site_pages() - set(nav))}, "
        f"no such page {sorted(set(nav) - site_pages())}"
    )


def test_the_docs_home_links_every_page():
    linked = {target for target, _ in links(DOCS / "index.md")}
    missing = site_pages() - linked - {"index.md"}
    assert not missing, f"docs/index.md lists the pages for GitHub readers; add {sorted(missing)}"


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
    assert hook.command_names() == list(COMMANDS)
    page = hook.page_markdown((DOCS / "cli.md").read_text(encoding="utf-8"), "cli.md")
    for name in commands():
        section = page.split(f"\n## {name}\n", 1)
        assert len(section) == 2, f"no section for {name}"
        assert f"usage: {name} " in section[1].split("\n## ", 1)[0], name


def test_the_command_reference_tables_list_every_command_with_its_summary():
    hook = load_site_hook()
    page = hook.page_markdown((DOCS / "cli.md").read_text(encoding="utf-8"), "cli.md")
    rows = re.findall(r"^\| \[`([\w-]+)`\]\(#([\w-]+)\) \| (.*) \|$", page, flags=re.M)
    assert [name for name, _, _ in rows] == list(COMMANDS)
    for name, anchor, summary in rows:
        assert anchor == name and summary == COMMANDS[name]
    for title, _ in COMMAND_GROUPS:
        assert f"**{title.capitalize()}**" in page


def test_root_pages_are_shown_with_links_rewritten_for_the_site():
    hook = load_site_hook()
    home = hook.page_markdown((DOCS / "index.md").read_text(encoding="utf-8"), "index.md")
    assert home.startswith(README.read_text(encoding="utf-8").splitlines()[0])
    assert "](docs/" not in home and "](BENCHMARKS.md" not in home
    assert "](benchmarks.md)" in home
    page = hook.page_markdown("[b](../../BENCHMARKS.md#x) [m](../models.md)", "background/p.md")
    assert page == "[b](../benchmarks.md#x) [m](../models.md)"


@pytest.mark.parametrize(
    ("page", "heading"), [(README, "## Python API"), (DOCS / "search.md", "## From Python")]
)
def test_python_examples_are_quoted_from_the_runnable_example(page, heading):
    """The example CI and tests/test_api_example.py run; a page quotes it, never paraphrases it."""
    block = fenced_block(page.read_text(encoding="utf-8"), heading, "python")
    assert block.strip() in API_EXAMPLE.read_text(encoding="utf-8"), page.name
    if page == README:  # the whole program, so that the README's example runs as it stands
        code = API_EXAMPLE.read_text(encoding="utf-8").split('"""', 2)[2]
        assert block.strip() == code.strip()


def layer_table() -> dict[str, set[str]]:
    """docs/architecture.md's layer table: subpackage -> the subpackages it may import."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)/` \| .* \| ([^|]*) \|$", text, flags=re.M)
    return {
        name: set(re.findall(r"[a-z]+", may)) - {"nothing", "else", "everything"}
        for name, may in rows
    }


def docstring_layers() -> dict[str, set[str]]:
    """Each subpackage's ``May import:`` line (tests/test_layering.py enforces them)."""
    found = {}
    for init in sorted((ROOT / "place_recognition").glob("*/__init__.py")):
        line = re.search(r"May import: ([^\n]*)", init.read_text(encoding="utf-8")).group(1)
        names = set(re.findall(r"\b[a-z]+\b", line.split(";")[0]))
        found[init.parent.name] = names - {
            "nothing",
            "else",
            "of",
            "the",
            "package",
            "errors",
            "only",
            "everything",
        }
    return found


def test_the_architecture_layer_table_is_the_docstrings_rule():
    assert layer_table() == docstring_layers()


def test_the_architecture_page_names_the_whole_public_api():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8").split("## The public API", 1)[1]
    missing = [name for name in place_recognition.__all__ if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md, The public API: add {missing}"


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
