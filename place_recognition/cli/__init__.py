"""Command-line entry points; each module has ``build_parser()`` and ``main(argv) -> int``."""
