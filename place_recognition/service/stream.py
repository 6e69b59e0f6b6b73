"""The live stream: a WebSocket client sends a camera's JPEG frames; each gets the single-frame
answer and the sequence answer from the connection's own sequence matcher.

Protocol (``/api/v1/stream``): the API key, when the server has one, comes as the ``key`` query
parameter or as the first message, a text ``{"key": "..."}``. Then every binary message is one
frame; the reply is a text JSON object with the recognize endpoint's fields, ``"frame"`` (its
number on this connection) and ``"sequence"`` (as in the demo's JSON lines; null when the
gallery has no route). A text ``{"reset": true}`` forgets the frames so far. A frame that is not
an image gets ``{"error": ...}`` and the stream goes on. The matcher starts afresh when the
server loads a new index generation.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time

from fastapi import WebSocket, WebSocketDisconnect

from ..sequence.decision import decide_sequence
from ..sequence.stream import RouteStream
from .answers import recognition_json
from .engine import Engine, Gallery, QueueFull
from .settings import ServiceSettings
from .uploads import UploadError, decode_upload

POLICY_VIOLATION = 1008


class _Follower:
    """The connection's route stream, renewed when the gallery generation changes."""

    def __init__(self) -> None:
        self.stream: RouteStream | None = None
        self.generation: int | None = None

    def answer(self, gallery: Gallery, embedding) -> dict | None:
        if self.generation != gallery.generation:
            recognizer = gallery.recognizer
            self.stream = RouteStream.of(recognizer)
            self.generation = gallery.generation
        if not self.stream.active:
            return None
        result = self.stream.push_embedding(embedding, k=1)
        settings = self.stream.settings
        return decide_sequence(result.sequence, result.record, settings.min_confidence).to_json()

    def reset(self) -> None:
        if self.stream is not None:
            self.stream.reset()


async def serve_stream(websocket: WebSocket, engine: Engine, settings: ServiceSettings) -> None:
    await websocket.accept()
    try:
        if not await _authorised(websocket, settings):
            await websocket.close(POLICY_VIOLATION, "missing or wrong API key")
            return
        follower, frame = _Follower(), 0
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                if _is_reset(message["text"]):
                    follower.reset()
                continue
            reply = await _answer_frame(
                message.get("bytes") or b"", frame, engine, settings, follower
            )
            await websocket.send_text(json.dumps(reply))
            frame += 1
    except WebSocketDisconnect:
        return


async def _authorised(websocket: WebSocket, settings: ServiceSettings) -> bool:
    if not settings.api_key:
        return True
    given = websocket.query_params.get("key")
    if given is None:
        try:
            first = json.loads(await asyncio.wait_for(websocket.receive_text(), 10.0))
            given = first.get("key") if isinstance(first, dict) else None
        except (TimeoutError, ValueError, KeyError):
            return False
    return isinstance(given, str) and hmac.compare_digest(given.encode(), settings.api_key.encode())


def _is_reset(text: str) -> bool:
    try:
        return bool(json.loads(text).get("reset"))
    except (ValueError, AttributeError):
        return False


async def _answer_frame(
    data: bytes, frame: int, engine: Engine, settings: ServiceSettings, follower: _Follower
) -> dict:
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        image = await loop.run_in_executor(None, decode_upload, data, settings.max_pixels)
        embedding, gallery, timings = await engine.embed(image)
    except UploadError as exc:
        return {"frame": frame, "error": str(exc)}
    except QueueFull:
        return {"frame": frame, "error": "the server is busy: frame skipped"}
    answer = {"frame": frame, **recognition_json(gallery, embedding, 5)}
    answer["sequence"] = follower.answer(gallery, embedding)
    answer["timings_ms"] = {**timings, "total": round((time.perf_counter() - started) * 1000, 3)}
    return answer
