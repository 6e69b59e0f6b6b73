"""Uploaded images checked by their content, not their name, before anything decodes them fully.

An upload may be anything: random bytes, a truncated JPEG, a PNG that claims 60000 x 60000
pixels (a decompression bomb: a few kilobytes that decode to gigabytes). The pixel count is read
from the header first (PIL reads headers lazily), the bytes are decoded only when it is within
the limit, and every failure is an ``UploadError`` with the HTTP status that says why.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..core.images import decode_image, why_undecodable

UNSUPPORTED = 415
UNPROCESSABLE = 422
TOO_LARGE = 413
# How the accepted formats begin (JPEG, PNG, BMP, TIFF both byte orders, RIFF for WebP).
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")


class UploadError(ValueError):
    """An upload that is not an acceptable image; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def image_pixels(data: bytes) -> int:
    """Width x height from the image header, without decoding the pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadError(TOO_LARGE, f"image too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        if data.startswith(_MAGIC):  # an image file, cut or damaged before its size
            raise UploadError(UNPROCESSABLE, "damaged or truncated image header") from None
        raise UploadError(
            UNSUPPORTED, "not an image (send a JPEG, PNG, BMP, WebP or TIFF file)"
        ) from None
    return width * height


def decode_upload(data: bytes, max_pixels: int) -> np.ndarray:
    """The upload as a u8 BGR image; UploadError (415, 413 or 422) when it cannot be one."""
    if not data:
        raise UploadError(UNPROCESSABLE, "empty upload: send the image's bytes")
    pixels = image_pixels(data)
    if pixels > max_pixels:
        raise UploadError(
            TOO_LARGE, f"image has {pixels / 1e6:.1f} megapixels, more than {max_pixels / 1e6:g}"
        )
    image = decode_image(data)
    if image is None:
        raise UploadError(UNPROCESSABLE, f"cannot decode the image: {why_undecodable(data)}")
    return image
