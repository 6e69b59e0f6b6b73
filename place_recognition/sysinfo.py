"""What machine and software a measurement ran on (for benchmark reports)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """CPU model, logical cores, OS, Python and the versions of the libraries that matter."""
    import faiss
    import numpy as np
    import openvino as ov

    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "openvino": ov.get_version(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
    }
