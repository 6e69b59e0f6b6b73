"""The service's REST API through FastAPI's TestClient and a real uvicorn on 127.0.0.1: formats,
errors as JSON, the API key, uploads refused by content and size, the queue's 503, hot reload."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import threading
import time
import zlib
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from place_recognition.cli import serve
from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.update import update_index
from place_recognition.scenes.street import write_sample_gallery
from place_recognition.service.app import create_app
from place_recognition.service.engine import Engine
from place_recognition.service.settings import (
    ServiceConfigError,
    ServiceSettings,
    check_exposure,
    is_loopback,
)

from conftest import scene
from servers import running

TOP_KEYS = {"rank", "label", "score", "lat", "lon", "path", "id"}


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("service") / "gallery"
    write_sample_gallery(root, places=4, views=2)
    return root


@pytest.fixture(scope="module")
def model(tiny_ir) -> EmbeddingModel:
    return EmbeddingModel(tiny_ir)


def make_client(model, gallery, **settings) -> TestClient:
    update = update_index(model, gallery)
    config = ServiceSettings(**settings)
    return TestClient(create_app(Engine(update.model, gallery, update.directory, config), config))


@pytest.fixture(scope="module")
def client(model, gallery):
    with make_client(model, gallery, max_upload_mb=1.0, max_pixels=4_000_000) as client:
        yield client


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_health_says_model_device_precision_images_generation(client, model):
    health = client.get("/api/v1/health").json()
    assert set(health) == {"model", "device", "precision", "images", "generation"}
    assert health["model"] == model.name and health["device"] == "CPU" and health["images"] == 8


def test_a_gallery_image_finds_itself_first(client, gallery):
    path = gallery / "place_02" / "view_1.jpg"
    for request in (
        {"files": {"image": ("photo.jpg", path.read_bytes(), "image/jpeg")}},
        {"content": path.read_bytes(), "headers": {"Content-Type": "image/jpeg"}},
    ):
        answer = client.post("/api/v1/recognize?k=3", **request).json()
        assert set(answer) == {"label", "known", "threshold", "top_k", "timings_ms"}
        best = answer["top_k"][0]
        assert set(best) == TOP_KEYS and best["path"] == "place_02/view_1.jpg"
        assert best["id"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert best["score"] == pytest.approx(1.0, abs=1e-3) and len(answer["top_k"]) == 3
        assert {"decode", "queue", "inference", "search", "total"} <= set(answer["timings_ms"])


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 422),
        (b"not an image at all" * 10, 415),
        (np.random.default_rng(0).bytes(5000), 415),
        (jpeg(scene(1))[:300], 422),  # a truncated JPEG
        (png_header(60_000, 60_000), 413),  # 3.6 gigapixels claimed: refused before decoding
        (b"\0" * (2 * 1024 * 1024), 413),  # over --max-upload-mb
    ],
)
def test_bad_uploads_get_a_json_4xx_and_the_server_keeps_serving(client, body, status):
    response = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"})
    assert response.status_code == status and set(response.json()) == {"error"}
    assert "\n" not in response.json()["error"] and "Traceback" not in response.text
    assert client.get("/api/v1/health").status_code == 200


def test_multipart_without_an_image_field_and_bad_parameters_are_4xx(client):
    form = client.post(
        "/api/v1/recognize", files={"photo": ("a.jpg", jpeg(scene(2)), "image/jpeg")}
    )
    assert form.status_code == 422 and "image" in form.json()["error"]
    assert client.post("/api/v1/recognize?k=0", content=jpeg(scene(2))).status_code == 422
    assert client.get("/api/v1/nowhere").json() == {"error": "Not Found"}


def test_places_are_paged_and_thumbnails_only_for_indexed_images(client):
    first = client.get("/api/v1/places?offset=0&limit=3").json()
    rest = client.get("/api/v1/places?offset=3&limit=3").json()
    assert first["total"] == 4 and len(first["places"]) == 3 and len(rest["places"]) == 1
    place = first["places"][1]
    assert place["label"] == "place_01" and place["images"] == 2 and place["lat"] is not None
    thumbnail = client.get(f"/api/v1/images/{place['id']}/thumbnail")
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(thumbnail.content, np.uint8), cv2.IMREAD_COLOR) is not None
    for wrong in ("0" * 64, "..%2F..%2Fetc%2Fpasswd", "place_01%2Fview_0.jpg"):
        missing = client.get(f"/api/v1/images/{wrong}/thumbnail")
        assert missing.status_code == 404 and set(missing.json()) == {"error"}


def test_the_api_key_is_required_when_set_and_never_for_the_page(model, gallery):
    with make_client(model, gallery, api_key="s3cret") as client:
        assert client.get("/api/v1/health").status_code == 401
        assert client.get("/api/v1/health", headers={"X-API-Key": "nope"}).status_code == 401
        assert client.get("/api/v1/health", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/").status_code == 200 and client.get("/docs").status_code == 200
        assert "X-API-Key" in client.get("/api/v1/places").json()["error"]


def test_openapi_and_the_docs_page_use_no_cdn(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/recognize", "/api/v1/places"} <= set(spec["paths"])
    docs = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_a_reachable_bind_needs_a_key_and_is_refused_before_loading_the_model(capsys, tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(ServiceConfigError):
        check_exposure(ServiceSettings(host="0.0.0.0"))
    check_exposure(ServiceSettings(host="0.0.0.0", api_key="k"))
    check_exposure(ServiceSettings(host="0.0.0.0", insecure=True))
    missing = tmp_path / "no-such-model.xml"  # were the model loaded first, this would fail first
    argv = ["-m", str(missing), "-gf", str(tmp_path), "--host", "0.0.0.0"]
    assert serve.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lets other machines in" in err[0] and "--api-key" in err[0]


class HeldEngine(Engine):
    """An engine that takes no request from its queue until the test lets it (to fill it)."""

    release = threading.Event()

    async def _batch_forever(self):
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 10)
        await super()._batch_forever()


def test_a_full_queue_answers_503_with_retry_after(model, gallery):
    update = update_index(model, gallery)
    settings = ServiceSettings(max_queue=2)
    engine = HeldEngine(update.model, gallery, update.directory, settings)
    body = jpeg(scene(3))
    results: list[httpx.Response] = []
    with (
        running(create_app(engine, settings)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):

        def send() -> None:
            results.append(http.post("/api/v1/recognize", content=body))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while sum(r.status_code == 503 for r in results) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        HeldEngine.release.set()
        for thread in threads:
            thread.join()
    codes = sorted(r.status_code for r in results)
    # Two requests wait in the queue (--max-queue 2), the four others are refused at once.
    assert codes == [200, 200, 503, 503, 503, 503]
    refused = next(r for r in results if r.status_code == 503)
    assert refused.headers["Retry-After"] == "1" and "busy" in refused.json()["error"]


def test_a_new_index_generation_is_served_within_two_seconds(model, tmp_path):
    gallery = tmp_path / "gallery"
    write_sample_gallery(gallery, places=2, views=1)
    update = update_index(model, gallery)
    settings = ServiceSettings(reload_seconds=0.2)
    engine = Engine(update.model, gallery, update.directory, settings)
    new = gallery / "place_09" / "view_0.jpg"
    with running(create_app(engine, settings)) as url, httpx.Client(base_url=url) as http:
        before = http.get("/api/v1/health").json()
        new.parent.mkdir()
        cv2.imwrite(str(new), scene(77))
        update_index(model, gallery)  # what build_index does: a new generation is committed
        committed = time.monotonic()
        while http.get("/api/v1/health").json()["generation"] == before["generation"]:
            assert time.monotonic() - committed < 2.0, "the new generation was not served in 2 s"
            time.sleep(0.05)
        answer = http.post("/api/v1/recognize", content=new.read_bytes()).json()
    assert answer["top_k"][0]["path"] == "place_09/view_0.jpg" and before["images"] == 2
