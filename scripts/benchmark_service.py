"""Thin wrapper: see place_recognition/cli/benchmark_service.py (run from anywhere)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from place_recognition.cli.benchmark_service import main

if __name__ == "__main__":
    sys.exit(main())
