"""Reading a picture file a user gives (a screenshot to search, a face to enroll), safely.

A picture over :data:`MAX_PICTURE_PIXELS` is refused from its header, before any pixel is
decoded: a 1 MB PNG can claim 32000x32000 pixels and take 6 GB to decode.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np

from animevid.errors import AnimevidError

MAX_PICTURE_PIXELS = 64_000_000
"""Largest picture read (8K UHD is 33 megapixels); larger ones are refused from their header."""

MAX_PICTURE_BYTES = 256_000_000
"""Largest picture file read into memory (a 64-megapixel PNG without compression is 192 MB)."""

_PILLOW_UNLIMITED = threading.Lock()
"""Held while Pillow's global pixel limit is lifted to read a header (a server reads from many threads)."""


def read_picture(path: str | Path, error: type[AnimevidError], *, kinds: str, wanted: str) -> np.ndarray:
    """A picture file as (h, w, 3) uint8 RGB.

    Args:
        path: The file.
        error: The error to raise (the caller's: a search or a character error).
        kinds: What an unreadable file's message asks for instead ("a PNG, JPEG, WebP or BMP file").
        wanted: What a missing file's message asks for ("a PNG, JPEG, WebP or BMP screenshot").

    Raises:
        error: The file is missing, not a picture, or larger than :data:`MAX_PICTURE_PIXELS`
            (checked from its header, before decoding).
    """
    file = Path(path)
    if not file.is_file():
        raise error(f"{path}: no such file; pass {wanted}")
    try:
        if file.stat().st_size > MAX_PICTURE_BYTES:
            raise error(f"{path}: {file.stat().st_size / 1e6:.0f} MB is too large for a picture; pass a screenshot")
        data = file.read_bytes()
    except OSError as exc:
        raise error(f"{path}: the picture cannot be read ({exc.strerror}); check its permissions") from None
    return decode_picture(data, str(path), error, kinds=kinds)


def decode_picture(data: bytes, label: str, error: type[AnimevidError], *, kinds: str) -> np.ndarray:
    """Picture bytes (an upload, a file's content) as (h, w, 3) uint8 RGB, refused from the header when too large.

    Args:
        data: The encoded picture.
        label: What the message calls it (a file name, "the upload").
        error: The error to raise.
        kinds: What an unreadable picture's message asks for instead.

    Raises:
        error: Not a picture, or larger than :data:`MAX_PICTURE_PIXELS` (checked before decoding).
    """
    pixels, size, _ = _picture_size(data, label, error, kinds)
    if pixels > MAX_PICTURE_PIXELS:
        raise error(
            f"{label}: the picture is {size} ({pixels / 1e6:.0f} megapixels); at most "
            f"{MAX_PICTURE_PIXELS / 1e6:.0f} are read; scale it down (a screenshot needs no more than 1920x1080)"
        )
    try:
        buffer = np.frombuffer(data, np.uint8)
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    except (cv2.error, MemoryError) as exc:
        raise error(f"{label}: the picture cannot be decoded ({type(exc).__name__}); pass another file") from None
    if image is None:
        raise error(f"{label}: not a readable picture; pass {kinds}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _picture_size(data: bytes, label: str, error: type[AnimevidError], kinds: str) -> tuple[int, str, str]:
    """Pixels, the size in words and the format, from the header alone (Pillow reads no pixel until asked)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _PILLOW_UNLIMITED, warnings.catch_warnings():
            # Pillow's own bomb check would refuse far-too-large pictures without saying their size
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(io.BytesIO(data)) as picture:
                    width, height = picture.size
                    kind = str(picture.format)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise error(f"{label}: not a readable picture; pass {kinds}") from None
    return width * height, f"{width}x{height} pixels", kind


def picture_format(data: bytes) -> str | None:
    """The picture format named by the bytes' header (PNG, JPEG, GIF...), None when they are no picture Pillow knows."""

    class _NotPicture(AnimevidError):
        pass

    try:
        return _picture_size(data, "", _NotPicture, "")[2]
    except _NotPicture:
        return None
