"""Reading a picture file a user gives (a screenshot to search, a face to enroll), safely.

A picture over :data:`MAX_PICTURE_PIXELS` is refused from its header, before any pixel is
decoded: a 1 MB PNG can claim 32000x32000 pixels and take 6 GB to decode.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import cv2
import numpy as np

from animevid.errors import AnimevidError

MAX_PICTURE_PIXELS = 64_000_000
"""Largest picture read (8K UHD is 33 megapixels); larger ones are refused from their header."""

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
    pixels, size = _picture_size(file, error, kinds)
    if pixels > MAX_PICTURE_PIXELS:
        raise error(
            f"{path}: the picture is {size} ({pixels / 1e6:.0f} megapixels); at most "
            f"{MAX_PICTURE_PIXELS / 1e6:.0f} are read; scale it down (a screenshot needs no more than 1920x1080)"
        )
    try:
        data = np.fromfile(str(file), np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except (OSError, cv2.error, MemoryError) as exc:
        raise error(f"{path}: the picture cannot be decoded ({type(exc).__name__}); pass another file") from None
    if image is None:
        raise error(f"{path}: not a readable picture; pass {kinds}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _picture_size(file: Path, error: type[AnimevidError], kinds: str) -> tuple[int, str]:
    """Pixels, and the size in words, from the file's header alone (Pillow reads no pixel until asked)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with _PILLOW_UNLIMITED, warnings.catch_warnings():
            # Pillow's own bomb check would refuse far-too-large pictures without saying their size
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(file) as picture:
                    width, height = picture.size
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise error(f"{file}: not a readable picture; pass {kinds}") from None
    return width * height, f"{width}x{height} pixels"
