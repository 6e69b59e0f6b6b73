"""The service under bounded load and fuzzed uploads, on a real uvicorn on 127.0.0.1.

Load: 32 concurrent clients x 30 requests with the default queue; no errors; p50/p99 latency
and throughput are printed (measured numbers live in BENCHMARKS.md, not in assertions). Fuzz:
random bytes, damaged and truncated images, huge claimed dimensions, wrong content types,
oversized bodies: always a 4xx JSON error (or 200 when the bytes still are an image), never a
5xx, and the server keeps serving.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import cv2
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_service_api import png_header

from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.update import update_index
from place_recognition.scenes.street import write_sample_gallery
from place_recognition.service.app import create_app
from place_recognition.service.engine import Engine
from place_recognition.service.settings import ServiceSettings

from conftest import scene
from servers import running

CLIENTS, REQUESTS = 32, 30


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_ir):
    gallery = tmp_path_factory.mktemp("load") / "gallery"
    write_sample_gallery(gallery, places=4, views=2)
    update = update_index(EmbeddingModel(tiny_ir), gallery)
    config = ServiceSettings(max_upload_mb=1.0)
    app = create_app(Engine(update.model, gallery, update.directory, config), config)
    with running(app) as url:
        yield url, gallery


@pytest.mark.slow
def test_32_clients_times_30_requests_all_answered(server):
    url, gallery = server
    body = (gallery / "place_01" / "view_0.jpg").read_bytes()
    latencies: list[float] = []
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for _ in range(REQUESTS):
                started = time.perf_counter()
                response = http.post("/api/v1/recognize?k=1", content=body)
                latencies.append(time.perf_counter() - started)
                if (
                    response.status_code != 200
                    or response.json()["top_k"][0]["label"] != "place_01"
                ):
                    failures.append(f"{response.status_code} {response.text[:80]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ms = sorted(latency * 1000 for latency in latencies)
    print(
        f"\n{len(ms)} requests from {CLIENTS} clients in {seconds:.1f} s: "
        f"{len(ms) / seconds:.1f} requests/s, p50 {statistics.median(ms):.1f} ms, "
        f"p99 {ms[int(0.99 * (len(ms) - 1))]:.1f} ms"
    )
    assert not failures and len(ms) == CLIENTS * REQUESTS


def _damaged(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    data = bytearray(data[: max(1, cut)])
    for position, value in flips:
        data[position % len(data)] = value
    return bytes(data)


VALID = cv2.imencode(".jpg", scene(5))[1].tobytes()
UPLOADS = st.one_of(
    st.binary(max_size=4096),
    st.builds(
        _damaged,
        st.just(VALID),
        st.integers(0, len(VALID)),
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
    ),
    st.builds(png_header, st.integers(1, 200_000), st.integers(1, 200_000)),
    st.just(b"\0" * (1024 * 1024 + 1)),
)
CONTENT_TYPES = st.sampled_from(["image/jpeg", "image/png", "text/plain", "application/json", ""])
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    derandomize="FUZZ_RANDOM" not in os.environ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=UPLOADS, content_type=CONTENT_TYPES, multipart=st.booleans())
def test_fuzzed_uploads_never_get_a_5xx(server, body, content_type, multipart):
    url, _ = server
    with httpx.Client(base_url=url, timeout=30) as http:
        if multipart:
            response = http.post("/api/v1/recognize", files={"image": ("x", body, content_type)})
        else:
            response = http.post(
                "/api/v1/recognize", content=body, headers={"Content-Type": content_type}
            )
        assert response.status_code < 500, response.text
        if response.status_code != 200:
            assert 400 <= response.status_code < 500 and set(response.json()) == {"error"}
        assert http.get("/api/v1/health").status_code == 200
