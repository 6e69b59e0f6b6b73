"""How the service runs, and the check that keeps it private unless a key protects it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..errors import PlaceRecognitionError, Remedy

MEGABYTE = 1024 * 1024


class ServiceConfigError(PlaceRecognitionError):
    """The service would start in a way that is unsafe or cannot work."""


@dataclass(frozen=True)
class ServiceSettings:
    """Attributes:
    host, port: where to listen. api_key: required from every API client when set (header
    ``X-API-Key``; WebSocket: ``key`` query parameter or first message). max_queue: requests
    waiting for the model at most; more are answered 503 with Retry-After. max_upload_mb:
    bigger bodies are answered 413. max_pixels: images with more pixels (read from the header,
    before decoding) are answered 413. cors_origins: origins allowed to call the API from a
    browser (none: CORS off). insecure: allow a non-loopback bind without a key. batch_window_ms
    / max_batch: requests arriving within the window are embedded in one batch. reload_seconds:
    how often the index folder is checked for a new generation.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_queue: int = 64
    max_upload_mb: float = 20.0
    max_pixels: int = 50_000_000
    cors_origins: tuple[str, ...] = ()
    insecure: bool = False
    batch_window_ms: float = 5.0
    max_batch: int = 8
    reload_seconds: float = 0.5

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MEGABYTE)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (a bind only this machine can reach)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(settings: ServiceSettings) -> None:
    """Refuse to serve on a reachable address without an API key (unless told it is fine)."""
    if is_loopback(settings.host) or settings.api_key or settings.insecure:
        return
    raise ServiceConfigError(
        f"listening on {settings.host} lets other machines in: give an API key (or explicitly "
        "allow it without one); not started",
        remedy=Remedy.API_KEY,
    )
