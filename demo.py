"""Thin wrapper: see place_recognition/cli/demo.py (``python demo.py -i camera -gf gallery/``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from place_recognition.cli.demo import main

if __name__ == "__main__":
    sys.exit(main())
