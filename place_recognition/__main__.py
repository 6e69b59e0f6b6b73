"""``python -m place_recognition <command> [options]``: every command from one entry point
(the ``place-recognition`` console script runs the same ``main``). ``--help`` lists them."""

from __future__ import annotations

import sys

from .cli._commands import main

if __name__ == "__main__":
    sys.exit(main())
