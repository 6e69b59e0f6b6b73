"""Shared fixtures: tiny models built in code, generated images, and the real data sets."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from place_recognition.nets.synthetic import write_synthetic_model

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("PLACE_DATASETS", ROOT.parent / "shared" / "datasets"))
F32 = "f32"  # precision for every comparison with a float reference (bf16 is the CPU default)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-data",
        action="store_true",
        help="fail the run when ../shared/datasets exists but a test that needs it was skipped",
    )
    parser.addoption(
        "--require-browser",
        action="store_true",
        help="fail, instead of skipping, the browser tests when no Chromium is installed",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("data") is not None:
        item.config._skipped_data_tests = [
            *getattr(item.config, "_skipped_data_tests", []),
            item.nodeid,
        ]


def _wrongly_skipped(config: pytest.Config) -> list[str]:
    skipped = getattr(config, "_skipped_data_tests", [])
    return skipped if config.getoption("--require-data") and DATASETS.is_dir() else []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _wrongly_skipped(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = _wrongly_skipped(config)
    if skipped:
        terminalreporter.section("data tests skipped although the data exists", red=True)
        terminalreporter.write_line(f"{DATASETS} exists; --require-data forbids skipping:")
        for nodeid in skipped:
            terminalreporter.write_line(f"  {nodeid}")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep the model-digest cache out of the user's home."""
    monkeypatch.setenv("PLACE_RECOGNITION_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def tiny_ir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic netvlad-tf topology at 1/16 width: 200x300 BGR in, 256-d out."""
    return write_synthetic_model(tmp_path_factory.mktemp("models") / "tiny.xml", width=16)


def scene(seed: int, height: int = 120, width: int = 160) -> np.ndarray:
    """A distinct u8 BGR test image: smooth colour field plus a few shapes."""
    rng = np.random.default_rng(seed)
    image = cv2.resize(
        rng.integers(0, 256, (4, 5, 3), dtype=np.uint8),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    for _ in range(4):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (x, y), (x + int(rng.integers(10, 50)), y + 30), colour, -1)
    return image


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """A small gallery: 3 places x 2 views (PNG, JPEG), plus one root-level BMP."""
    root = tmp_path / "gallery"
    for place in range(3):
        folder = root / f"place{place}"
        folder.mkdir(parents=True)
        for view in range(2):
            ext = ".png" if view == 0 else ".JPG"
            cv2.imwrite(str(folder / f"v{view}{ext}"), scene(10 * place + view))
    cv2.imwrite(str(root / "lonely.bmp"), scene(99))
    return root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/datasets`` (real images; tests using it carry the ``data`` marker)."""
    if not DATASETS.is_dir():
        pytest.skip(f"real data not found at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def dask_cluster():
    """A local Dask cluster of 2 worker processes x 1 thread on 127.0.0.1 (started as
    ``build_index --dask local:2`` starts it), shared by the cluster tests; yields a client."""
    from place_recognition.distributed.cluster import connect

    with connect("local:2") as client:
        yield client


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
