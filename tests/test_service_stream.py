"""The live stream's WebSocket: single-frame and sequence answers per frame, the key, resets."""

from __future__ import annotations

import json

import cv2
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from place_recognition.core.model import EmbeddingModel
from place_recognition.indexing.update import update_index
from place_recognition.scenes.street import route_walk_frames, write_route_gallery
from place_recognition.service.app import create_app
from place_recognition.service.engine import Engine
from place_recognition.service.settings import ServiceSettings

FRAMES = 20


@pytest.fixture(scope="module")
def route(tmp_path_factory, tiny_ir):
    gallery = tmp_path_factory.mktemp("stream") / "route"
    write_route_gallery(gallery, frames=FRAMES)
    model = EmbeddingModel(tiny_ir)
    update = update_index(model, gallery)
    walk = [cv2.imencode(".jpg", frame)[1].tobytes() for frame, _ in route_walk_frames(FRAMES)]
    return model, gallery, update, walk


def client_for(route, **settings) -> TestClient:
    _, gallery, update, _ = route
    config = ServiceSettings(**settings)
    return TestClient(create_app(Engine(update.model, gallery, update.directory, config), config))


def test_each_frame_gets_the_single_frame_and_the_sequence_answer(route):
    walk = route[3]
    with client_for(route) as client, client.websocket_connect("/api/v1/stream") as socket:
        replies = []
        for data in walk[:12]:
            socket.send_bytes(data)
            replies.append(json.loads(socket.receive_text()))
        socket.send_bytes(b"garbage")
        broken = json.loads(socket.receive_text())
        socket.send_text(json.dumps({"reset": True}))
        socket.send_bytes(walk[0])
        after_reset = json.loads(socket.receive_text())
    assert [reply["frame"] for reply in replies] == list(range(12))
    for reply in replies:
        assert {"label", "known", "threshold", "top_k", "sequence", "timings_ms"} <= set(reply)
        assert set(reply["sequence"]) == {"label", "known", "score", "confidence", "path", "length"}
    assert [reply["sequence"]["length"] for reply in replies[:3]] == [1, 2, 3]
    assert broken["frame"] == 12 and "not an image" in broken["error"]  # the stream goes on
    assert after_reset["sequence"]["length"] == 1


def test_the_stream_needs_the_key_in_the_query_or_the_first_message(route):
    walk = route[3]
    with client_for(route, api_key="k3y") as client:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/api/v1/stream") as socket,
        ):
            socket.send_text(json.dumps({"key": "wrong"}))
            socket.receive_text()
        assert refused.value.code == 1008
        with client.websocket_connect("/api/v1/stream?key=k3y") as socket:
            socket.send_bytes(walk[0])
            assert json.loads(socket.receive_text())["frame"] == 0
        with client.websocket_connect("/api/v1/stream") as socket:
            socket.send_text(json.dumps({"key": "k3y"}))
            socket.send_bytes(walk[1])
            assert json.loads(socket.receive_text())["top_k"]
