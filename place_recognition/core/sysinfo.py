"""The machine a run happens on: thread pools that leave the cores to OpenVINO, and what the
machine and software are (for summaries and benchmark reports).

OpenCV and faiss each start a pool of one thread per core by default. Next to OpenVINO's own
streams that oversubscribes the CPU (on 2 cores, three pools fight for the same two), so the demo
caps both: OpenCV only resizes and encodes small images, and faiss searches one or a few
queries at a time, where extra threads buy nothing.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import cv2
import faiss
import numpy as np
import openvino


def cap_thread_pools(opencv: int = 1, faiss_threads: int = 1) -> None:
    """Limit OpenCV's and faiss's (OpenMP) thread pools."""
    cv2.setNumThreads(opencv)
    faiss.omp_set_num_threads(faiss_threads)


def machine_line() -> str:
    """A short description of the machine for summaries: CPUs, OS, OpenVINO version."""
    version = openvino.get_version().split("-")[0]
    return f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, OpenVINO {version}"


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
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "openvino": openvino.get_version(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
    }
