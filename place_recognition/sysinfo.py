"""Process-wide runtime settings the demo needs: thread pools that leave the cores to OpenVINO.

OpenCV and faiss each start a pool of one thread per core by default. Next to OpenVINO's own
streams that oversubscribes the CPU (on 2 cores, three pools fight for the same two), so the demo
caps both: OpenCV only resizes and encodes small images, and faiss searches one or a few
queries at a time, where extra threads buy nothing.
"""

from __future__ import annotations

import os
import platform

import cv2
import faiss
import openvino


def cap_thread_pools(opencv: int = 1, faiss_threads: int = 1) -> None:
    """Limit OpenCV's and faiss's (OpenMP) thread pools."""
    cv2.setNumThreads(opencv)
    faiss.omp_set_num_threads(faiss_threads)


def machine_line() -> str:
    """A short description of the machine for summaries: CPUs, OS, OpenVINO version."""
    version = openvino.get_version().split("-")[0]
    return f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, OpenVINO {version}"
