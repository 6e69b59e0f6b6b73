"""Thin wrapper: see place_recognition/cli/train.py (run from anywhere; needs .venv-train)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from place_recognition.cli.train_netvlad import main

if __name__ == "__main__":
    sys.exit(main())
