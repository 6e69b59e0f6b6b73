"""MkDocs hooks for the documentation site (mkdocs.yml: ``hooks``).

Two things a static docs folder cannot do by itself:

- **Pages that are root files.** ``README.md`` and ``BENCHMARKS.md`` live at the repository root,
  where GitHub shows them, and MkDocs cannot link outside ``docs/``. A page whose Markdown holds
  ``<!-- include: NAME -->`` is replaced by the root file ``NAME``, with its links rewritten for
  the site (``docs/x.md`` -> ``x.md``, ``BENCHMARKS.md`` -> ``benchmarks.md``, ``README.md`` ->
  ``index.md``). Links from pages in ``docs/`` to ``README.md`` or ``BENCHMARKS.md`` at the root
  are rewritten the same way, so every link works both on GitHub and on the site.
- **The command reference.** ``<!-- commands-table -->`` is replaced by a table of every command
  with its one-line summary, grouped as ``place-recognition --help`` groups them, and
  ``<!-- commands-help -->`` by the ``--help`` of every command, taken from its parser. Both come
  from the entry point's command table (``place_recognition/cli/_commands.py``) when the site is
  built, so the reference cannot fall behind the code.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
INCLUDE = re.compile(r"<!--\s*include:\s*([\w.-]+)\s*-->")
COMMANDS_TABLE = "<!-- commands-table -->"
COMMANDS_HELP = "<!-- commands-help -->"
HELP_WIDTH = "100"  # argparse wraps help text at $COLUMNS: fixed, so the page is reproducible

# Markdown link targets, [text](target) or ![alt](target), up to an optional title.
_LINK = re.compile(r"(\]\()([^)\s#]*)(#[^)\s]*)?((?:\s+\"[^\"]*\")?\))")
ROOT_PAGES = {"README.md": "index.md", "BENCHMARKS.md": "benchmarks.md"}


def entry_point():
    """``place_recognition/cli/_commands.py`` of this checkout: the table of every command."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("place_recognition.cli._commands")


def command_names() -> list[str]:
    """Every command of the entry point, in the order ``place-recognition --help`` lists them."""
    return list(entry_point().COMMANDS)


def commands_table_markdown() -> str:
    """One table per group of ``place-recognition --help``: command, summary."""
    tables = []
    for title, group in entry_point().COMMAND_GROUPS:
        rows = [f"| [`{name}`](#{name}) | {summary} |" for name, summary in group.items()]
        tables.append(f"**{title.capitalize()}**\n\n| command | what it does |\n|---|---|\n")
        tables[-1] += "\n".join(rows) + "\n"
    return "\n".join(tables)


def command_help(name: str) -> str:
    """``name --help`` as its parser prints it, at a fixed width."""
    module = importlib.import_module(f"{entry_point().__package__}.{name}")
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        return module.build_parser().format_help()
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def commands_help_markdown() -> str:
    sections = []
    for name in command_names():
        sections.append(f"## {name}\n\n```text\n{command_help(name).rstrip()}\n```\n")
    return "\n".join(sections)


def site_link(target: str, source_dir: Path, page_dir: Path) -> str:
    """Where a link of a file in ``source_dir`` points once shown as a page in ``page_dir``.

    Links to README.md and BENCHMARKS.md go to the pages that show them; links into docs/ are
    made relative to the page; anything else is left as it is (MkDocs then checks it).
    """
    resolved = (source_dir / target).resolve()
    for name, page in ROOT_PAGES.items():
        if resolved == ROOT / name:
            resolved = DOCS / page
    if resolved != DOCS and DOCS not in resolved.parents:
        return target
    return Path(os.path.relpath(resolved, page_dir)).as_posix()


def rewrite_links(markdown: str, source_dir: Path, page_dir: Path) -> str:
    def replace(match: re.Match) -> str:
        opening, target, anchor, closing = match.groups()
        if not target or re.match(r"[a-z]+:", target):  # an anchor, http:, https:, mailto:
            return match.group(0)
        return f"{opening}{site_link(target, source_dir, page_dir)}{anchor or ''}{closing}"

    return _LINK.sub(replace, markdown)


def page_markdown(markdown: str, src_uri: str) -> str:
    """The Markdown the site renders for the page ``src_uri`` of docs/ (see the docstring)."""
    page_dir = (DOCS / src_uri).parent
    include = INCLUDE.search(markdown)
    if include:
        text = (ROOT / include.group(1)).read_text(encoding="utf-8")
        markdown = rewrite_links(text, ROOT, page_dir)
    else:
        markdown = rewrite_links(markdown, page_dir, page_dir)
    if COMMANDS_TABLE in markdown:
        markdown = markdown.replace(COMMANDS_TABLE, commands_table_markdown())
    if COMMANDS_HELP in markdown:
        markdown = markdown.replace(COMMANDS_HELP, commands_help_markdown())
    return markdown


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    return page_markdown(markdown, page.file.src_uri)
