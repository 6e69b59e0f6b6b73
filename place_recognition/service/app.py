"""The FastAPI application: the REST API, the live stream's WebSocket, the page and its docs.

Every error is ``{"error": "one line"}`` with its status; nothing answers with a traceback. The
API key, when set, is required on every ``/api`` route (header ``X-API-Key``); the page and the
API docs are public (the page asks for the key).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Query, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from .._version import __version__
from .answers import places_page, recognition_json
from .engine import Engine, QueueFull
from .limits import BodyLimit
from .settings import ServiceSettings
from .stream import serve_stream
from .thumbnails import Thumbnails
from .uploads import UploadError, decode_upload

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
API = "/api/v1"
RECOGNIZE_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
        "required": True,
    }
}


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(engine: Engine, settings: ServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await engine.start()
        yield
        await engine.stop()

    app = FastAPI(
        title="place_recognition",
        version=__version__,
        description="Which known place does this photo or camera frame show?",
        docs_url=None,  # served below with the vendored Swagger UI: no CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine, app.state.settings = engine, settings
    app.state.thumbnails = Thumbnails()
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    _add_error_handlers(app)
    _add_api(app, engine, settings)
    _add_pages(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "query")
        return error(422, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))

    @app.exception_handler(Exception)
    async def failed(_request: Request, exc: Exception):
        logger.exception("request failed")
        return error(500, f"internal error ({type(exc).__name__}); the server log has details")


def _require_key(request: Request) -> None:
    key = request.app.state.settings.api_key
    given = request.headers.get("x-api-key", "")
    if key and not hmac.compare_digest(given.encode(), key.encode()):
        raise HTTPException(401, "missing or wrong API key (send it in the X-API-Key header)")


def _add_api(app: FastAPI, engine: Engine, settings: ServiceSettings) -> None:
    guarded = [Depends(_require_key)]

    @app.get(f"{API}/health", dependencies=guarded)
    async def health() -> dict:
        """The model, its device and precision, the gallery's size and index generation."""
        gallery = engine.current
        model = gallery.recognizer.model
        return {
            "model": model.name,
            "device": model.device,
            "precision": model.precision,
            "images": len(gallery.recognizer.index),
            "generation": gallery.generation,
        }

    @app.post(f"{API}/recognize", dependencies=guarded, openapi_extra=RECOGNIZE_BODY)
    async def recognize(request: Request, k: int = Query(5, ge=1, le=100)):
        """The top-k places of an image (multipart field ``image``, or the raw body)."""
        started = time.perf_counter()
        data = await _upload_bytes(request)
        loop = asyncio.get_running_loop()
        try:
            image = await loop.run_in_executor(None, decode_upload, data, settings.max_pixels)
        except UploadError as exc:
            return error(exc.status, str(exc))
        decoded = time.perf_counter()
        try:
            embedding, gallery, timings = await engine.embed(image)
        except QueueFull:
            return error(
                503,
                "the server is busy: too many requests waiting, retry shortly",
                {"Retry-After": "1"},
            )
        searching = time.perf_counter()
        answer = recognition_json(gallery, embedding, k)
        answer["timings_ms"] = {
            "decode": round((decoded - started) * 1000.0, 3),
            **timings,
            "search": round((time.perf_counter() - searching) * 1000.0, 3),
            "total": round((time.perf_counter() - started) * 1000.0, 3),
        }
        return answer

    @app.get(f"{API}/places", dependencies=guarded)
    async def places(offset: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)):
        """The gallery's places (label, image count, coordinates, an image id), paged."""
        return places_page(engine.current, offset, limit)

    @app.get(f"{API}/images/{{record_id}}/thumbnail", dependencies=guarded)
    async def thumbnail(record_id: str):
        """A JPEG thumbnail of an indexed gallery image, by its id (only indexed images)."""
        record = engine.current.record(record_id)
        if record is None:
            return error(404, f"no indexed image with id {record_id[:80]}")
        data = await asyncio.get_running_loop().run_in_executor(
            None, app.state.thumbnails.jpeg, engine.gallery, record
        )
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.websocket(f"{API}/stream")
    async def stream(websocket: WebSocket):
        await serve_stream(websocket, engine, settings)


async def _upload_bytes(request: Request) -> bytes:
    """The image bytes of a request: the multipart field ``image``, else the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "the multipart form has no file field 'image'")
        return await upload.read()
    return await request.body()


def _add_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="place_recognition API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
