"""The command-line layer: one module per command, each with ``build_parser()`` and
``main(argv) -> int``; modules starting with ``_`` are shared helpers, not commands.

It parses flags, maps library errors to flag names and exit codes, prints, and opens the
demo's window; the library below it never does any of these.

May import: everything; nothing imports it.
"""
